/**
 * Schema changes in SAP between delta runs over RFC (issue 13 point 3, docs/architecture.md#schema-changes):
 * the RFC simulator adds or drops a field of an ODP or a table mid-life (RODPS_REPL_ODP_GET_DETAIL and
 * RFC_READ_TABLE's field list follow), and the next delta writes the new column or fails with SCHEMA_CHANGED.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { sapSourceFactory } from '../../src/orchestrator/sources.js'
import type { ChangeRef } from '../../src/simulator/index.js'
import { startRfcSimulator, type RfcSimulatorOptions } from '../../src/simulator/rfc/index.js'
import { graphql } from '../gql/index.js'
import { Harness, SAP_PASSWORD, SAP_USER } from '../helpers/harness.js'
import { TEST_OUTBOUND } from '../helpers/outbound.js'
import { readRun } from '../helpers/lake.js'

const CreateRfcConnection = graphql(
  `mutation SchemaRfcConnection($input: CreateConnectionInput!) { createConnection(input: $input) { id } }`,
)
const CreateLake = graphql(`mutation SchemaRfcLake($input: CreateDestinationInput!) { createDestination(input: $input) { id } }`)
const CreatePipeline = graphql(`mutation SchemaRfcPipeline($input: CreatePipelineInput!) { createPipeline(input: $input) { id } }`)
const SetPolicy = graphql(`
  mutation SchemaRfcPolicy($id: ID!, $input: UpdatePipelineInput!) { updatePipeline(id: $id, input: $input) { id } }
`)
const ResetDelta = graphql(`mutation SchemaRfcReset($id: ID!) { resetDelta(pipelineId: $id) { id } }`)

type Source = { kind: 'TABLE_RFC' | 'ODP_RFC'; table?: string; odpContext?: string; odpName?: string; watermarkField?: string }

async function start(opts: RfcSimulatorOptions) {
  const rfc = await startRfcSimulator(opts)
  const h = await Harness.start({
    orchestrator: {
      sources: sapSourceFactory({ rfcClientFactory: (p) => rfc.createClient(p), retries: 1, backoffMs: 5, outbound: TEST_OUTBOUND }),
    },
  })
  const { createConnection } = await h.gql(CreateRfcConnection, {
    input: {
      name: 'erp',
      protocol: 'RFC',
      rfcConfig: { ashost: 'localhost', sysnr: '00', client: '100', user: SAP_USER, passwd: SAP_PASSWORD, lang: 'EN' },
    },
  })
  const { createDestination } = await h.gql(CreateLake, { input: { name: 'lake', kind: 'LOCAL', local: { path: h.lakeDir } } })
  const pipeline = async (name: string, source: Source, schemaChanges?: 'ALLOW_ADDITIVE' | 'BLOCK') =>
    (
      await h.gql(CreatePipeline, {
        input: {
          name,
          mode: 'DELTA',
          connectionId: createConnection.id,
          destinationId: createDestination.id,
          source: { ...source, pageSize: 100 },
          output: { schemaChanges },
        },
      })
    ).createPipeline.id
  return { rfc, h, pipeline }
}

let env: Awaited<ReturnType<typeof start>> | undefined
afterEach(async () => {
  await env?.h.stop()
  await env?.rfc.close()
  env = undefined
})

const CDC = { kind: 'ODP_RFC' as const, odpContext: 'ABAP_CDS', odpName: 'ZSD_ITEMS_CDC' }
/** ZZRATE of each delta row SAP delivers for these changes (before and after images of updates). */
const ratesOf = (changes: ChangeRef[]) =>
  changes.flatMap((c) => (c.mode === 'C' ? [c.after!.ZZRATE] : c.mode === 'D' ? [c.before!.ZZRATE] : [c.before!.ZZRATE, c.after!.ZZRATE]))

