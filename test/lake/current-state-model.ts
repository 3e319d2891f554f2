/**
 * A model of the SAP table for current-state table tests (docs/architecture.md#current-state-table):
 * images of one sales document's items, a Map from key to its last after image built from the same
 * changes the library applies, and a run written with the real roller and applied with the library.
 * Shared by the current-state tests and the tests of the rewrite that applies its delete files.
 */
import fc from 'fast-check'
import { icebergRead } from 'icebird'
import { applyRunToCurrentState, changeLogColumns, planTableWrite } from '../../src/lake/iceberg/index.js'
import { keyIdentity } from '../../src/lake/iceberg/run-images.js'
import { classifyChange, type Row } from '../../src/sap/fields.js'
import type { Destination } from '../../src/storage/destination.js'
import { SOURCE, sourceRow, writeRunFiles } from './helpers.js'

export const COLUMNS = changeLogColumns(SOURCE)
export const KEY = ['VBELN', 'POSNR']
export const AT = new Date(Date.UTC(2026, 11, 5, 22, 0, 0))
const I = (n: number) => String(n).padStart(6, '0')

/** One image: item `item`, values from `n` (KWMENG = n·1000), ODQ mode and counter. */
const img = (item: number, n: number, mode: string, counter: string | null, run = ''): Row => [
  ...sourceRow('0000008000', I(item), n, mode, counter),
  run,
  AT,
]
export const full = (item: number, n: number) => img(item, n, '', null)
export const create = (item: number, n: number) => img(item, n, 'C', '1')
export const afterImage = (item: number, n: number) => img(item, n, 'U', '1')
export const beforeImage = (item: number, n: number) => img(item, n, 'U', '-1')
export const del = (item: number, n: number) => img(item, n, 'D', '-1')

export type Model = Map<string, Row>
const COL = (name: string) => COLUMNS.findIndex((c) => c.name === name)

/** The SAP table after the run: what the library must reproduce, computed independently. */
export function applyToModel(model: Model, mode: 'FULL' | 'DELTA', rows: Row[]): Model {
  const next: Model = mode === 'FULL' ? new Map() : new Map(model)
  for (const row of rows) {
    const key = keyIdentity([row[COL('VBELN')], row[COL('POSNR')]])
    const change = classifyChange(row[COL('ODQ_CHANGEMODE')], row[COL('ODQ_ENTITYCNTR')])
    if (change === 'deleted') next.delete(key)
    else if (change !== 'before-image') next.set(key, row)
  }
  return next
}

/** The columns compared row for row: key, the image's values, its mode and the run that wrote it. */
const view = (r: Record<string, unknown>) =>
  [r.VBELN, r.POSNR, r.KWMENG, r.RATE, r.ODQ_CHANGEMODE, r._RUN_ID].map((v) => (typeof v === 'bigint' ? String(v) : v))
const byKey = (a: unknown[], b: unknown[]) => String(a[1]).localeCompare(String(b[1]))
export const modelView = (model: Model) =>
  [...model.values()].map((row) => view(Object.fromEntries(COLUMNS.map((c, i) => [c.name, row[i]])))).sort(byKey)
export const tableView = async (d: Destination, table: string) => (await icebergRead({ tableUrl: d.uriOf(table) })).map(view).sort(byKey)

/** Writes the run's files (`perFile` rows each, so several files) and applies the run. */
export async function run(d: Destination, table: string, runId: string, mode: 'FULL' | 'DELTA', rows: Row[], perFile = 3) {
  const withRun = rows.map((r) => [...r.slice(0, -2), runId, AT])
  const plan = await planTableWrite(d, table, COLUMNS)
  const files = withRun.length ? await writeRunFiles(d, plan.parquet, COLUMNS, withRun, runId, perFile) : []
  const result = await applyRunToCurrentState(d, table, { runId, mode, files, columns: COLUMNS, keyColumns: KEY })
  return { result, rows: withRun, files }
}

/** One drawn change: an item (the key), a value seed and what happens to it. */
export const imageArb = fc.record({
  item: fc.integer({ min: 1, max: 4 }),
  n: fc.integer({ min: 1, max: 9 }),
  kind: fc.constantFrom('create', 'update', 'abr-update', 'delete'),
})
export type DrawnImage = { item: number; n: number; kind: string }

/** The rows of a drawn run: a full load takes each image as a full row, a delta as its C/U/D images. */
export function rowsOf(mode: 'FULL' | 'DELTA', images: readonly DrawnImage[]): Row[] {
  if (mode === 'FULL') return images.map((x) => full(x.item, x.n))
  return images.flatMap((x) => {
    switch (x.kind) {
      case 'create':
        return [create(x.item, x.n)]
      case 'update':
        return [afterImage(x.item, x.n)]
      case 'abr-update':
        // The after image differs from the before image (values 1…9: the GUID column has one digit for it).
        return [beforeImage(x.item, x.n), afterImage(x.item, (x.n % 9) + 1)]
      default:
        return [del(x.item, x.n)]
    }
  })
}
