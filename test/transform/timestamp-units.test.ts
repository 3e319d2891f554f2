import { mkdirSync } from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Column, Row } from '../../src/sap/fields.js'
import { timestampToMicros } from '../../src/transform/convert.js'
import { describeSchema, parquetSchema } from '../../src/transform/index.js'
import { col, Duck, hypMetadata, hypRead, lit, makeTempDir, removeDir, writeAll } from './helpers.js'

/**
 * TIMESTAMP columns in either unit (docs/architecture.md#transform, "Schema"): MILLIS, what every
 * NONE pipeline writes, and MICROS, what lake tables' files hold (Iceberg's timestamptz). The same
 * Dates read back the same from both, in DuckDB and hyparquet, across SAP's whole range.
 */

const CHANGED = col('CHANGED', { kind: 'timestamp' })
const KEY = col('N', { kind: 'int32' }, false)
const COLUMNS: Column[] = [KEY, CHANGED]
const MIN = Date.UTC(1, 0, 1) // 0001-01-01, SAP's smallest date
const MAX = Date.UTC(9999, 11, 31, 23, 59, 59, 999) // SAP's "forever"

describe('timestamp units', () => {
  let dir: string
  let duck: Duck
  let n = 0
  beforeAll(async () => {
    dir = makeTempDir()
    duck = await Duck.open()
  })
  afterAll(() => {
    duck?.close()
    removeDir(dir)
  })

  it('describes MILLIS by default and MICROS when asked, with the matching converted type', () => {
    expect(describeSchema([CHANGED])[0].logicalType).toBe('TIMESTAMP(MILLIS,UTC)')
    expect(describeSchema([CHANGED], { timestampUnit: 'MICROS' })[0].logicalType).toBe('TIMESTAMP(MICROS,UTC)')
    expect(parquetSchema([CHANGED])[1]).toMatchObject({ type: 'INT64', converted_type: 'TIMESTAMP_MILLIS' })
    expect(parquetSchema([CHANGED], undefined, { timestampUnit: 'MICROS' })[1]).toMatchObject({
      type: 'INT64',
      converted_type: 'TIMESTAMP_MICROS',
      logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
    })
    // Beyond 2^53 µs, exactly: 9999-12-31 23:59:59.999.
    expect(timestampToMicros(new Date(MAX), CHANGED)).toBe(253_402_300_799_999_000n)
    expect(timestampToMicros(new Date(-1), CHANGED)).toBe(-1000n)
  })

  it('writes the same instants in MILLIS and MICROS: DuckDB and hyparquet read equal Dates, MICROS holds ms × 1000 (fast-check)', async () => {
    const instant = fc.oneof(fc.integer({ min: MIN, max: MAX }), fc.constantFrom(MIN, MAX, 0, -1, 1, Date.UTC(2026, 11, 6, 1, 2, 3, 456)))
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(instant, { nil: null, freq: 5 }), { minLength: 1, maxLength: 40 }), async (values) => {
        const rows: Row[] = values.map((v, i) => [i, v === null ? null : new Date(v)])
        const files: Record<string, string> = {}
        for (const unit of ['MILLIS', 'MICROS'] as const) {
          const sub = path.join(dir, `${unit}-${n++}`)
          mkdirSync(sub)
          const [file] = await writeAll(COLUMNS, rows, { dir: sub, timestampUnit: unit, rowGroupRows: 16 })
          files[unit] = file.localPath
          const meta = await hypMetadata(file.localPath)
          expect(meta.schema[2].logical_type).toEqual({ type: 'TIMESTAMP', isAdjustedToUTC: true, unit })
          // hyparquet, a second reader: the same Dates back.
          expect((await hypRead(file.localPath)).map((r) => (r.CHANGED === null ? null : (r.CHANGED as Date).getTime()))).toEqual(values)
        }
        const read = await duck.query(
          `SELECT a.N, CAST(epoch_ms(a.CHANGED) AS VARCHAR), CAST(epoch_ms(b.CHANGED) AS VARCHAR), CAST(epoch_us(b.CHANGED) AS VARCHAR), typeof(b.CHANGED)
           FROM read_parquet(${lit(files.MILLIS)}) a JOIN read_parquet(${lit(files.MICROS)}) b USING (N) ORDER BY a.N`,
        )
        expect(read.rows).toEqual(
          values.map((v, i) => [
            i,
            v === null ? null : String(v),
            v === null ? null : String(v),
            v === null ? null : String(BigInt(v) * 1000n),
            'TIMESTAMP WITH TIME ZONE',
          ]),
        )
        // Chunk statistics in the file's unit.
        const stats = await duck.query(
          `SELECT stats_min_value, stats_max_value FROM parquet_metadata(${lit(files.MICROS)}) WHERE path_in_schema = 'CHANGED' AND row_group_id = 0`,
        )
        const firstGroup = values.slice(0, 16).filter((v): v is number => v !== null)
        if (firstGroup.length) {
          const iso = (ms: number) => new Date(ms).toISOString()
          const [min, max] = stats.rows[0] as [string, string]
          // DuckDB prints `0001-01-01 00:00:00+00`.
          const parsed = (text: string) => new Date(text.replace(' ', 'T').replace(/\+00$/, 'Z')).toISOString()
          expect([parsed(min), parsed(max)]).toEqual([iso(Math.min(...firstGroup)), iso(Math.max(...firstGroup))])
        }
      }),
      { numRuns: 25, seed: 1313 },
    )
  })
})
