import { publicSettingsOf } from '../../catalog/destination-config.js'
import type { DestinationTestResult } from '../../catalog/destinations.js'
import type { AzureBlobSettings } from '../../storage/azure-auth.js'
import { AZURE_DEFAULTS } from '../../storage/azure-settings.js'
import { S3_DEFAULTS, type S3Settings } from '../../storage/s3-settings.js'
import { builder } from '../builder.js'
import { NUMBER_DESCRIPTION } from './scalars.js'
import { DestinationKindEnum } from './enums.js'

const AzureBlobAuthEnum = builder.enumType('AzureBlobAuth', {
  description: 'How an AZURE_BLOB destination signs in',
  values: {
    CONNECTION_STRING: { description: 'A storage connection string (AccountKey or SharedAccessSignature inside)' },
    SAS: { description: 'accountUrl + a SAS token' },
    ACCOUNT_KEY: { description: 'accountName + its shared key' },
  } as const,
})

const LocalDestinationConfig = builder.objectRef<{ path: string }>('LocalDestinationConfig').implement({
  fields: (t) => ({ path: t.exposeString('path', { description: 'Absolute folder on the service machine' }) }),
})

const AzureBlobDestinationConfig = builder.objectRef<AzureBlobSettings>('AzureBlobDestinationConfig').implement({
  description: 'Public settings of an AZURE_BLOB destination. Connection strings, SAS tokens and account keys are write-only',
  fields: (t) => ({
    container: t.exposeString('container'),
    prefix: t.exposeString('prefix', { description: "Folder inside the container ('' = its root)" }),
    accountUrl: t.exposeString('accountUrl'),
    accountName: t.exposeString('accountName', { nullable: true }),
    auth: t.expose('auth', { type: AzureBlobAuthEnum }),
    blockSizeMb: t.int({ resolve: (s) => s.blockSizeMb ?? AZURE_DEFAULTS.blockSizeMb }),
    uploadConcurrency: t.int({
      description: 'Blocks of one file in flight at once',
      resolve: (s) => s.uploadConcurrency ?? AZURE_DEFAULTS.uploadConcurrency,
    }),
  }),
})

const S3DestinationConfig = builder.objectRef<S3Settings>('S3DestinationConfig').implement({
  description: 'Public settings of an S3 destination. The secret access key is write-only',
  fields: (t) => ({
    bucket: t.exposeString('bucket'),
    prefix: t.exposeString('prefix', { description: "Folder inside the bucket ('' = its root)" }),
    region: t.string({ resolve: (s) => s.region ?? S3_DEFAULTS.region }),
    endpoint: t.exposeString('endpoint', { nullable: true, description: 'S3-compatible endpoint; null = AWS' }),
    forcePathStyle: t.boolean({ resolve: (s) => s.forcePathStyle ?? false }),
    accessKeyId: t.exposeString('accessKeyId', { nullable: true }),
    usesDefaultCredentials: t.boolean({
      description: 'No static keys: the AWS default credential chain of the service (env, profile, IAM role) signs',
      resolve: (s) => !s.accessKeyId,
    }),
    partSizeMb: t.int({ resolve: (s) => s.partSizeMb ?? S3_DEFAULTS.partSizeMb }),
    uploadConcurrency: t.int({
      description: 'Parts of one file in flight at once',
      resolve: (s) => s.uploadConcurrency ?? S3_DEFAULTS.uploadConcurrency,
    }),
  }),
})

/** The columns the settings are read from (id and name: a row that does not parse is named in the error). */
const SETTINGS_COLUMNS = { id: true, name: true, kind: true, config: true } as const

