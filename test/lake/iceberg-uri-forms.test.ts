import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { icebergRead } from 'icebird'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { changeLogColumns, commitSnapshot, compact, expireSnapshots, planTableWrite } from '../../src/lake/iceberg/index.js'
import type { Row } from '../../src/sap/fields.js'
import type { Destination } from '../../src/storage/destination.js'
import { LocalDestination } from '../../src/storage/local.js'
import { installFileFetch } from './file-fetch.js'
import { recordedUris, SOURCE, sourceRow, withSecondUriForm, writeRunFiles } from './helpers.js'

/**
 * A destination whose tables record another URI form than `uriOf` (Azure's public endpoint:
 * `abfss://` for tables, docs/architecture.md#lake-tables "Layout"), played by LOCAL with
 * `file://localhost/` beside `file:///`. A new table records the table form only; a table created
 * before (in the `uriOf` form) keeps that form for every later commit, compaction and expiry, so no
 * table mixes forms; maintenance finds the files of both.
 */

const COLUMNS = changeLogColumns(SOURCE)
const AT = new Date(Date.UTC(2026, 11, 5, 22, 0, 0))
const rows = (run: string, items: number[]): Row[] =>
  items.map((n) => [...sourceRow('0000007000', `0000${String(n).padStart(2, '0')}`, n, 'C', '1'), run, AT])
const runIds = (read: Record<string, unknown>[]) => read.map((r) => `${String(r._RUN_ID)}:${String(r.POSNR)}`)

async function commitRun(d: Destination, table: string, run: string, items: number[], at: number) {
  const plan = await planTableWrite(d, table, COLUMNS)
  const files = await writeRunFiles(d, plan.parquet, COLUMNS, rows(run, items), run, 1)
  return { ...(await commitSnapshot(d, plan, { files, summary: { runId: run }, now: () => at })), files }
}

/** Two runs, a compaction of their five small files, a third run, then expiry of all but the newest snapshot. */
async function lifecycle(d: Destination, table: string, first: Destination = d) {
  const r1 = await commitRun(first, table, 'f-1', [1, 2, 3], 1000)
  const r2 = await commitRun(d, table, 'f-2', [4, 5], 2000)
  const compacted = await compact(d, table, { targetFileMb: 1, minInputFiles: 2, now: () => 3000 })
  expect(compacted.rewritten).toHaveLength(5)
  await commitRun(d, table, 'f-3', [6], 4000)
  const expired = await expireSnapshots(d, table, {
    olderThan: 10_000,
    retainLast: 1,
    ownedPrefixes: ['runs/f-1', 'runs/f-2', `${table}/data`],
    now: () => 5000,
  })
  // The five compacted inputs are found from their recorded URIs and removed; nothing is kept by mistake.
  expect(expired.removed.filter((k) => k.endsWith('.parquet')).sort()).toEqual([...r1.files, ...r2.files].map((f) => f.key).sort())
  expect(expired.keptOutsideOwned).toEqual([])
  expect(expired.notRemoved).toEqual([])
  return { compacted }
}

describe('lake tables on a destination with two URI forms', () => {
  let root: string
  let restore: () => void
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'de-uri-forms-'))
    restore = installFileFetch()
  })
  afterAll(async () => {
    restore?.()
    await rm(root, { recursive: true, force: true })
  })

  it('a new table records only the table form, reads with icebird, and compaction and expiry find its files', async () => {
    const d = withSecondUriForm(new LocalDestination(root))
    const table = 'tables/new-form'
    await lifecycle(d, table)
    const uris = await recordedUris(d, table)
    expect(uris.length).toBeGreaterThan(3)
    expect(uris.filter((u) => !u.startsWith('file://localhost/'))).toEqual([])
    expect(runIds(await icebergRead({ tableUrl: d.tableUriOf(table) })).sort()).toEqual(
      ['f-1:000001', 'f-1:000002', 'f-1:000003', 'f-2:000004', 'f-2:000005', 'f-3:000006'].sort(),
    )
  })

  it('a table created in the uriOf form keeps it for later commits, compaction and expiry, and stays readable', async () => {
    const plain = new LocalDestination(root)
    const d = withSecondUriForm(plain)
    const table = 'tables/old-form'
    const { compacted } = await lifecycle(d, table, plain)
    expect(compacted.rewritten.every((u) => u.startsWith('file:///'))).toBe(true)
    const uris = await recordedUris(d, table)
    expect(uris.filter((u) => !u.startsWith('file:///'))).toEqual([])
    expect(runIds(await icebergRead({ tableUrl: plain.uriOf(table) })).sort()).toEqual(
      ['f-1:000001', 'f-1:000002', 'f-1:000003', 'f-2:000004', 'f-2:000005', 'f-3:000006'].sort(),
    )
  })
})
