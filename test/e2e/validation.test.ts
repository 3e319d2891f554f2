import type { TypedDocumentNode } from '@graphql-typed-document-node/core'
import { parse } from 'graphql'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import { graphql } from '../gql/index.js'
import { Harness, SAP_PASSWORD, SAP_USER } from '../helpers/harness.js'

const CreateConnection = graphql(`mutation VaCreateConnection($input: CreateConnectionInput!) { createConnection(input: $input) { id } }`)
const CreateDestination = graphql(
  `mutation VaCreateDestination($input: CreateDestinationInput!) { createDestination(input: $input) { id } }`,
)
const CreatePipeline = graphql(`
  mutation VaCreatePipeline($input: CreatePipelineInput!) { createPipeline(input: $input) { id source { filter } sourceCheck { status message checkedAt } } }
`)
const UpdatePipeline = graphql(`
  mutation VaUpdatePipeline($id: ID!, $input: UpdatePipelineInput!) { updatePipeline(id: $id, input: $input) { id sourceCheck { status message checkedAt } } }
`)
const ConnectionById = graphql(`query VaConnection($id: ID!) { connection(id: $id) { id } }`)
const Counts = graphql(`query VaCounts { connections { id } destinations { id } pipelines { id } }`)
const Progress = graphql(`subscription VaProgress($runId: ID!) { runProgress(runId: $runId) { status } }`)

let h: Harness
let connectionId: string
let destinationId: string
beforeAll(async () => {
  h = await Harness.start()
  connectionId = (
    await h.gql(CreateConnection, {
      input: {
        name: 'sim',
        protocol: 'ODATA',
        odataConfig: { serviceUrl: h.sim.serviceUrl, sapClient: '100', user: SAP_USER, password: SAP_PASSWORD },
      },
    })
  ).createConnection.id
  destinationId = (await h.gql(CreateDestination, { input: { name: 'lake', kind: 'LOCAL', local: { path: h.lakeDir } } })).createDestination
    .id
})
afterAll(() => h?.stop())

type Via = 'http' | 'ws'
const send = <R, V>(via: Via, doc: TypedDocumentNode<R, V>, v: V) => (via === 'http' ? h.request(doc, v) : h.requestWs(doc, v))
const counts = async () => JSON.stringify(await h.gql(Counts))

let n = 0
describe.each(['http', 'ws'] as const)('control characters over %s', (via) => {
  it.each([
    [
      'NUL in a connection name',
      CreateConnection,
      () => ({ input: { name: 'sap\u0000prod', protocol: 'ODATA', odataConfig: { serviceUrl: 'https://sap.example/x' } } }),
      'input.name',
      'U+0000',
    ],
    [
      'a tab in a destination name',
      CreateDestination,
      () => ({ input: { name: 'lake\tx', kind: 'LOCAL', local: { path: h.lakeDir } } }),
      'input.name',
      'U+0009',
    ],
    [
      'ESC in a password',
      CreateConnection,
      () => ({
        input: { name: `c${n++}`, protocol: 'ODATA', odataConfig: { serviceUrl: 'https://sap.example/x', password: 'pw\u001b[31m' } },
      }),
      'input.odataConfig.password',
      'U+001B',
    ],
    [
      'DEL in an S3 key',
      CreateDestination,
      () => ({ input: { name: `d${n++}`, kind: 'S3', s3: { bucket: 'lake', accessKeyId: 'AKIA\u007f', secretAccessKey: 'x' } } }),
      'input.s3.accessKeyId',
      'U+007F',
    ],
    [
      'a C1 control in a local path',
      CreateDestination,
      () => ({ input: { name: `d${n++}`, kind: 'LOCAL', local: { path: `${h.lakeDir}/\u0085` } } }),
      'input.local.path',
      'U+0085',
    ],
    [
      'a newline in a field list',
      CreatePipeline,
      () => ({
        input: {
          name: `p${n++}`,
          connectionId,
          destinationId,
          mode: 'FULL',
          source: { kind: 'ODP_ODATA', entitySet: SALES_ITEMS, fields: ['VBELN\n'] },
        },
      }),
      'input.source.fields.0',
      'U+000A',
    ],
    [
      'NUL in a filter',
      CreatePipeline,
      () => ({
        input: {
          name: `p${n++}`,
          connectionId,
          destinationId,
          mode: 'FULL',
          source: { kind: 'ODP_ODATA', entitySet: SALES_ITEMS, filter: "VBELN eq '1'\u0000" },
        },
      }),
      'input.source.filter',
      'U+0000',
    ],
    ['NUL in an id', ConnectionById, () => ({ id: 'abc\u0000' }), 'id', 'U+0000'],
  ] as const)('refuses %s with BAD_USER_INPUT naming the field; nothing is saved', async (_, doc, vars, field, code) => {
    const before = await counts()
    const r = await send(via, doc as TypedDocumentNode<unknown, unknown>, vars())
    expect(r.errors?.[0]).toMatchObject({
      message: expect.stringContaining(`(found ${code})`),
      extensions: { code: 'BAD_USER_INPUT', field },
    })
    expect(r.data ?? null).toBeNull()
    expect(await counts()).toBe(before)
  })

  it('refuses them in a subscription’s arguments too', async () => {
    const r = await h.requestWs(Progress, { runId: 'run\u0000' })
    expect(r.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'runId' } })
  })

  it('refuses control characters written into the query itself (escaped string literals)', async () => {
    const doc = parse(
      `mutation { createConnection(input: { name: "sap\\u0000prod", protocol: ODATA, odataConfig: { serviceUrl: "https://sap.example/x" } }) { id } }`,
    ) as TypedDocumentNode<unknown, unknown>
    const r = await send(via, doc, undefined)
    expect(r.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'createConnection.input.name' } })
  })

  it('allows line breaks and tabs in a filter, the one multi-line input', async () => {
    const filter = "VBELN ge '0000000001'\n\tand POSNR eq '000010'\r\n"
    const r = await send(via, CreatePipeline, {
      input: {
        name: `multi-${via}`,
        connectionId,
        destinationId,
        mode: 'FULL',
        source: { kind: 'ODP_ODATA', entitySet: SALES_ITEMS, filter },
      },
    })
    expect(r.errors).toBeUndefined()
    expect(r.data?.createPipeline.sourceCheck).toMatchObject({ status: 'CHECKED', message: null })
  })
})

