import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { graphql } from '../gql/index.js'
import { Harness, SAP_PASSWORD, SAP_USER } from '../helpers/harness.js'

const ConnectionSettings = graphql(`query StoredConnection($id: ID!) { connection(id: $id) { id odataConfig { serviceUrl hasPassword } } }`)
const TestConnection = graphql(`mutation StoredTestConnection($id: ID!) { testConnection(id: $id) { ok code } }`)
const RepairConnection = graphql(`
  mutation StoredRepairConnection($id: ID!, $input: UpdateConnectionInput!) { updateConnection(id: $id, input: $input) { odataConfig { serviceUrl hasPassword } } }
`)
const DestinationSettings = graphql(`query StoredDestination($id: ID!) { destination(id: $id) { id uri local { path } } }`)
const PipelineSource = graphql(`query StoredPipeline($id: ID!) { pipeline(id: $id) { id source { kind fields } } }`)
const RunPipeline = graphql(`mutation StoredRunPipeline($id: ID!) { runPipeline(id: $id) { id } }`)

/**
 * Rows written by hand or by another version, whose JSON columns do not fit what the service reads:
 * each is reported where it is read, naming the row and column, never the value, and never as an
 * "Unexpected error" behind a log id or a crash half-way through a run.
 */
describe('stored rows that do not fit their schema', () => {
  let h: Harness

  beforeAll(async () => {
    h = await Harness.start()
  })
  afterAll(() => h?.stop())

  it('a connection config of the wrong shape is named in the API, in testConnection and when a run is asked for, and is repaired by saving it again', async () => {
    const ids = await h.createPipeline({ name: 'edited', mode: 'FULL' })
    const db = h.app.services.db
    const bad = 'hand-typed://nowhere at all'
    await db.connection.update({ where: { id: ids.connectionId }, data: { config: JSON.stringify({ serviceUrl: bad, sapClient: 100 }) } })
    const named = `connection ${ids.connectionId} "sap-edited": its stored ODATA config does not fit (serviceUrl: is not a URL; sapClient:`

    const read = await h.gqlError(ConnectionSettings, { id: ids.connectionId })
    expect(read.message).toContain(named)
    expect(read.message).not.toContain(bad)
    expect(read.extensions?.code).toBe('INTERNAL_SERVER_ERROR')
    expect((await h.gqlError(TestConnection, { id: ids.connectionId })).message).toContain(named)

    // The run's selection includes the connection's SAP identity: no run is queued on a row that cannot be read.
    const refused = await h.gqlError(RunPipeline, { id: ids.pipelineId })
    expect(refused.message).toContain(named)
    expect(await db.run.count({ where: { pipelineId: ids.pipelineId } })).toBe(0)

    // Keeping the stored password needs the settings it was given for, which can no longer be read.
    const kept = await h.gqlError(RepairConnection, {
      id: ids.connectionId,
      input: { odataConfig: { serviceUrl: h.sim.serviceUrl, sapClient: '100', user: SAP_USER } },
    })
    expect(kept).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'odataConfig.password' } })
    expect(kept.message).toContain('settings that can no longer be read')
    const repaired = await h.gql(RepairConnection, {
      id: ids.connectionId,
      input: { odataConfig: { serviceUrl: h.sim.serviceUrl, sapClient: '100', user: SAP_USER, password: SAP_PASSWORD } },
    })
    expect(repaired.updateConnection.odataConfig).toEqual({ serviceUrl: h.sim.serviceUrl, hasPassword: true })
    expect((await h.gql(TestConnection, { id: ids.connectionId })).testConnection).toEqual({ ok: true, code: null })
    expect((await h.run(ids.pipelineId)).status).toBe('SUCCEEDED')
  })

  it('a destination config that is not JSON is named, without repeating it', async () => {
    const ids = await h.createPipeline({ name: 'cut', mode: 'FULL' })
    await h.app.services.db.destination.update({ where: { id: ids.destinationId }, data: { config: '{"path": "/tmp/la' } })
    const e = await h.gqlError(DestinationSettings, { id: ids.destinationId })
    expect(e.message).toContain(`destination ${ids.destinationId} "lake-cut": its stored LOCAL config is not valid JSON`)
    expect(e.message).not.toContain('/tmp/la')
  })

  it("a pipeline's fields of the wrong shape are named when shown, and a run of it is refused before it is queued", async () => {
    const ids = await h.createPipeline({ name: 'fields', mode: 'FULL', fields: ['VBELN'] })
    const db = h.app.services.db
    await db.pipeline.update({ where: { id: ids.pipelineId }, data: { fields: JSON.stringify({ VBELN: true }) } })
    const named = `pipeline ${ids.pipelineId} "fields": its stored field list does not fit (`
    expect((await h.gqlError(PipelineSource, { id: ids.pipelineId })).message).toContain(named)
    expect((await h.gqlError(RunPipeline, { id: ids.pipelineId })).message).toContain(named)
    expect(await db.run.count({ where: { pipelineId: ids.pipelineId } })).toBe(0)
  })
})
