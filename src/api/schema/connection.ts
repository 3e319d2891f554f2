import { publicSettingsOf, type ODataSettings, type RfcSettings } from '../../catalog/connection-config.js'
import type { ConnectionTestResult } from '../../catalog/connections.js'
import { builder } from '../builder.js'
import { NUMBER_DESCRIPTION } from './scalars.js'
import { ProtocolEnum } from './enums.js'

type ODataView = ODataSettings & { hasPassword: boolean }
type RfcView = RfcSettings & { hasPassword: boolean }

const ODataConfig = builder.objectRef<ODataView>('ODataConfig').implement({
  description: 'Settings of an ODATA connection. The password is write-only: only hasPassword is shown',
  fields: (t) => ({
    serviceUrl: t.exposeString('serviceUrl'),
    sapClient: t.exposeString('sapClient', { nullable: true }),
    user: t.exposeString('user', { nullable: true }),
    language: t.exposeString('language', { nullable: true }),
    hasPassword: t.exposeBoolean('hasPassword'),
  }),
})

const RfcConfig = builder.objectRef<RfcView>('RfcConfig').implement({
  description: 'Settings of an RFC connection. The password is write-only: only hasPassword is shown',
  fields: (t) => ({
    ashost: t.exposeString('ashost', { nullable: true }),
    sysnr: t.exposeString('sysnr', { nullable: true }),
    client: t.exposeString('client'),
    user: t.exposeString('user', { nullable: true }),
    lang: t.exposeString('lang', { nullable: true }),
    mshost: t.exposeString('mshost', { nullable: true }),
    msserv: t.exposeString('msserv', { nullable: true }),
    group: t.exposeString('group', { nullable: true }),
    sysid: t.exposeString('sysid', { nullable: true }),
    saprouter: t.exposeString('saprouter', { nullable: true }),
    hasPassword: t.exposeBoolean('hasPassword'),
  }),
})

const MAX_CONCURRENT_RUNS =
  "Runs of this connection's pipelines extracting at once, across all workers (1 to 64; null = no limit). Further runs stay QUEUED and start in queue order as runs end; a change applies to runs not yet started"

/** The columns the settings are read from (id and name: a row that does not parse is named in the error). */
const SETTINGS_COLUMNS = { id: true, name: true, protocol: true, config: true, secret: true } as const

builder.prismaObject('Connection', {
  // Only the columns the query's fields need are read (architecture.md#graphql, select mode).
  select: { id: true },
  description: 'An SAP system reached over OData or RFC',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    number: t.exposeInt('number', { description: NUMBER_DESCRIPTION }),
    protocol: t.expose('protocol', { type: ProtocolEnum }),
    maxConcurrentRuns: t.exposeInt('maxConcurrentRuns', { nullable: true, description: MAX_CONCURRENT_RUNS }),
    odataConfig: t.field({ type: ODataConfig, nullable: true, select: SETTINGS_COLUMNS, resolve: (c) => publicSettingsOf(c).odata }),
    rfcConfig: t.field({ type: RfcConfig, nullable: true, select: SETTINGS_COLUMNS, resolve: (c) => publicSettingsOf(c).rfc }),
    pipelines: t.relation('pipelines', { query: { orderBy: { name: 'asc' } } }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
})

const ODataConfigInput = builder.inputType('ODataConfigInput', {
  fields: (t) => ({
    serviceUrl: t.string({ required: true, description: 'e.g. https://sap.example.com:44300/sap/opu/odata/sap/ZMY_ODP_SRV' }),
    sapClient: t.string({ description: 'SAP client (sap-client), three digits' }),
    user: t.string(),
    password: t.string({ description: 'Write-only. Omit to keep the stored password; empty string to remove it' }),
    language: t.string({ description: 'sap-language, e.g. EN' }),
  }),
})

const RfcConfigInput = builder.inputType('RfcConfigInput', {
  fields: (t) => ({
    ashost: t.string(),
    sysnr: t.string(),
    client: t.string({ required: true }),
    user: t.string(),
    passwd: t.string({ description: 'Write-only. Omit to keep the stored password; empty string to remove it' }),
    lang: t.string(),
    mshost: t.string(),
    msserv: t.string(),
    group: t.string(),
    sysid: t.string(),
    saprouter: t.string(),
  }),
})

const CreateConnectionInput = builder.inputType('CreateConnectionInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    protocol: t.field({ type: ProtocolEnum, required: true }),
    maxConcurrentRuns: t.int({ description: MAX_CONCURRENT_RUNS }),
    odataConfig: t.field({ type: ODataConfigInput, description: 'Exactly the one matching protocol' }),
    rfcConfig: t.field({ type: RfcConfigInput }),
  }),
})

const UpdateConnectionInput = builder.inputType('UpdateConnectionInput', {
  description: 'Fields left out keep their value; a config given replaces the stored one (password kept when omitted)',
  fields: (t) => ({
    name: t.string(),
    maxConcurrentRuns: t.int({ description: 'Omit to keep; null removes the limit' }),
    odataConfig: t.field({ type: ODataConfigInput }),
    rfcConfig: t.field({ type: RfcConfigInput }),
  }),
})

const ConnectionTest = builder.objectRef<ConnectionTestResult>('ConnectionTest').implement({
  description: 'Result of testConnection: reachability and logon, measured',
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    message: t.exposeString('message', { nullable: true }),
    code: t.exposeString('code', { nullable: true, description: 'Error class when not ok, e.g. SOURCE_AUTH' }),
    latencyMs: t.exposeInt('latencyMs', { nullable: true }),
  }),
})

builder.queryFields((t) => ({
  connections: t.prismaField({
    type: ['Connection'],
    resolve: (query, _, __, { app }) => app.db.connection.findMany({ ...query, orderBy: { name: 'asc' } }),
  }),
  connection: t.prismaField({
    type: 'Connection',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _, { id }, { app }) => app.db.connection.findUnique({ ...query, where: { id: String(id) } }),
  }),
}))

builder.mutationFields((t) => ({
  createConnection: t.prismaField({
    type: 'Connection',
    args: { input: t.arg({ type: CreateConnectionInput, required: true }) },
    resolve: async (query, _, { input }, { app }) =>
      app.db.connection.findUniqueOrThrow({ ...query, where: { id: (await app.connections.create(input)).id } }),
  }),
  updateConnection: t.prismaField({
    type: 'Connection',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateConnectionInput, required: true }) },
    resolve: async (query, _, { id, input }, { app }) =>
      app.db.connection.findUniqueOrThrow({ ...query, where: { id: (await app.connections.update(String(id), input)).id } }),
  }),
  deleteConnection: t.id({
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, { id }, { app }) => app.connections.delete(String(id)),
  }),
  testConnection: t.field({
    type: ConnectionTest,
    description:
      'Logs on to SAP (fetches the service metadata) and measures the round trip. Never throws for SAP-side problems: ok is false and code/message say why',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, { id }, { app }) => app.connections.test(String(id)),
  }),
}))