describe.each(['http', 'ws'] as const)("an ODP_ODATA source checked against SAP's metadata over %s", (via) => {
  const source = (s: Record<string, unknown>) => ({ kind: 'ODP_ODATA' as const, entitySet: SALES_ITEMS, ...s })
  const create = (name: string, s: Record<string, unknown>, mode: 'FULL' | 'DELTA' = 'FULL', conn = connectionId) =>
    send(via, CreatePipeline, { input: { name, connectionId: conn, destinationId, mode, source: source(s) } })

  it.each([
    [
      'an entity set SAP does not have',
      { entitySet: 'EntityOfZSALES_ITEMZ' },
      'source.entitySet',
      'entity set EntityOfZSALES_ITEMZ is not in',
    ],
    ['a field the entity set does not have', { fields: ['VBELN', 'NETWRX'] }, 'source.fields', 'unknown field NETWRX'],
    ['a filter on a field the entity set does not have', { filter: 'NETWRX gt 100' }, 'source.filter', 'NETWRX'],
    ['a filter on a measure SAP marks not filterable', { filter: 'NETWR gt 10' }, 'source.filter', 'field NETWR cannot be filtered'],
    ['a filter that is not an OData expression', { filter: "VBELN = '1'" }, 'source.filter', "use 'eq' instead of '='"],
    ['a filter comparing a field with a literal of the wrong kind', { filter: "ERDAT eq 'yesterday'" }, 'source.filter', 'ERDAT'],
  ])('refuses %s with BAD_USER_INPUT naming the field, and saves nothing', async (_, s, field, says) => {
    const before = await counts()
    const r = await create(`bad-${n++}`, s)
    expect(r.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field }, message: expect.stringContaining(says) })
    expect(await counts()).toBe(before)
  })

  it('saves the pipeline when SAP cannot be asked, and says so', async () => {
    const down = await h.gql(CreateConnection, {
      input: {
        name: `down-${via}`,
        protocol: 'ODATA',
        odataConfig: { serviceUrl: 'http://127.0.0.1:1/sap/opu/odata/sap/ZDELTA_DEMO_SRV', user: SAP_USER, password: SAP_PASSWORD },
      },
    })
    const r = await create(`unchecked-${via}`, { fields: ['VBELN'] }, 'FULL', down.createConnection.id)
    expect(r.errors).toBeUndefined()
    expect(r.data?.createPipeline.sourceCheck).toEqual({
      status: 'UNCHECKED',
      message: expect.stringContaining("not checked against SAP's metadata: SOURCE_UNAVAILABLE"),
      checkedAt: expect.any(String),
    })
  })

  it('checks again when an update changes the source, not when it changes the schedule', async () => {
    const created = await create(`upd-${via}`, { fields: ['VBELN', 'NETWR'] })
    expect(created.data?.createPipeline.sourceCheck?.status).toBe('CHECKED')
    const id = created.data!.createPipeline.id
    const asked = h.sim.admin.stats().requests
    const scheduled = await send(via, UpdatePipeline, { id, input: { schedule: '0 3 * * *' } })
    expect(scheduled.data?.updatePipeline.sourceCheck).toEqual(created.data?.createPipeline.sourceCheck)
    expect(h.sim.admin.stats().requests).toBe(asked)

    const wrong = await send(via, UpdatePipeline, { id, input: { source: source({ fields: ['VBELN', 'NOPE'] }) } })
    expect(wrong.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'source.fields' } })
    const right = await send(via, UpdatePipeline, { id, input: { source: source({ fields: ['VBELN'], filter: "MATNR ne 'M-1'" }) } })
    expect(right.data?.updatePipeline.sourceCheck).toMatchObject({ status: 'CHECKED' })
    expect(Date.parse(right.data!.updatePipeline.sourceCheck!.checkedAt)).toBeGreaterThanOrEqual(
      Date.parse(created.data!.createPipeline.sourceCheck!.checkedAt),
    )
    expect(h.sim.admin.stats().requests).toBeGreaterThan(asked)
  })
})
