/**
 * Row conservation end to end, across output settings: FULL and DELTA_INIT runs of tables of
 * several sizes, written with row groups and file limits chosen so that files roll after a full
 * group, after the last partial group, or never. Each run's files are read back with DuckDB and
 * their keys compared with the simulator's own table: every row exactly once, no file missing from
 * the manifest and none left beside it.
 */
import { readdir } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import { graphql } from '../gql/index.js'
import { Harness } from '../helpers/harness.js'
import { readRun } from '../helpers/lake.js'

const SetOutput = graphql(`
  mutation SweepSetOutput($id: ID!, $output: OutputInput!) { updatePipeline(id: $id, input: { output: $output }) { id } }
`)

/** Table size, rows per row group, file limit (MB). 100,000 SALES_ITEMS rows encode to well over 1 MB. */
const CASES: Array<[rows: number, rowGroupRows: number, maxFileMb: number]> = [
  [0, 1_000, 1],
  [1, 1_000, 1],
  [25_001, 5_000, 1],
  [25_001, 1_000, 256],
  [100_000, 100_000, 1],
  // The last, partial row group fills its file by itself: the shape that lost rows.
  [190_000, 100_000, 1],
]

let h: Harness
let full: string
let delta: string
beforeAll(async () => {
  h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 0 } } })
  ;({ pipelineId: full } = await h.createPipeline({ name: 'sweep-full', mode: 'FULL', pageSize: 20_000 }))
  ;({ pipelineId: delta } = await h.createPipeline({ name: 'sweep-delta', mode: 'DELTA', pageSize: 20_000 }))
}, 60_000)
afterAll(() => h?.stop())

/** The simulator's own table: its keys, as SAP holds them. */
async function tableKeys(): Promise<Set<string>> {
  const keys = new Set<string>()
  for await (const r of h.sim.admin.rows(SALES_ITEMS)) keys.add(`${r.VBELN}/${r.POSNR}`)
  return keys
}

describe('every row of the table lands in the committed files exactly once', () => {
  for (const [rows, rowGroupRows, maxFileMb] of CASES) {
    it(`${rows} rows, row groups of ${rowGroupRows}, files up to ${maxFileMb} MB`, async () => {
      const have = h.sim.admin.rowCount(SALES_ITEMS)
      if (rows > have) h.sim.admin.insert(SALES_ITEMS, rows - have)
      const table = await tableKeys()
      expect(table.size).toBe(rows)
      for (const [pipelineId, mode] of [
        [full, 'FULL'],
        [delta, 'DELTA_INIT'],
      ] as const) {
        await h.gql(SetOutput, { id: pipelineId, output: { rowGroupRows, maxFileMb } })
        const run = await h.run(pipelineId, mode)
        expect(run, `${mode}: ${run.error?.message}`).toMatchObject({
          status: 'SUCCEEDED',
          rowsExtracted: String(rows),
          rowsWritten: String(rows),
        })
        const { manifest, rows: lake } = await readRun(run.manifestUri!)
        expect(manifest.rows).toBe(rows)
        expect(lake).toHaveLength(rows)
        const keys = lake.map((r) => `${r.VBELN}/${r.POSNR}`)
        expect(new Set(keys).size).toBe(rows)
        expect(keys.every((k) => table.has(k))).toBe(true)
        // The prefix holds exactly the listed files and the manifest.
        const onDisk = (await readdir(manifest.dir)).sort()
        expect(onDisk).toEqual([...manifest.files.map((f) => f.path), 'manifest.json'].sort())
        expect(run.filesWritten).toBe(manifest.files.length)
      }
    }, 120_000)
  }
})
