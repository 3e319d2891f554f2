import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import { graphql } from '../gql/index.js'
import { Harness, SAP_PASSWORD } from '../helpers/harness.js'

const Everything = graphql(`
  query CatalogEverything {
    connections { id name protocol odataConfig { serviceUrl sapClient user language hasPassword } rfcConfig { client hasPassword } pipelines { id } }
    destinations { id name kind uri hasCredentials }
    pipelines { id name mode schedule timezone nextRunAt enabled source { kind entitySet fields filter pageSize } output { pathTemplate compression rowGroupRows maxFileMb } }
  }
`)
const CreateConnection = graphql(`
  mutation CatalogCreateConnection($input: CreateConnectionInput!) { createConnection(input: $input) { id name odataConfig { hasPassword user } } }
`)
const UpdateConnection = graphql(`
  mutation CatalogUpdateConnection($id: ID!, $input: UpdateConnectionInput!) { updateConnection(id: $id, input: $input) { id name odataConfig { serviceUrl hasPassword } } }
`)
const DeleteConnection = graphql(`mutation CatalogDeleteConnection($id: ID!) { deleteConnection(id: $id) }`)
const TestConnection = graphql(`mutation CatalogTestConnection($id: ID!) { testConnection(id: $id) { ok message code latencyMs } }`)
const CreateDestination = graphql(`
  mutation CatalogCreateDestination($input: CreateDestinationInput!) { createDestination(input: $input) { id uri hasCredentials } }
`)
const DeleteDestination = graphql(`mutation CatalogDeleteDestination($id: ID!) { deleteDestination(id: $id) }`)
const CreatePipeline = graphql(`
  mutation CatalogCreatePipeline($input: CreatePipelineInput!) { createPipeline(input: $input) { id schedule nextRunAt output { pathTemplate compression } } }
`)
const UpdatePipeline = graphql(`
  mutation CatalogUpdatePipeline($id: ID!, $input: UpdatePipelineInput!) { updatePipeline(id: $id, input: $input) { id name schedule enabled nextRunAt } }
`)
const UpdatePipelineOutput = graphql(`
  mutation CatalogUpdatePipelineOutput($id: ID!, $input: UpdatePipelineInput!) {
    updatePipeline(id: $id, input: $input) { id output { pathTemplate compression rowGroupRows maxFileMb successMarker } }
  }
`)
const PipelineLakeOutput = graphql(
  `query CatalogPipelineLakeOutput($id: ID!) { pipeline(id: $id) { output { table currentState schemaChanges } } }`,
)
const PipelineOutput = graphql(
  `query CatalogPipelineOutput($id: ID!) { pipeline(id: $id) { output { pathTemplate compression rowGroupRows maxFileMb successMarker } } }`,
)
const DeletePipeline = graphql(`mutation CatalogDeletePipeline($id: ID!) { deletePipeline(id: $id) }`)
const RunPipeline = graphql(
  `mutation CatalogRunPipeline($id: ID!, $mode: ExtractionMode) { runPipeline(id: $id, mode: $mode) { id status } }`,
)
const CancelRun = graphql(`mutation CatalogCancelRun($id: ID!) { cancelRun(id: $id) { id } }`)
const ResetDelta = graphql(`mutation CatalogResetDelta($id: ID!) { resetDelta(pipelineId: $id) { id deltaState { token } } }`)
const ById = graphql(`
  query CatalogById($id: ID!) { connection(id: $id) { id } destination(id: $id) { id } pipeline(id: $id) { id } run(id: $id) { id } }
`)