describe('ODP_RFC', () => {
  it('writes an added field under ALLOW_ADDITIVE; a dropped one fails with SCHEMA_CHANGED until resetDelta', async () => {
    env = await start({ odps: { ZSD_ITEMS_CDC: 60 } })
    const { rfc, h } = env
    const id = await env.pipeline('cdc', CDC)
    expect(await h.run(id)).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '60' })

    rfc.admin.addField('ZSD_ITEMS_CDC', { name: 'ZZRATE', type: { abap: 'DEC', precision: 7, scale: 3 } })
    const changes = [...rfc.admin.update('ZSD_ITEMS_CDC', 2), ...rfc.admin.insert('ZSD_ITEMS_CDC', 3)]
    const added = await h.run(id)
    expect(added).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', changeCounts: { created: '3', updated: '2' } })
    const { rows, types, manifest } = await readRun(added.manifestUri!)
    expect(types.ZZRATE).toBe('DECIMAL(7,3)')
    expect(rows.map((r) => r.ZZRATE)).toEqual(ratesOf(changes))
    expect(rows.map((r) => r.ZZRATE)).toContain('0.000') // the before images: initial
    const events = await h.app.services.db.runEvent.findMany({ where: { runId: added.id } })
    expect(events.map((e) => e.message)).toContainEqual(expect.stringMatching(/added ZZRATE \(decimal\(7,3\)/))

    const state = await h.app.services.db.deltaState.findUniqueOrThrow({ where: { pipelineId: id } })
    expect(state.schemaHash).toBe(manifest.schemaHash)
    rfc.admin.dropField('ZSD_ITEMS_CDC', 'ARKTX')
    rfc.admin.update('ZSD_ITEMS_CDC', 1)
    const dropped = await h.run(id)
    expect(dropped).toMatchObject({ status: 'FAILED', manifestUri: null, error: { code: 'SCHEMA_CHANGED', retryable: false } })
    expect(dropped.error!.message).toMatch(/removed ARKTX/)
    const after = await h.app.services.db.deltaState.findUniqueOrThrow({ where: { pipelineId: id } })
    expect({ token: after.token, deltaLink: after.deltaLink }).toEqual({ token: state.token, deltaLink: state.deltaLink })

    await h.gql(ResetDelta, { id })
    const init = await h.run(id)
    expect(init).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '63' })
    expect(Object.keys((await readRun(init.manifestUri!)).types)).not.toContain('ARKTX')
    rfc.admin.insert('ZSD_ITEMS_CDC', 1)
    expect(await h.run(id)).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', changeCounts: { created: '1' } })
  })
  it('BLOCK fails on an added field before ODQ is asked for the delta; switching to ALLOW_ADDITIVE delivers the same changes with it', async () => {
    env = await start({ odps: { ZSD_ITEMS_CDC: 20 } })
    const { rfc, h } = env
    const id = await env.pipeline('blocked', CDC, 'BLOCK')
    expect(await h.run(id)).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '20' })
    rfc.admin.addField('ZSD_ITEMS_CDC', { name: 'ZZRATE', type: { abap: 'INT4' } })
    const changes = [...rfc.admin.update('ZSD_ITEMS_CDC', 2), ...rfc.admin.insert('ZSD_ITEMS_CDC', 1)]
    const blocked = await h.run(id)
    expect(blocked).toMatchObject({ status: 'FAILED', error: { code: 'SCHEMA_CHANGED', retryable: false } })
    expect(blocked.error!.message).toMatch(/added ZZRATE \(int32/)

    await h.gql(SetPolicy, { id, input: { output: { schemaChanges: 'ALLOW_ADDITIVE' } } })
    const recovered = await h.run(id)
    expect(recovered).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'RECOVERY', changeCounts: { created: '1', updated: '2' } })
    const { rows, types } = await readRun(recovered.manifestUri!)
    expect(types.ZZRATE).toBe('INTEGER')
    expect(rows.map((r) => r.ZZRATE)).toEqual(ratesOf(changes))
  })
})

describe('TABLE_RFC (RFC_READ_TABLE with a watermark)', () => {
  it('BLOCK fails on an added field; the full read after resetDelta has it, initial in the old rows', async () => {
    env = await start({ tables: { ZSD_ITEMS: 50 } })
    const { rfc, h } = env
    // NETPR, RABAT and ANZPK hold values too wide for RFC_READ_TABLE's output slot (a torture the simulator
    // keeps on purpose): dropped before the first read, which also shows a full read following the switch.
    for (const f of ['NETPR', 'RABAT', 'ANZPK']) rfc.admin.dropField('ZSD_ITEMS', f)
    const id = await env.pipeline('items', { kind: 'TABLE_RFC', table: 'ZSD_ITEMS', watermarkField: 'changed_at' }, 'BLOCK')
    const first = await h.run(id)
    expect(first).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '50', error: null })
    const firstColumns = Object.keys((await readRun(first.manifestUri!)).types)
    expect(firstColumns).not.toContain('ANZPK')
    expect(firstColumns).toEqual(expect.arrayContaining(['VBELN', 'NETWR', 'CHANGED_AT']))
    rfc.admin.addField('ZSD_ITEMS', { name: 'ZZNOTE', type: { abap: 'CHAR', length: 6 } })
    const changed = rfc.admin.update('ZSD_ITEMS', 2)
    const blocked = await h.run(id)
    expect(blocked).toMatchObject({ status: 'FAILED', error: { code: 'SCHEMA_CHANGED', retryable: false } })
    expect(blocked.error!.message).toMatch(/added ZZNOTE \(string/)

    await h.gql(ResetDelta, { id })
    const init = await h.run(id)
    expect(init).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '50' })
    const { rows, types } = await readRun(init.manifestUri!)
    expect(types.ZZNOTE).toBe('VARCHAR')
    // Rows updated after the field was added carry a value of their own; every other row the initial one.
    const updated = new Map(changed.map((c) => [`${c.key.VBELN}/${c.key.POSNR}`, c.after?.ZZNOTE]))
    expect([...updated.values()].every((v) => typeof v === 'string' && v !== '')).toBe(true)
    for (const r of rows) expect(r.ZZNOTE).toBe(updated.get(`${r.VBELN}/${r.POSNR}`) ?? '')
  })
})
