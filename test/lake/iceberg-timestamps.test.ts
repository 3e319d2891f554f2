import { readFile } from 'node:fs/promises'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { icebergRead } from 'icebird'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { changeLogColumns, commitSnapshot, compact, planTableWrite, type TablePlan } from '../../src/lake/iceberg/index.js'
import { openDataFile } from '../../src/lake/iceberg/parquet-rows.js'
import type { Row } from '../../src/sap/fields.js'
import type { Destination } from '../../src/storage/destination.js'
import { LocalDestination } from '../../src/storage/local.js'
import { Duck, lit } from '../transform/helpers.js'
import { installFileFetch } from './file-fetch.js'
import { SOURCE, sourceRow, writeRunFiles } from './helpers.js'

/**
 * Timestamps in lake tables (docs/architecture.md#lake-tables, "Schema"): the tables' files hold
 * TIMESTAMP(MICROS, UTC) as Iceberg's timestamptz prescribes; DuckDB, icebird and the project's own
 * reader (parquet-rows.ts) read the instants that were written. Compaction writes MICROS whatever its
 * inputs hold, so the MILLIS files of a table written before become MICROS with the same values.
 */

const COLUMNS = changeLogColumns(SOURCE)
const CHANGED = COLUMNS.findIndex((c) => c.name === 'CHANGED')
const EXTRACTED = COLUMNS.findIndex((c) => c.name === '_EXTRACTED_AT')
/** SAP's range and the edges around the epoch, at millisecond precision. */
const INSTANTS = [
  Date.UTC(1, 0, 1),
  Date.UTC(1969, 11, 31, 23, 59, 59, 999),
  0,
  Date.UTC(2026, 11, 6, 1, 2, 3, 456),
  Date.UTC(9999, 11, 31, 23, 59, 59, 999),
]
const AT = new Date(Date.UTC(2026, 11, 6, 0, 30, 0, 7))

const rows = (run: string, instants: number[]): Row[] =>
  instants.map((ms, n) => {
    const r: Row = [...sourceRow('0000009000', `0000${String(n).padStart(2, '0')}`, n, 'C', '1'), run, AT]
    r[CHANGED] = new Date(ms)
    return r
  })

const changedOf = (read: Record<string, unknown>[]) =>
  read.map((r) => [String(r.POSNR), (r.CHANGED as Date).getTime(), (r._EXTRACTED_AT as Date).getTime()]).sort()

async function commitRun(d: Destination, table: string, run: string, instants: number[], unit?: TablePlan['parquet']['timestampUnit']) {
  const plan = await planTableWrite(d, table, COLUMNS)
  const parquet = unit ? { ...plan.parquet, timestampUnit: unit } : plan.parquet
  const files = await writeRunFiles(d, parquet, COLUMNS, rows(run, instants), run, 2)
  await commitSnapshot(d, plan, { files, summary: { runId: run } })
  return files
}

describe('timestamps in lake tables', () => {
  let root: string
  let duck: Duck
  let restore: () => void
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'de-lake-ts-'))
    duck = await Duck.open()
    restore = installFileFetch()
  })
  afterAll(async () => {
    restore?.()
    duck?.close()
    await rm(root, { recursive: true, force: true })
  })

  it('writes TIMESTAMP(MICROS, UTC) in table files; DuckDB, icebird and parquet-rows read the written instants', async () => {
    const d = new LocalDestination(root)
    const table = 'tables/micros'
    const plan = await planTableWrite(d, table, COLUMNS)
    expect(plan.parquet.timestampUnit).toBe('MICROS')
    const files = await commitRun(d, table, 'm-1', INSTANTS)

    const paths = files.map((f) => lit(join(root, f.key))).join(', ')
    const schema = await duck.query(
      `SELECT DISTINCT name, converted_type, logical_type FROM parquet_schema([${paths}]) WHERE name IN ('CHANGED', '_EXTRACTED_AT') ORDER BY name`,
    )
    expect(schema.rows.map((r) => r.slice(0, 2))).toEqual([
      ['CHANGED', 'TIMESTAMP_MICROS'],
      ['_EXTRACTED_AT', 'TIMESTAMP_MICROS'],
    ])
    const values = await duck.query(
      `SELECT POSNR, CAST(epoch_us(CHANGED) AS VARCHAR), CAST(epoch_ms(_EXTRACTED_AT) AS VARCHAR) FROM read_parquet([${paths}]) ORDER BY POSNR`,
    )
    expect(values.rows).toEqual(
      INSTANTS.map((ms, n) => [`0000${String(n).padStart(2, '0')}`, String(BigInt(ms) * 1000n), String(AT.getTime())]),
    )

    const expected = INSTANTS.map((ms, n) => [`0000${String(n).padStart(2, '0')}`, ms, AT.getTime()])
    expect(changedOf(await icebergRead({ tableUrl: d.tableUriOf(table) }))).toEqual(expected)

    const input = await openDataFile(await readFile(join(root, files[0].key)), files[0].key)
    const [first] = await input.readRowGroup(0)
    expect([(first[CHANGED] as Date).getTime(), (first[EXTRACTED] as Date).getTime()]).toEqual([INSTANTS[0], AT.getTime()])
    expect(input.layout.columns.map((c) => c.name)).toEqual(COLUMNS.map((c) => c.name))
  })

  it('compacts MILLIS files of a table written before together with MICROS ones into MICROS files with the same instants', async () => {
    const d = new LocalDestination(root)
    const table = 'tables/mixed-units'
    const old = await commitRun(d, table, 'o-1', INSTANTS.slice(0, 3), 'MILLIS')
    const fresh = await commitRun(d, table, 'n-1', INSTANTS.slice(3))
    const units = async (keys: string[]) =>
      (
        await duck.query(
          `SELECT DISTINCT converted_type FROM parquet_schema([${keys.map((k) => lit(join(root, k))).join(', ')}]) WHERE name = 'CHANGED'`,
        )
      ).rows.flat()
    expect(await units(old.map((f) => f.key))).toEqual(['TIMESTAMP_MILLIS'])
    expect(await units(fresh.map((f) => f.key))).toEqual(['TIMESTAMP_MICROS'])
    const before = changedOf(await icebergRead({ tableUrl: d.tableUriOf(table) }))
    expect(before.map((r) => r[1]).sort()).toEqual([...INSTANTS].sort())

    const result = await compact(d, table, { targetFileMb: 1, minInputFiles: 2 })
    // One group: the unit is not part of a file's layout, so old and new files share the output.
    expect(result.rewritten).toHaveLength(old.length + fresh.length)
    expect(result.added).toHaveLength(1)
    expect(await units(result.added)).toEqual(['TIMESTAMP_MICROS'])
    expect(changedOf(await icebergRead({ tableUrl: d.tableUriOf(table) }))).toEqual(before)
    const read = await duck.query(
      `SELECT POSNR, CAST(epoch_ms(CHANGED) AS VARCHAR) FROM read_parquet(${lit(join(root, result.added[0]))}) ORDER BY POSNR, _RUN_ID`,
    )
    const written = [
      ...INSTANTS.slice(0, 3).map((ms, n) => [n, 'o-1', ms] as const),
      ...INSTANTS.slice(3).map((ms, n) => [n, 'n-1', ms] as const),
    ].sort((x, y) => x[0] - y[0] || x[1].localeCompare(y[1]))
    expect(read.rows).toEqual(written.map(([n, , ms]) => [`0000${String(n).padStart(2, '0')}`, String(ms)]))
  })
})
