/**
 * The run engine's snapshot commit on a real LOCAL destination (docs/architecture.md#lake-commit):
 * another writer taking the version the run planned on is met by planning again on top of it; a
 * writer that changed the schema meanwhile refuses the run with nothing of it committed.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { icebergRead } from 'icebird'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { appendSnapshot, changeLogColumns, loadTable, planTableWrite, SUMMARY_KEYS } from '../../src/lake/iceberg/index.js'
import { commitRunSnapshot } from '../../src/orchestrator/lake/commit-snapshot.js'
import type { RunTable } from '../../src/orchestrator/lake/run-table.js'
import type { StoredFile } from '../../src/orchestrator/run/stream.js'
import type { Column, Row } from '../../src/sap/fields.js'
import { LocalDestination } from '../../src/storage/local.js'
import { fileObjects, withObjectFetch } from '../helpers/object-fetch.js'
import { writeRunFiles } from './helpers.js'

const SOURCE: Column[] = [
  { name: 'MATNR', type: { kind: 'string', maxLength: 18 }, nullable: false, key: true },
  { name: 'ODQ_CHANGEMODE', type: { kind: 'string', maxLength: 1 }, nullable: true, key: false },
  { name: 'ODQ_ENTITYCNTR', type: { kind: 'decimal', precision: 19, scale: 0 }, nullable: true, key: false },
]
const COLUMNS = changeLogColumns(SOURCE)
const AT = new Date(Date.UTC(2026, 11, 5, 12))
const rowsOf = (runId: string, keys: string[]): Row[] => keys.map((k) => [k, 'C', '1', runId, AT])

let root: string
let restoreFetch: () => void
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'de-run-commit-'))
  restoreFetch = withObjectFetch(fileObjects)
})
afterAll(async () => {
  restoreFetch()
  await rm(root, { recursive: true, force: true })
})

/** A run's plan and its written files, as stream.ts leaves them for publish. */
async function runWith(d: LocalDestination, table: string, runId: string, keys: string[], columns = COLUMNS) {
  const plan = await planTableWrite(d, table, columns)
  const written = await writeRunFiles(d, plan.parquet, columns, rowsOf(runId, keys), runId)
  const files = written.map((f): StoredFile => {
    const fileName = f.key.slice(f.key.lastIndexOf('/') + 1)
    return { fileName, rows: f.recordCount, bytes: f.sizeBytes, footerRows: f.recordCount } as StoredFile
  })
  const runTable: RunTable = {
    tablePath: table,
    plan,
    columns,
    added: columns.slice(SOURCE.length),
    extend: (r) => [...r],
    currentState: null,
    pipelineId: 'p-1',
  }
  return { runTable, files, prefix: `runs/${runId}` }
}

it('plans again when another writer took the version, and commits on top of it', async () => {
  const d = new LocalDestination(root)
  const table = 'conflict'
  await appendSnapshot(d, table, COLUMNS, {
    files: await writeRunFiles(d, (await planTableWrite(d, table, COLUMNS)).parquet, COLUMNS, rowsOf('run-0', ['A']), 'run-0'),
    summary: { runId: 'run-0' },
  })
  const run = await runWith(d, table, 'run-1', ['B', 'C'])
  // Another writer commits version 2 after the run planned on version 1.
  await appendSnapshot(d, table, COLUMNS, {
    files: await writeRunFiles(d, run.runTable.plan.parquet, COLUMNS, rowsOf('foreign', ['X']), 'foreign'),
    summary: { runId: 'foreign' },
  })
  const committed = await commitRunSnapshot(d, run.runTable, run.prefix, run.files, { runId: 'run-1', deltaTokenOut: 'D1' })
  expect(committed.version).toBe(3)
  const loaded = (await loadTable(d, table))!
  expect(loaded.metadata.snapshots.map((s) => s.summary[SUMMARY_KEYS.runId])).toEqual(['run-0', 'foreign', 'run-1'])
  const rows = await icebergRead({ tableUrl: pathToFileURL(join(root, table)).href })
  expect(rows.map((r) => `${r.MATNR}/${r._RUN_ID}`).sort()).toEqual(['A/run-0', 'B/run-1', 'C/run-1', 'X/foreign'])
})

it('refuses the run with SCHEMA_CHANGED when the other writer changed the field ids its files carry', async () => {
  const d = new LocalDestination(root)
  const table = 'moved'
  const run = await runWith(d, table, 'run-1', ['B'])
  // A foreign writer creates the table first with other columns: the run's ids no longer match.
  const other = changeLogColumns([{ name: 'ZZOTHER', type: { kind: 'string' }, nullable: true, key: false }, ...SOURCE])
  await appendSnapshot(d, table, other, {
    files: await writeRunFiles(d, (await planTableWrite(d, table, other)).parquet, other, [['z', 'A', 'C', '1', 'foreign', AT]], 'foreign'),
    summary: { runId: 'foreign' },
  })
  await expect(commitRunSnapshot(d, run.runTable, run.prefix, run.files, { runId: 'run-1' })).rejects.toMatchObject({
    code: 'SCHEMA_CHANGED',
  })
  expect((await loadTable(d, table))!.metadata.snapshots.map((s) => s.summary[SUMMARY_KEYS.runId])).toEqual(['foreign'])
})