describe('connections, destinations and pipelines', () => {
  let h: Harness
  let ids: Awaited<ReturnType<Harness['createPipeline']>>
  const odata = () => ({ serviceUrl: h.sim.serviceUrl, sapClient: '100', user: 'DEMO', password: SAP_PASSWORD })

  /** Every bad request below must leave the catalog exactly as it was. */
  async function expectUnchanged(action: () => Promise<unknown>) {
    const before = await h.gql(Everything)
    await action()
    expect(await h.gql(Everything)).toEqual(before)
  }

  beforeAll(async () => {
    h = await Harness.start()
    ids = await h.createPipeline({ name: 'base' })
  })
  afterAll(() => h?.stop())

  it('never shows a secret, only that one is stored', async () => {
    const everything = JSON.stringify(await h.request(Everything))
    expect(everything).not.toContain(SAP_PASSWORD)
    const conn = (await h.gql(Everything)).connections[0]
    expect(conn.odataConfig).toEqual({ serviceUrl: h.sim.serviceUrl, sapClient: '100', user: 'DEMO', language: null, hasPassword: true })
    // omitting the password on update keeps it; the connection still logs on
    const updated = await h.gql(UpdateConnection, {
      id: ids.connectionId,
      input: { odataConfig: { serviceUrl: h.sim.serviceUrl, sapClient: '100', user: 'DEMO' } },
    })
    expect(updated.updateConnection.odataConfig?.hasPassword).toBe(true)
    expect((await h.gql(TestConnection, { id: ids.connectionId })).testConnection).toMatchObject({ ok: true, code: null })
  })

  it('stores the password encrypted in the database', async () => {
    const rows = await h.app.services.db.connection.findMany()
    expect(rows.every((r) => !r.config.includes(SAP_PASSWORD) && r.secret?.startsWith('v1:') && !r.secret.includes(SAP_PASSWORD))).toBe(
      true,
    )
  })

  it.each([
    [
      'an unsupported URL scheme',
      { name: 'x', protocol: 'ODATA' as const, odataConfig: { serviceUrl: 'ftp://sap/x' } },
      'odataConfig.serviceUrl',
    ],
    ['a malformed URL', { name: 'x', protocol: 'ODATA' as const, odataConfig: { serviceUrl: 'http//no-colon' } }, 'odataConfig.serviceUrl'],
    // not repeated in the message: a pasted URL may carry a password
    [
      'a malformed URL holding a secret',
      { name: 'x', protocol: 'ODATA' as const, odataConfig: { serviceUrl: 'https://u:s3cr3t-pw@@sap x' } },
      'odataConfig.serviceUrl',
    ],
    [
      'credentials in the URL',
      { name: 'x', protocol: 'ODATA' as const, odataConfig: { serviceUrl: 'https://u:p@sap/x' } },
      'odataConfig.serviceUrl',
    ],
    ['missing config', { name: 'x', protocol: 'ODATA' as const }, 'odataConfig'],
    ['the wrong config', { name: 'x', protocol: 'ODATA' as const, rfcConfig: { client: '100', ashost: 'h', sysnr: '00' } }, 'rfcConfig'],
    [
      'a bad sap-client',
      { name: 'x', protocol: 'ODATA' as const, odataConfig: { serviceUrl: 'https://sap/x', sapClient: '1' } },
      'odataConfig.sapClient',
    ],
    ['an empty name', { name: ' ', protocol: 'ODATA' as const, odataConfig: { serviceUrl: 'https://sap/x' } }, 'name'],
    ['RFC without a host', { name: 'x', protocol: 'RFC' as const, rfcConfig: { client: '100' } }, 'rfcConfig.ashost'],
  ])('refuses a connection with %s (BAD_USER_INPUT, nothing saved)', async (_, input, field) => {
    await expectUnchanged(async () => {
      const err = await h.gqlError(CreateConnection, { input })
      expect(err.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field })
      expect(err.message).not.toContain('s3cr3t-pw')
    })
  })

  type DestinationInput = { name: string; kind: 'LOCAL'; local?: { path: string }; s3?: { bucket: string } }
  it.each<[string, DestinationInput, string]>([
    ['a missing local config', { name: 'd', kind: 'LOCAL' as const }, 'local'],
    ['the wrong config for the kind', { name: 'd', kind: 'LOCAL' as const, s3: { bucket: 'b' } }, 's3'],
    ['an empty path', { name: 'd', kind: 'LOCAL' as const, local: { path: ' ' } }, 'local.path'],
    ['a path that cannot be a folder', { name: 'd', kind: 'LOCAL' as const, local: { path: 'FILE/lake' } }, 'local.path'],
  ])('refuses a destination with %s (BAD_USER_INPUT, nothing saved)', async (_, input, field) => {
    // FILE: a regular file, so nothing can be created beneath it
    const path = input.local?.path
    if (path?.startsWith('FILE')) {
      await writeFile(join(h.db.dataDir, 'a-file'), 'x')
      input = { ...input, local: { path: path.replace('FILE', join(h.db.dataDir, 'a-file')) } }
    }
    await expectUnchanged(async () => {
      const err = await h.gqlError(CreateDestination, { input })
      expect(err.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field })
    })
  })

  it('shows a local destination as a file URI without credentials', async () => {
    const { createDestination } = await h.gql(CreateDestination, {
      input: { name: 'other-lake', kind: 'LOCAL', local: { path: `${h.db.dataDir}/other` } },
    })
    expect(createDestination).toMatchObject({ uri: `file://${h.db.dataDir}/other`, hasCredentials: false })
    await h.gql(DeleteDestination, { id: createDestination.id })
  })

  it('refuses duplicate names with CONFLICT', async () => {
    await expectUnchanged(async () => {
      const err = await h.gqlError(CreateConnection, { input: { name: 'sap-base', protocol: 'ODATA', odataConfig: odata() } })
      expect(err.extensions?.code).toBe('CONFLICT')
    })
  })

  it('answers unknown ids with null on queries and NOT_FOUND on mutations', async () => {
    const unknown = '01a226b4-0000-7000-8000-000000000000'
    expect(await h.gql(ById, { id: unknown })).toEqual({ connection: null, destination: null, pipeline: null, run: null })
    await expectUnchanged(async () => {
      for (const err of [
        await h.gqlError(UpdateConnection, { id: unknown, input: { name: 'y' } }),
        await h.gqlError(DeleteConnection, { id: unknown }),
        await h.gqlError(TestConnection, { id: unknown }),
        await h.gqlError(DeleteDestination, { id: unknown }),
        await h.gqlError(UpdatePipeline, { id: unknown, input: { name: 'y' } }),
        await h.gqlError(DeletePipeline, { id: unknown }),
        await h.gqlError(RunPipeline, { id: unknown }),
        await h.gqlError(CancelRun, { id: unknown }),
        await h.gqlError(ResetDelta, { id: unknown }),
        await h.gqlError(CreatePipeline, {
          input: {
            name: 'z',
            connectionId: unknown,
            destinationId: ids.destinationId,
            mode: 'FULL',
            source: { kind: 'ODP_ODATA', entitySet: SALES_ITEMS },
          },
        }),
      ])
        expect(err.extensions?.code).toBe('NOT_FOUND')
    })
  })

  it.each([
    ['a bad cron expression', { schedule: '61 * * * *' }, 'schedule'],
    ['a cron with too few fields', { schedule: '* * *' }, 'schedule'],
    ['an unknown time zone', { schedule: '@daily', timezone: 'Mars/Olympus' }, 'timezone'],
    ['a path template without {runId}', { output: { pathTemplate: '{pipeline}/{yyyy}' } }, 'output.pathTemplate'],
    ['an unknown placeholder', { output: { pathTemplate: '{pipeline}/{runid}' } }, 'output.pathTemplate'],
    ['a path escaping the destination', { output: { pathTemplate: '../{runId}' } }, 'output.pathTemplate'],
    ['an unknown compression', { output: { compression: 'LZMA' } }, 'output.compression'],
    ['a tiny row group', { output: { rowGroupRows: 10 } }, 'output.rowGroupRows'],
    ['a current-state table without a change-log table', { output: { currentState: true } }, 'output.currentState'],
    ['a source without entity set', { source: { kind: 'ODP_ODATA' as const } }, 'source.entitySet'],
    [
      'a non-SAP field name',
      { source: { kind: 'ODP_ODATA' as const, entitySet: SALES_ITEMS, fields: ['VBELN; DROP'] } },
      'source.fields.0',
    ],
    ['an RFC source on an OData connection', { source: { kind: 'TABLE_RFC' as const, table: 'MARA' } }, 'source.kind'],
  ])('refuses a pipeline with %s (BAD_USER_INPUT, nothing saved)', async (_, change, field) => {
    const input = {
      name: 'bad',
      connectionId: ids.connectionId,
      destinationId: ids.destinationId,
      mode: 'FULL' as const,
      source: { kind: 'ODP_ODATA' as const, entitySet: SALES_ITEMS },
      ...change,
    }
    await expectUnchanged(async () => {
      const err = await h.gqlError(CreatePipeline, { input })
      expect(err.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field })
    })
  })

  it('refuses a second DELTA pipeline on the same SAP subscription, saying why', async () => {
    await expectUnchanged(async () => {
      const err = await h.gqlError(CreatePipeline, {
        input: {
          name: 'thief',
          connectionId: ids.connectionId,
          destinationId: ids.destinationId,
          mode: 'DELTA',
          source: { kind: 'ODP_ODATA', entitySet: SALES_ITEMS },
        },
      })
      expect(err.extensions?.code).toBe('CONFLICT')
      expect(err.message).toMatch(/one delta subscription per user × service × entity set/)
    })
    // a FULL pipeline on the same entity set holds no subscription and is fine
    const full = await h.gql(CreatePipeline, {
      input: {
        name: 'snapshot',
        connectionId: ids.connectionId,
        destinationId: ids.destinationId,
        mode: 'FULL',
        source: { kind: 'ODP_ODATA', entitySet: SALES_ITEMS },
        schedule: '0 3 * * *',
        output: { compression: 'gzip' },
      },
    })
    expect(full.createPipeline).toMatchObject({
      schedule: '0 3 * * *',
      output: { compression: 'GZIP', pathTemplate: '{pipeline}/{yyyy}/{MM}/{dd}/{runId}' },
    })
    expect(new Date(full.createPipeline.nextRunAt!).toISOString()).toMatch(/T03:00:00.000Z$/)
    await h.gql(DeletePipeline, { id: full.createPipeline.id })
  })

  it('changes only the output fields an update gives; null puts one back to its default', async () => {
    const { createPipeline } = await h.gql(CreatePipeline, {
      input: {
        name: 'outputs',
        connectionId: ids.connectionId,
        destinationId: ids.destinationId,
        mode: 'FULL',
        source: { kind: 'ODP_ODATA', entitySet: SALES_ITEMS },
        output: { pathTemplate: '{entity}/{runId}', compression: 'GZIP', rowGroupRows: 5000, maxFileMb: 16 },
      },
    })
    const update = async (output: Record<string, unknown>) =>
      (await h.gql(UpdatePipelineOutput, { id: createPipeline.id, input: { output } })).updatePipeline.output
    expect(await update({ successMarker: true })).toEqual({
      pathTemplate: '{entity}/{runId}',
      compression: 'GZIP',
      rowGroupRows: 5000,
      maxFileMb: 16,
      successMarker: true,
    })
    expect(await update({ pathTemplate: '{pipeline}/{mode}/{runId}' })).toEqual({
      pathTemplate: '{pipeline}/{mode}/{runId}',
      compression: 'GZIP',
      rowGroupRows: 5000,
      maxFileMb: 16,
      successMarker: true,
    })
    expect(await update({ compression: null, maxFileMb: 32 })).toEqual({
      pathTemplate: '{pipeline}/{mode}/{runId}',
      compression: 'SNAPPY',
      rowGroupRows: 5000,
      maxFileMb: 32,
      successMarker: true,
    })
    // an update without output, or with an empty one, keeps all of it
    expect((await h.gql(UpdatePipelineOutput, { id: createPipeline.id, input: { name: 'outputs2' } })).updatePipeline.output).toMatchObject(
      { pathTemplate: '{pipeline}/{mode}/{runId}', maxFileMb: 32 },
    )
    expect(await update({})).toMatchObject({ pathTemplate: '{pipeline}/{mode}/{runId}', rowGroupRows: 5000, successMarker: true })

    // a bad template in an update is refused by field, and the stored one stays
    await expectUnchanged(async () => {
      const err = await h.gqlError(UpdatePipelineOutput, {
        id: createPipeline.id,
        input: { output: { pathTemplate: '{pipeline}/{yyyy}', successMarker: false } },
      })
      expect(err.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'output.pathTemplate' })
    })
    expect((await h.gql(PipelineOutput, { id: createPipeline.id })).pipeline?.output).toMatchObject({
      pathTemplate: '{pipeline}/{mode}/{runId}',
      successMarker: true,
    })
    await h.gql(DeletePipeline, { id: createPipeline.id })
  })

  it('keeps the schema policy, shows the table settings, and refuses a current-state table without a change log', async () => {
    const { createPipeline } = await h.gql(CreatePipeline, {
      input: {
        name: 'policies',
        connectionId: ids.connectionId,
        destinationId: ids.destinationId,
        mode: 'FULL',
        source: { kind: 'ODP_ODATA', entitySet: SALES_ITEMS },
      },
    })
    const read = async () => (await h.gql(PipelineLakeOutput, { id: createPipeline.id })).pipeline?.output
    expect(await read()).toEqual({ table: 'NONE', currentState: false, schemaChanges: 'ALLOW_ADDITIVE' })
    await h.gql(UpdatePipelineOutput, { id: createPipeline.id, input: { output: { schemaChanges: 'BLOCK', table: 'NONE' } } })
    expect(await read()).toEqual({ table: 'NONE', currentState: false, schemaChanges: 'BLOCK' })
    await expectUnchanged(async () => {
      const err = await h.gqlError(UpdatePipelineOutput, {
        id: createPipeline.id,
        input: { output: { currentState: true, schemaChanges: 'ALLOW_ADDITIVE' } },
      })
      expect(err.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'output.currentState' })
      expect(err.message).toMatch(/needs output.table: ICEBERG/)
    })
    expect(await read()).toEqual({ table: 'NONE', currentState: false, schemaChanges: 'BLOCK' })
    await h.gql(UpdatePipelineOutput, { id: createPipeline.id, input: { output: { table: 'ICEBERG', currentState: true } } })
    expect(await read()).toEqual({ table: 'ICEBERG', currentState: true, schemaChanges: 'BLOCK' })
    await h.gql(UpdatePipelineOutput, { id: createPipeline.id, input: { output: { table: 'NONE', currentState: false } } })
    // null puts the policy back to its default
    await h.gql(UpdatePipelineOutput, { id: createPipeline.id, input: { output: { schemaChanges: null } } })
    expect(await read()).toEqual({ table: 'NONE', currentState: false, schemaChanges: 'ALLOW_ADDITIVE' })
    await h.gql(DeletePipeline, { id: createPipeline.id })
  })

  it('refuses a second pipeline whose table would share a location on the same destination', async () => {
    const create = (name: string, output: Record<string, unknown>) =>
      h.gql(CreatePipeline, {
        input: {
          name,
          connectionId: ids.connectionId,
          destinationId: ids.destinationId,
          mode: 'FULL',
          source: { kind: 'ODP_ODATA', entitySet: SALES_ITEMS },
          output,
        },
      })
    const first = await create('sales items', { table: 'ICEBERG', currentState: true })
    // "sales_items" is the path-safe form of "sales items"; "sales_items_current" its current-state table
    for (const [name, output] of [
      ['sales_items', { table: 'ICEBERG' }],
      ['sales_items_current', { table: 'ICEBERG' }],
    ] as const) {
      await expectUnchanged(async () => {
        const err = await h.gqlError(CreatePipeline, {
          input: {
            name,
            connectionId: ids.connectionId,
            destinationId: ids.destinationId,
            mode: 'FULL',
            source: { kind: 'ODP_ODATA', entitySet: SALES_ITEMS },
            output,
          },
        })
        expect(err.extensions).toMatchObject({ code: 'CONFLICT', field: 'name' })
        expect(err.message).toContain('"sales items" already writes the table at')
      })
    }
    // Run folders where a table's expiry cleans up, or characters Iceberg readers cut a path at
    for (const pathTemplate of ['{pipeline}/data/{runId}', '{pipeline}_current/metadata/{runId}', 'runs/{yyyy}/x#{runId}']) {
      await expectUnchanged(async () => {
        const err = await h.gqlError(CreatePipeline, {
          input: {
            name: 'templated',
            connectionId: ids.connectionId,
            destinationId: ids.destinationId,
            mode: 'FULL',
            source: { kind: 'ODP_ODATA', entitySet: SALES_ITEMS },
            output: { table: 'ICEBERG', currentState: true, pathTemplate },
          },
        })
        expect(err.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'output.pathTemplate' })
      })
    }
    const templated = await create('templated', { table: 'ICEBERG', pathTemplate: '{pipeline}/runs/{runId}' })
    await h.gql(DeletePipeline, { id: templated.createPipeline.id })
    // Without a table the same name is no one's business
    const plain = await create('sales_items', { table: 'NONE' })
    await h.gql(DeletePipeline, { id: plain.createPipeline.id })
    await h.gql(DeletePipeline, { id: first.createPipeline.id })
  })

  it('refuses to delete what pipelines still use', async () => {
    await expectUnchanged(async () => {
      expect((await h.gqlError(DeleteConnection, { id: ids.connectionId })).extensions?.code).toBe('CONFLICT')
      expect((await h.gqlError(DeleteDestination, { id: ids.destinationId })).extensions?.code).toBe('CONFLICT')
    })
  })

  it('refuses a second run of a pipeline while one is active', async () => {
    h.sim.admin.injectFault({ kind: 'slow', page: 1, delayMs: 10_000 })
    const { runPipeline } = await h.gql(RunPipeline, { id: ids.pipelineId })
    const err = await h.gqlError(RunPipeline, { id: ids.pipelineId })
    expect(err.extensions?.code).toBe('CONFLICT')
    expect(err.message).toContain(runPipeline.id)
    await h.gql(CancelRun, { id: runPipeline.id })
    h.sim.admin.clearFaults()
  })

  it('refuses modes the pipeline cannot run', async () => {
    const err = await h.gqlError(RunPipeline, { id: ids.pipelineId, mode: 'DELTA' })
    expect(err).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'mode' } })
  })

  it('refuses to change the selection of an initialised delta until it is reset', async () => {
    const { pipelineId } = await h.createPipeline({ name: 'sel', entitySet: 'FactsOfZTYPES', pageSize: 100 })
    expect((await h.run(pipelineId)).status).toBe('SUCCEEDED')
    const err = await h.gqlError(UpdatePipeline, {
      id: pipelineId,
      input: { source: { kind: 'ODP_ODATA', entitySet: 'FactsOfZTYPES', filter: 'ID gt 3' } },
    })
    expect(err.extensions?.code).toBe('CONFLICT')
    expect(err.message).toMatch(/resetDelta/)
    // renaming or scheduling is fine
    const ok = await h.gql(UpdatePipeline, { id: pipelineId, input: { name: 'sel2', schedule: '*/5 * * * *', enabled: false } })
    expect(ok.updatePipeline).toMatchObject({ name: 'sel2', schedule: '*/5 * * * *', enabled: false, nextRunAt: null })
    const reset = await h.gql(ResetDelta, { id: pipelineId })
    expect(reset.resetDelta.deltaState).toBeNull()
    expect(h.sim.admin.subscriptions().filter((s) => s.entitySet === 'FactsOfZTYPES')).toEqual([])
    await h.gql(UpdatePipeline, { id: pipelineId, input: { source: { kind: 'ODP_ODATA', entitySet: 'FactsOfZTYPES', filter: 'ID gt 3' } } })
  })

  it('reports a wrong password as a failed testConnection and a SOURCE_AUTH run failure, without retrying', async () => {
    const { createConnection } = await h.gql(CreateConnection, {
      input: { name: 'wrong', protocol: 'ODATA', odataConfig: { ...odata(), password: 'nope' } },
    })
    const test = (await h.gql(TestConnection, { id: createConnection.id })).testConnection
    expect(test).toMatchObject({ ok: false, code: 'SOURCE_AUTH' })
    expect(test.message).not.toContain('nope')
    const { createPipeline } = await h.gql(CreatePipeline, {
      input: {
        name: 'wrong-pw',
        connectionId: createConnection.id,
        destinationId: ids.destinationId,
        mode: 'FULL',
        source: { kind: 'ODP_ODATA', entitySet: SALES_ITEMS },
      },
    })
    const run = await h.run(createPipeline.id)
    expect(run).toMatchObject({ status: 'FAILED', stage: 'CONNECTING', error: { code: 'SOURCE_AUTH', retryable: false } })
  })
})
