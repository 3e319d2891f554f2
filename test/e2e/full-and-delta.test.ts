import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MATERIALS, SALES_ITEMS, type ChangeRef, type SapRow } from '../../src/simulator/index.js'
import { graphql } from '../gql/index.js'
import { Harness } from '../helpers/harness.js'
import { expectedLakeRow, keyOf, pick, readRun, type LakeRow } from '../helpers/lake.js'

const BUSINESS = ['VBELN', 'POSNR', 'MATNR', 'ARKTX', 'KUNNR', 'ERDAT', 'ERZET', 'NETWR', 'WAERK', 'KWMENG', 'VRKME']

async function simulatorRows(h: Harness): Promise<LakeRow[]> {
  const rows: LakeRow[] = []
  for await (const r of h.sim.admin.rows(SALES_ITEMS)) rows.push(expectedLakeRow(r))
  return rows
}

/** The delta rows SAP must deliver for these changes, in order (ABR: before and after images). */
function expectedDeltaRows(changes: ChangeRef[]): LakeRow[] {
  const row = (image: SapRow | null, mode: string, counter: string) => ({
    ...pick(expectedLakeRow(image!), BUSINESS),
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

const PipelineState = graphql(`
  query PipelineState($id: ID!) {
    pipeline(id: $id) { deltaState { token recoveryPending lastCommittedRun { id } } lastRun { id status } }
  }
`)

describe('a FULL pipeline', () => {
  let h: Harness
  beforeAll(async () => {
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 730 } } })
  })
  afterAll(() => h?.stop())

  it('loads every row with exact SAP types, value for value', async () => {
    const { pipelineId } = await h.createPipeline({ mode: 'FULL', pageSize: 100 })
    const run = await h.run(pipelineId)
    expect(run).toMatchObject({
      status: 'SUCCEEDED',
      stage: 'DONE',
      extractionMode: 'FULL',
      trigger: 'API',
      rowsExtracted: '730',
      rowsWritten: '730',
      changeCounts: null,
      deltaTokenIn: null,
      deltaTokenOut: null,
      error: null,
    })
    expect(run.filesWritten).toBeGreaterThanOrEqual(1)

    const { manifest, rows, types } = await readRun(run.manifestUri!)
    expect(manifest).toMatchObject({
      runId: run.id,
      rows: 730,
      extractionMode: 'FULL',
      deltaTokenIn: null,
      deltaTokenOut: null,
      changeCounts: null,
    })
    expect(Number(run.bytesWritten)).toBe(manifest.files.reduce((n, f) => n + f.bytes, 0))
    expect(types).toMatchObject({
      VBELN: 'VARCHAR',
      POSNR: 'VARCHAR',
      ERDAT: 'DATE',
      ERZET: 'TIME',
      NETWR: 'DECIMAL(15,2)',
      KWMENG: 'DECIMAL(13,3)',
      ODQ_ENTITYCNTR: 'DECIMAL(37,0)',
    })

    const expected = await simulatorRows(h)
    expect(rows.map((r) => pick(r, BUSINESS))).toEqual(expected.map((r) => pick(r, BUSINESS)))
    // the torture cases are really in there
    expect(rows.some((r) => r.ERDAT === null)).toBe(true)
    expect(rows.some((r) => r.ERZET === '24:00:00')).toBe(true)
    expect(rows.some((r) => String(r.NETWR).startsWith('-'))).toBe(true)
    expect(rows.every((r) => /^\d{10}$/.test(String(r.VBELN)))).toBe(true)
    expect(rows.every((r) => r.ODQ_CHANGEMODE === '' && r.ODQ_ENTITYCNTR === '0')).toBe(true)

    const state = await h.gql(PipelineState, { id: pipelineId })
    expect(state.pipeline?.deltaState).toBeNull()
  })
})

