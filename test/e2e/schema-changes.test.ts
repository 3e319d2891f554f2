/**
 * Schema changes in SAP between delta runs (issue 13 point 3, docs/architecture.md#schema-changes):
 * the simulator adds or drops a field mid-life, and the next delta either writes the new column
 * (ALLOW_ADDITIVE) or fails with SCHEMA_CHANGED before anything is committed, the delta position
 * where it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MATERIALS, SALES_ITEMS, type ChangeRef, type SapRow } from '../../src/simulator/index.js'
import { graphql } from '../gql/index.js'
import { Harness } from '../helpers/harness.js'
import { expectedLakeRow, pick, readManifest, readRun, type LakeRow } from '../helpers/lake.js'

const ResetDelta = graphql(`mutation SchemaResetDelta($id: ID!) { resetDelta(pipelineId: $id) { id } }`)
const SetPolicy = graphql(`
  mutation SchemaSetPolicy($id: ID!, $input: UpdatePipelineInput!) { updatePipeline(id: $id, input: $input) { output { schemaChanges } } }
`)

/** The delta rows SAP delivers for these changes (ABR: before and after images), in the given columns. */
function expectedDeltaRows(changes: ChangeRef[], columns: string[]): LakeRow[] {
  const row = (image: SapRow | null, mode: string, counter: string) => ({
    ...pick(expectedLakeRow(image!), columns),
    ODQ_CHANGEMODE: mode,
    ODQ_ENTITYCNTR: counter,
  })
  return changes.flatMap((c) =>
    c.mode === 'C'
      ? [row(c.after, 'C', '1')]
      : c.mode === 'U'
        ? [row(c.before, 'U', '-1'), row(c.after, 'U', '1')]
        : [row(c.before, 'D', '-1')],
  )
}

const BUSINESS = ['VBELN', 'POSNR', 'MATNR', 'ARKTX', 'KUNNR', 'ERDAT', 'ERZET', 'NETWR', 'WAERK', 'KWMENG', 'VRKME']

let h: Harness
beforeAll(async () => {
  h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 200, [MATERIALS]: 50 } } })
})
afterAll(() => h?.stop())

const db = () => h.app.services.db
const eventsOf = async (runId: string) => (await db().runEvent.findMany({ where: { runId }, orderBy: { id: 'asc' } })).map((e) => e.message)
const deltaStateOf = (pipelineId: string) => db().deltaState.findUniqueOrThrow({ where: { pipelineId } })