builder.prismaObject('Destination', {
  description: 'Where a pipeline writes its Parquet files',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    number: t.exposeInt('number', { description: NUMBER_DESCRIPTION }),
    kind: t.expose('kind', { type: DestinationKindEnum }),
    uri: t.string({
      description: 'The root as a URI: file:///…, s3://bucket/prefix, https://account.blob.core.windows.net/container/prefix',
      select: SETTINGS_COLUMNS,
      resolve: (d, _, { app }) => app.destinations.uriOf(d),
    }),
    hasCredentials: t.boolean({
      description: 'A secret (key, SAS token, connection string) is stored',
      select: { secret: true },
      resolve: (d) => d.secret != null,
    }),
    local: t.field({ type: LocalDestinationConfig, nullable: true, select: SETTINGS_COLUMNS, resolve: (d) => publicSettingsOf(d).local }),
    azureBlob: t.field({
      type: AzureBlobDestinationConfig,
      nullable: true,
      select: SETTINGS_COLUMNS,
      resolve: (d) => publicSettingsOf(d).azureBlob,
    }),
    s3: t.field({ type: S3DestinationConfig, nullable: true, select: SETTINGS_COLUMNS, resolve: (d) => publicSettingsOf(d).s3 }),
    pipelines: t.relation('pipelines', { query: { orderBy: { name: 'asc' } } }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
})

const LocalDestinationInput = builder.inputType('LocalDestinationInput', {
  fields: (t) => ({ path: t.string({ required: true, description: 'Folder on the service machine; created when missing' }) }),
})

const WRITE_ONLY = 'Write-only. Omit to keep the stored value'
const AzureBlobDestinationInput = builder.inputType('AzureBlobDestinationInput', {
  description:
    'Exactly one sign-in form: connectionString; accountUrl + sasToken; or accountName + accountKey (accountUrl optional, default https://<accountName>.blob.core.windows.net)',
  fields: (t) => ({
    container: t.string({ required: true, description: '3-63 lowercase letters, digits and hyphens; must exist' }),
    prefix: t.string({ description: 'Folder inside the container, no leading slash' }),
    connectionString: t.string({ description: WRITE_ONLY }),
    accountUrl: t.string({ description: 'Blob endpoint, e.g. https://acct.blob.core.windows.net (no query: the SAS goes into sasToken)' }),
    sasToken: t.string({ description: `${WRITE_ONLY}. Needs read, write, delete and list permission on the container` }),
    accountName: t.string(),
    accountKey: t.string({ description: WRITE_ONLY }),
    blockSizeMb: t.int({ description: `Staged block size; default ${AZURE_DEFAULTS.blockSizeMb}` }),
    uploadConcurrency: t.int({ description: `Blocks of one file in flight at once; default ${AZURE_DEFAULTS.uploadConcurrency}` }),
  }),
})

const S3DestinationInput = builder.inputType('S3DestinationInput', {
  description: 'accessKeyId + secretAccessKey, or neither for the AWS default credential chain',
  fields: (t) => ({
    bucket: t.string({ required: true, description: 'Must exist' }),
    prefix: t.string({ description: 'Folder inside the bucket, no leading slash' }),
    region: t.string({ description: `Default ${S3_DEFAULTS.region}` }),
    endpoint: t.string({ description: 'http(s) URL of an S3-compatible service; omit for AWS' }),
    forcePathStyle: t.boolean({ description: 'Bucket in the path rather than the host name (most S3-compatibles)' }),
    accessKeyId: t.string(),
    secretAccessKey: t.string({ description: `${WRITE_ONLY} while accessKeyId stays the same` }),
    partSizeMb: t.int({ description: `Multipart part size (min 5); default ${S3_DEFAULTS.partSizeMb}` }),
    uploadConcurrency: t.int({ description: `Parts of one file in flight at once; default ${S3_DEFAULTS.uploadConcurrency}` }),
  }),
})

const CreateDestinationInput = builder.inputType('CreateDestinationInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    kind: t.field({ type: DestinationKindEnum, required: true }),
    local: t.field({ type: LocalDestinationInput, description: 'Exactly the one matching kind' }),
    azureBlob: t.field({ type: AzureBlobDestinationInput }),
    s3: t.field({ type: S3DestinationInput }),
  }),
})

const UpdateDestinationInput = builder.inputType('UpdateDestinationInput', {
  description: 'Fields left out keep their value; settings given replace the stored ones (secrets left out are kept)',
  fields: (t) => ({
    name: t.string(),
    local: t.field({ type: LocalDestinationInput }),
    azureBlob: t.field({ type: AzureBlobDestinationInput }),
    s3: t.field({ type: S3DestinationInput }),
  }),
})

const DestinationTest = builder.objectRef<DestinationTestResult>('DestinationTest').implement({
  description: 'Result of testDestination: credentials and write permission, proven with a probe object',
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    message: t.exposeString('message'),
    code: t.exposeString('code', {
      nullable: true,
      description: 'Error class when not ok: DESTINATION_AUTH, DESTINATION_NOT_FOUND, DESTINATION_UNAVAILABLE…',
    }),
    latencyMs: t.exposeInt('latencyMs', { description: 'Time for the write, read-back and delete' }),
  }),
})

builder.queryFields((t) => ({
  destinations: t.prismaField({
    type: ['Destination'],
    resolve: (query, _, __, { app }) => app.db.destination.findMany({ ...query, orderBy: { name: 'asc' } }),
  }),
  destination: t.prismaField({
    type: 'Destination',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _, { id }, { app }) => app.db.destination.findUnique({ ...query, where: { id: String(id) } }),
  }),
}))

builder.mutationFields((t) => ({
  createDestination: t.prismaField({
    type: 'Destination',
    args: { input: t.arg({ type: CreateDestinationInput, required: true }) },
    resolve: async (query, _, { input }, { app }) =>
      app.db.destination.findUniqueOrThrow({ ...query, where: { id: (await app.destinations.create(input)).id } }),
  }),
  updateDestination: t.prismaField({
    type: 'Destination',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateDestinationInput, required: true }) },
    resolve: async (query, _, { id, input }, { app }) =>
      app.db.destination.findUniqueOrThrow({ ...query, where: { id: (await app.destinations.update(String(id), input)).id } }),
  }),
  deleteDestination: t.id({
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, { id }, { app }) => app.destinations.delete(String(id)),
  }),
  testDestination: t.field({
    type: DestinationTest,
    description:
      'Writes, reads back and deletes a probe object with the stored credentials. Never throws for storage problems: ok is false and code/message say why',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, { id }, { app }) => app.destinations.test(String(id)),
  }),
}))