describe('a DELTA pipeline', () => {
  let h: Harness
  let pipelineId: string
  const committed: string[] = []
  beforeAll(async () => {
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 420 } } })
    ;({ pipelineId } = await h.createPipeline({ mode: 'DELTA', pageSize: 50 }))
  })
  afterAll(() => h?.stop())

  it('initialises: the snapshot, then a stored token', async () => {
    const run = await h.run(pipelineId)
    expect(run).toMatchObject({
      status: 'SUCCEEDED',
      extractionMode: 'DELTA_INIT',
      rowsWritten: '420',
      deltaTokenIn: null,
      changeCounts: null,
    })
    expect(run.deltaTokenOut).toMatch(/^D\d{14}_\d{9}$/)
    const { rows, manifest } = await readRun(run.manifestUri!)
    expect(manifest.deltaTokenOut).toBe(run.deltaTokenOut)
    expect(rows.map((r) => pick(r, BUSINESS))).toEqual((await simulatorRows(h)).map((r) => pick(r, BUSINESS)))
    const state = await h.gql(PipelineState, { id: pipelineId })
    expect(state.pipeline?.deltaState).toMatchObject({ token: run.deltaTokenOut, recoveryPending: false, lastCommittedRun: { id: run.id } })
    committed.push(run.manifestUri!)
  })

  it.each([1, 2, 3])('delta round %i delivers exactly the inserts, updates and deletes made', async (round) => {
    const before = (await h.gql(PipelineState, { id: pipelineId })).pipeline!.deltaState!.token
    const changes = [
      ...h.sim.admin.insert(SALES_ITEMS, 7 * round),
      ...h.sim.admin.update(SALES_ITEMS, 5),
      ...h.sim.admin.delete(SALES_ITEMS, 3),
    ]
    const run = await h.run(pipelineId)
    expect(run).toMatchObject({
      status: 'SUCCEEDED',
      extractionMode: 'DELTA',
      deltaTokenIn: before,
      changeCounts: { created: String(7 * round), updated: '5', deleted: '3' },
      rowsWritten: String(7 * round + 5 * 2 + 3),
    })
    expect(run.deltaTokenOut).not.toBe(before)
    const { rows, manifest } = await readRun(run.manifestUri!)
    expect(manifest.changeCounts).toEqual({ created: 7 * round, updated: 5, deleted: 3 })
    expect(manifest).toMatchObject({ deltaTokenIn: before, deltaTokenOut: run.deltaTokenOut })
    expect(rows.map((r) => pick(r, [...BUSINESS, 'ODQ_CHANGEMODE', 'ODQ_ENTITYCNTR']))).toEqual(expectedDeltaRows(changes))
    expect((await h.gql(PipelineState, { id: pipelineId })).pipeline!.deltaState!.token).toBe(run.deltaTokenOut)
    committed.push(run.manifestUri!)
  })

  it('keeps the lake in step: the snapshot plus every committed delta equals the table in SAP', async () => {
    const table = new Map<string, LakeRow>()
    for (const uri of committed)
      for (const r of (await readRun(uri)).rows) {
        const key = keyOf(r)
        if (r.ODQ_CHANGEMODE === 'D') table.delete(key)
        else if (r.ODQ_ENTITYCNTR !== '-1') table.set(key, pick(r, BUSINESS))
      }
    const expected = await simulatorRows(h)
    expect([...table.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)))).toEqual(expected.map((r) => pick(r, BUSINESS)))
  })

  it('returns an empty delta with the same token when nothing changed', async () => {
    const before = (await h.gql(PipelineState, { id: pipelineId })).pipeline!.deltaState!.token
    const run = await h.run(pipelineId)
    expect(run).toMatchObject({
      status: 'SUCCEEDED',
      extractionMode: 'DELTA',
      rowsWritten: '0',
      filesWritten: 0,
      deltaTokenIn: before,
      deltaTokenOut: before,
      changeCounts: { created: '0', updated: '0', deleted: '0' },
    })
    const { manifest } = await readRun(run.manifestUri!)
    expect(manifest).toMatchObject({ rows: 0, files: [] })
  })
})

describe('a master-data (AttrOf) set', () => {
  let h: Harness
  afterAll(() => h?.stop())

  it('initialises and follows deltas of AttrOfZMATERIAL, 18-digit keys and initial dates intact', async () => {
    h = await Harness.start({ sim: { rows: { [MATERIALS]: 120 } } })
    const fields = ['MATNR', 'MTART', 'MATKL', 'MAKTX', 'MEINS', 'BRGEW', 'GEWEI', 'ERSDA', 'LAEDA']
    const { pipelineId } = await h.createPipeline({ mode: 'DELTA', entitySet: MATERIALS, pageSize: 50, name: 'materials' })
    const init = await h.run(pipelineId)
    expect(init).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '120' })
    const { rows, types } = await readRun(init.manifestUri!)
    expect(types).toMatchObject({ MATNR: 'VARCHAR', BRGEW: 'DECIMAL(13,3)', ERSDA: 'DATE', LAEDA: 'DATE' })
    const expected: LakeRow[] = []
    for await (const r of h.sim.admin.rows(MATERIALS)) expected.push(pick(expectedLakeRow(r), fields))
    expect(rows.map((r) => pick(r, fields))).toEqual(expected)
    expect(rows.every((r) => /^0{8}\d{10}$/.test(String(r.MATNR)))).toBe(true)
    expect(rows.some((r) => r.LAEDA === null)).toBe(true)

    const changes = [...h.sim.admin.insert(MATERIALS, 4), ...h.sim.admin.update(MATERIALS, 3), ...h.sim.admin.delete(MATERIALS, 2)]
    const delta = await h.run(pipelineId)
    expect(delta).toMatchObject({
      status: 'SUCCEEDED',
      extractionMode: 'DELTA',
      changeCounts: { created: '4', updated: '3', deleted: '2' },
    })
    const image = (r: SapRow | null, mode: string, counter: string) => ({
      ...pick(expectedLakeRow(r!), fields),
      ODQ_CHANGEMODE: mode,
      ODQ_ENTITYCNTR: counter,
    })
    const expectedDelta = changes.flatMap((c) =>
      c.mode === 'C'
        ? [image(c.after, 'C', '1')]
        : c.mode === 'U'
          ? [image(c.before, 'U', '-1'), image(c.after, 'U', '1')]
          : [image(c.before, 'D', '-1')],
    )
    expect((await readRun(delta.manifestUri!)).rows.map((r) => pick(r, [...fields, 'ODQ_CHANGEMODE', 'ODQ_ENTITYCNTR']))).toEqual(
      expectedDelta,
    )
  })
})
