/** Runs that deliver no row: an empty FULL load empties the table, an empty delta commits a snapshot that changes nothing. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { applyRunToCurrentState, loadTable } from '../../src/lake/iceberg/index.js'
import { LocalDestination } from '../../src/storage/local.js'
import { installFileFetch } from './file-fetch.js'
import { applyToModel, COLUMNS, full, KEY, modelView, run, tableView } from './current-state-model.js'

let root: string
let restore: () => void
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'de-current-'))
  restore = installFileFetch()
})
afterAll(async () => {
  restore?.()
  await rm(root, { recursive: true, force: true })
})

it('an empty DELTA and an empty FULL (SAP table emptied) are applied', async () => {
  const d = new LocalDestination(root)
  const table = 't/e_current'
  const first = await run(d, table, 'r1', 'FULL', [full(1, 1), full(2, 2)])
  let model = applyToModel(new Map(), 'FULL', first.rows)
  const e1 = await applyRunToCurrentState(d, table, { runId: 'r2', mode: 'DELTA', files: [], columns: COLUMNS, keyColumns: KEY })
  expect(e1.version).toBe(2)
  expect(await tableView(d, table)).toEqual(modelView(model))
  const e2 = await applyRunToCurrentState(d, table, {
    runId: 'r3',
    mode: 'FULL',
    files: [],
    columns: COLUMNS,
    keyColumns: KEY,
    fullLoadKeysUnique: true,
  })
  expect(e2.version).toBe(3)
  // icebird refuses a snapshot without data manifests ("No data manifest files found"): the summary says it is empty.
  const t = (await loadTable(d, table))!.metadata
  expect(t.snapshots.at(-1)!.summary['total-records']).toBe('0')
  expect((await loadTable(d, table))!.metadata.properties['delta-extractor.last-run-id']).toBe('r3')
})