describe('OData: a field added and then dropped in SAP', () => {
  let pipelineId: string
  let initHash: string

  it('records the schema hash in the manifest, on the run and with the delta state', async () => {
    ;({ pipelineId } = await h.createPipeline({ name: 'items' }))
    const init = await h.run(pipelineId)
    expect(init).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '200' })
    const manifest = await readManifest(init.manifestUri!)
    expect(manifest.schemaHash).toMatch(/^sha256:[0-9a-f]{64}$/)
    initHash = manifest.schemaHash!
    expect((await db().run.findUniqueOrThrow({ where: { id: init.id } })).schemaHash).toBe(initHash)
    const state = await deltaStateOf(pipelineId)
    expect(state.schemaHash).toBe(initHash)
    expect(JSON.parse(state.schemaColumns!).map((c: { name: string }) => c.name)).toEqual(manifest.schema.map((c) => c.name))
  })

  it('writes an added field as a new column under ALLOW_ADDITIVE (the default), initial in old rows, and names it in a run event', async () => {
    h.sim.admin.addField(SALES_ITEMS, { name: 'ZZRATE', type: { abap: 'DEC', precision: 5, scale: 2 } })
    const changes = [...h.sim.admin.update(SALES_ITEMS, 3), ...h.sim.admin.insert(SALES_ITEMS, 2)]
    const run = await h.run(pipelineId)
    expect(run).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', changeCounts: { created: '2', updated: '3', deleted: '0' } })
    const { manifest, rows, types } = await readRun(run.manifestUri!)
    expect(types.ZZRATE).toBe('DECIMAL(5,2)')
    expect(manifest.schema.find((c) => c.name === 'ZZRATE')).toMatchObject({ kind: 'decimal', precision: 5, scale: 2 })
    expect(rows).toEqual(expectedDeltaRows(changes, [...BUSINESS, 'ZZRATE']))
    // Before images are the rows as they were: initial; after images and new rows carry values of their own.
    expect(rows.filter((r) => r.ODQ_ENTITYCNTR === '-1').map((r) => r.ZZRATE)).toEqual(['0.00', '0.00', '0.00'])
    expect(rows.filter((r) => r.ODQ_ENTITYCNTR === '1').every((r) => r.ZZRATE !== '0.00')).toBe(true)
    expect(manifest.schemaHash).not.toBe(initHash)
    expect((await deltaStateOf(pipelineId)).schemaHash).toBe(manifest.schemaHash)
    expect(await eventsOf(run.id)).toContainEqual(
      expect.stringMatching(/schema change allowed .*ALLOW_ADDITIVE.*added ZZRATE \(decimal\(5,2\)/),
    )
  })

  it('fails with SCHEMA_CHANGED when a field is dropped: nothing committed, the delta token unchanged', async () => {
    const before = await deltaStateOf(pipelineId)
    h.sim.admin.dropField(SALES_ITEMS, 'ARKTX')
    h.sim.admin.update(SALES_ITEMS, 2)
    const run = await h.run(pipelineId)
    expect(run).toMatchObject({ status: 'FAILED', manifestUri: null, rowsWritten: '0', filesWritten: 0 })
    expect(run.error).toMatchObject({ code: 'SCHEMA_CHANGED', retryable: false })
    expect(run.error!.message).toMatch(/removed ARKTX \(was string/)
    expect(run.error!.message).toMatch(/resetDelta/)
    const after = await deltaStateOf(pipelineId)
    expect({ token: after.token, deltaLink: after.deltaLink, schemaHash: after.schemaHash }).toEqual({
      token: before.token,
      deltaLink: before.deltaLink,
      schemaHash: before.schemaHash,
    })
    expect(after.lastCommittedRunId).toBe(before.lastCommittedRunId)
    // Not retried by itself, and the next run repeats the refusal: the policy has not changed.
    const again = await h.run(pipelineId)
    expect(again).toMatchObject({ status: 'FAILED', extractionMode: 'RECOVERY', error: { code: 'SCHEMA_CHANGED' } })
  })

  it('continues after resetDelta: a new DELTA_INIT without the field, then deltas again', async () => {
    await h.gql(ResetDelta, { id: pipelineId })
    const init = await h.run(pipelineId)
    expect(init).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '202' })
    const snapshot = await readRun(init.manifestUri!)
    expect(Object.keys(snapshot.types)).not.toContain('ARKTX')
    expect(Object.keys(snapshot.types)).toContain('ZZRATE')
    const changes = h.sim.admin.update(SALES_ITEMS, 2)
    const delta = await h.run(pipelineId)
    expect(delta).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', changeCounts: { updated: '2' } })
    const { rows } = await readRun(delta.manifestUri!)
    expect(rows).toEqual(expectedDeltaRows(changes, [...BUSINESS.filter((f) => f !== 'ARKTX'), 'ZZRATE']))
  })
})

describe('OData: schemaChanges BLOCK', () => {
  it('fails on an added field with SCHEMA_CHANGED naming it; switching the policy to ALLOW_ADDITIVE lets the same delta through', async () => {
    const { pipelineId } = await h.createPipeline({ name: 'materials', entitySet: MATERIALS, output: { schemaChanges: 'BLOCK' } })
    expect((await h.run(pipelineId)).status).toBe('SUCCEEDED')
    const before = await deltaStateOf(pipelineId)
    h.sim.admin.addField(MATERIALS, { name: 'ZZCOLOR', type: { abap: 'CHAR', length: 8 } })
    const changes = h.sim.admin.update(MATERIALS, 2)
    const blocked = await h.run(pipelineId)
    expect(blocked).toMatchObject({ status: 'FAILED', manifestUri: null, error: { code: 'SCHEMA_CHANGED', retryable: false } })
    expect(blocked.error!.message).toMatch(/added ZZCOLOR \(string/)
    expect(blocked.error!.message).toMatch(/schemaChanges: BLOCK/)
    expect((await deltaStateOf(pipelineId)).token).toBe(before.token)

    expect(
      (await h.gql(SetPolicy, { id: pipelineId, input: { output: { schemaChanges: 'ALLOW_ADDITIVE' } } })).updatePipeline.output,
    ).toEqual({
      schemaChanges: 'ALLOW_ADDITIVE',
    })
    const recovered = await h.run(pipelineId)
    expect(recovered).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'RECOVERY', deltaTokenIn: before.token })
    const { rows, types } = await readRun(recovered.manifestUri!)
    expect(types.ZZCOLOR).toBe('VARCHAR')
    expect(rows.map((r) => r.ZZCOLOR)).toEqual(changes.flatMap((c) => [c.before!.ZZCOLOR, c.after!.ZZCOLOR]))
    expect(rows.map((r) => r.ZZCOLOR)).toContain('')
  })
})
