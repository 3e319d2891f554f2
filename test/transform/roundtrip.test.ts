/**
 * Every column kind written by ParquetRoller and read back by two independent readers: DuckDB (exact
 * values and SQL types) and hyparquet.
 */
import fs from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Column, Row, Value } from '../../src/sap/fields.js'
import { COLUMNS_METADATA_KEY, describeSchema } from '../../src/transform/index.js'
import { Duck, col, hypMetadata, hypRead, lit, makeTempDir, pageHeaders, removeDir, writeAll } from './helpers.js'

let dir: string
let duck: Duck

beforeAll(async () => {
  dir = makeTempDir()
  duck = await Duck.open()
})

afterAll(() => {
  duck.close()
  removeDir(dir)
})

const day = (iso: string) => new Date(`${iso}T00:00:00Z`)
const D37 = '9'.repeat(37)

interface Case {
  column: Column
  /** DuckDB type of the column. */
  duckType: string
  values: Value[]
  /** What DuckDB returns for `CAST(column AS VARCHAR)` (or the SQL given in `sql`). */
  duck: (string | null)[]
  sql?: (c: string) => string
}

// four rows; each case lists its column's four values
const cases: Case[] = [
  {
    column: col('VBELN', { kind: 'string', maxLength: 10 }, false, { key: true, sourceType: 'NUMC(10)' }),
    duckType: 'VARCHAR',
    values: ['0000012345', '0000000001', '0000000000', '9999999999'],
    duck: ['0000012345', '0000000001', '0000000000', '9999999999'],
  },
  {
    column: col('TEXT', { kind: 'string' }),
    duckType: 'VARCHAR',
    values: ['Größe Ø12 – naïve façade', '日本語テキスト 😀', '', null],
    duck: ['Größe Ø12 – naïve façade', '日本語テキスト 😀', '', null],
  },
  {
    column: col('NETWR', { kind: 'decimal', precision: 15, scale: 2 }, true, { sourceType: 'CURR(15,2)' }),
    duckType: 'DECIMAL(15,2)',
    values: ['-1234.5', '9999999999999.99', '-9999999999999.99', null],
    duck: ['-1234.50', '9999999999999.99', '-9999999999999.99', null],
  },
  {
    column: col('KWMENG', { kind: 'decimal', precision: 13, scale: 3 }, false, { sourceType: 'QUAN(13,3)' }),
    duckType: 'DECIMAL(13,3)',
    values: ['1.5', '-0.001', '9999999999.999', '0'],
    duck: ['1.500', '-0.001', '9999999999.999', '0.000'],
  },
  {
    column: col('KBETR', { kind: 'decimal', precision: 7, scale: 2 }),
    duckType: 'DECIMAL(7,2)',
    values: ['-99999.99', '12.3', '0', null],
    duck: ['-99999.99', '12.30', '0.00', null],
  },
  {
    column: col('AMT18', { kind: 'decimal', precision: 18, scale: 4 }),
    duckType: 'DECIMAL(18,4)',
    values: ['-99999999999999.9999', '12345678901234.5678', '0.0001', null],
    duck: ['-99999999999999.9999', '12345678901234.5678', '0.0001', null],
  },
  {
    column: col('DEC31', { kind: 'decimal', precision: 31, scale: 14 }),
    duckType: 'DECIMAL(31,14)',
    values: ['-12345678901234567.89012345678901', '99999999999999999.99999999999999', '0.00000000000001', null],
    duck: ['-12345678901234567.89012345678901', '99999999999999999.99999999999999', '0.00000000000001', null],
  },
  {
    column: col('DEC37', { kind: 'decimal', precision: 37, scale: 0 }),
    duckType: 'DECIMAL(37,0)',
    values: [D37, `-${D37}`, '1', '-1'],
    duck: [D37, `-${D37}`, '1', '-1'],
  },
  {
    // safe-integer and wider unscaled values side by side, negative ones of both kinds
    column: col('DEC25', { kind: 'decimal', precision: 25, scale: 2 }),
    duckType: 'DECIMAL(25,2)',
    values: ['-1234567890123.45', '12345678901234567890123.45', '-0.01', null],
    duck: ['-1234567890123.45', '12345678901234567890123.45', '-0.01', null],
  },
  {
    column: col('ERDAT', { kind: 'date' }, false),
    duckType: 'DATE',
    values: [day('2024-02-29'), day('0001-01-01'), day('9999-12-31'), day('1970-01-01')],
    duck: ['2024-02-29', '0001-01-01', '9999-12-31', '1970-01-01'],
  },
  {
    // SAP 00000000 arrives as null
    column: col('LFDAT', { kind: 'date' }),
    duckType: 'DATE',
    values: [null, day('1969-12-31'), null, day('2000-01-01')],
    duck: [null, '1969-12-31', null, '2000-01-01'],
  },
  {
    column: col('ERZET', { kind: 'time' }),
    duckType: 'TIME',
    values: [86_400_000_000, 0, 45_296_000_000, 1],
    duck: ['24:00:00', '00:00:00', '12:34:56', '00:00:00.000001'],
  },
  {
    column: col('CHANGED', { kind: 'timestamp' }),
    duckType: 'TIMESTAMP WITH TIME ZONE',
    values: [new Date('2023-11-14T22:13:20.123Z'), new Date(0), new Date(-1), null],
    duck: ['1700000000123', '0', '-1', null],
    sql: (c) => `CAST(epoch_ms(${c}) AS VARCHAR)`,
  },
  {
    column: col('I8', { kind: 'int8' }),
    duckType: 'TINYINT',
    values: [-128, 127, 0, null],
    duck: ['-128', '127', '0', null],
  },
  {
    column: col('U8', { kind: 'uint8' }),
    duckType: 'UTINYINT',
    values: [0, 255, 7, null],
    duck: ['0', '255', '7', null],
  },
  {
    column: col('I16', { kind: 'int16' }, false),
    duckType: 'SMALLINT',
    values: [-32768, 32767, 0, 1],
    duck: ['-32768', '32767', '0', '1'],
  },
  {
    column: col('I32', { kind: 'int32' }),
    duckType: 'INTEGER',
    values: [-2147483648, 2147483647, null, 42],
    duck: ['-2147483648', '2147483647', null, '42'],
  },
  {
    column: col('I64', { kind: 'int64' }),
    duckType: 'BIGINT',
    values: [-(2n ** 63n), 2n ** 63n - 1n, 0n, null],
    duck: ['-9223372036854775808', '9223372036854775807', '0', null],
  },
  {
    column: col('FLTP', { kind: 'double' }),
    duckType: 'DOUBLE',
    values: [-0.1, 1e300, 3.141592653589793, null],
    duck: ['-0.1', '1e+300', '3.141592653589793', null],
  },
  {
    column: col('FLAG', { kind: 'boolean' }),
    duckType: 'BOOLEAN',
    values: [true, false, null, true],
    duck: ['true', 'false', null, 'true'],
  },
  {
    column: col('RAW', { kind: 'binary' }),
    duckType: 'BLOB',
    values: [new Uint8Array([0, 1, 255]), new Uint8Array([]), null, new Uint8Array([0x80])],
    duck: ['0001FF', '', null, '80'],
    sql: (c) => `hex(${c})`,
  },
  {
    column: col('GUID', { kind: 'guid' }),
    duckType: 'VARCHAR',
    values: ['01234567-89ab-cdef-0123-456789abcdef', null, '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'],
    duck: ['01234567-89ab-cdef-0123-456789abcdef', null, '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'],
  },
  {
    column: col('ODQ_CHANGEMODE', { kind: 'string', maxLength: 1 }, false, { semantics: 'change-mode' }),
    duckType: 'VARCHAR',
    values: ['C', 'U', 'D', ''],
    duck: ['C', 'U', 'D', ''],
  },
  {
    column: col('ODQ_ENTITYCNTR', { kind: 'decimal', precision: 19, scale: 0 }, false, { semantics: 'entity-counter' }),
    duckType: 'DECIMAL(19,0)',
    values: ['1', '-1', '1', '9999999999999999999'],
    duck: ['1', '-1', '1', '9999999999999999999'],
  },
]

const columns = cases.map((c) => c.column)
const rows: Row[] = [0, 1, 2, 3].map((r) => cases.map((c) => c.values[r]))

describe('every column kind round-trips', () => {
  let file: string

  beforeAll(async () => {
    const files = await writeAll(columns, rows, { dir, kvMetadata: { 'pipeline.id': 'p1', 'run.id': 'r9' } })
    expect(files).toHaveLength(1)
    file = files[0].localPath
  })

  it('DuckDB reads the SQL types the column model implies', async () => {
    const r = await duck.query(`SELECT * FROM read_parquet(${lit(file)})`)
    expect(r.columns).toEqual(columns.map((c) => c.name))
    expect(Object.fromEntries(r.columns.map((c, i) => [c, r.types[i]]))).toEqual(
      Object.fromEntries(cases.map((c) => [c.column.name, c.duckType])),
    )
  })

  it('DuckDB reads back every value exactly', async () => {
    const select = cases.map((c) => `${c.sql ? c.sql(c.column.name) : `CAST(${c.column.name} AS VARCHAR)`} AS ${c.column.name}`)
    const r = await duck.query(`SELECT ${select.join(', ')} FROM read_parquet(${lit(file)})`)
    for (const [i, c] of cases.entries()) {
      expect([c.column.name, r.rows.map((row) => row[i])]).toEqual([c.column.name, c.duck])
    }
  })

  it('nullability: nullable columns are OPTIONAL, the others REQUIRED', async () => {
    const r = await duck.query(
      `SELECT name, repetition_type FROM parquet_schema(${lit(file)}) WHERE name <> 'duckdb_schema' AND num_children IS NULL`,
    )
    expect(Object.fromEntries(r.rows)).toEqual(Object.fromEntries(columns.map((c) => [c.name, c.nullable ? 'OPTIONAL' : 'REQUIRED'])))
  })

  it('hyparquet reads back the same values', async () => {
    const objects = await hypRead(file)
    expect(objects).toHaveLength(4)
    for (const c of cases) {
      const got = objects.map((o) => o[c.column.name])
      const kind = c.column.type.kind
      const expected = c.values.map((v) => {
        if (v === null) return null
        if (kind === 'time') return BigInt(v as number) // TIME(MICROS) comes back as raw µs
        if (kind === 'string' || kind === 'guid') return v
        return v
      })
      if (kind === 'decimal') {
        // hyparquet turns DECIMAL into floats; DuckDB above checks the exact digits
        got.forEach((g, i) => {
          const want = c.values[i]
          if (want === null) expect(g).toBeNull()
          else expect((g as number) - Number(want)).toBeCloseTo(0, Math.max(0, 14 - String(want).length))
        })
      } else if (kind === 'binary') {
        expect(got.map((g) => (g === null ? null : Array.from(g as Uint8Array)))).toEqual(
          c.values.map((v) => (v === null ? null : Array.from(v as Uint8Array))),
        )
      } else {
        expect([c.column.name, got]).toEqual([c.column.name, expected])
      }
    }
  })

  it('writes the footer metadata: caller keys, column descriptions, logical types', async () => {
    const kv = await duck.query(`SELECT decode(key), decode(value) FROM parquet_kv_metadata(${lit(file)})`)
    const map = Object.fromEntries(kv.rows as [string, string][])
    expect(map['pipeline.id']).toBe('p1')
    expect(map['run.id']).toBe('r9')
    expect(JSON.parse(map[COLUMNS_METADATA_KEY])).toEqual(describeSchema(columns))

    const meta = await hypMetadata(file)
    const byName = Object.fromEntries(meta.schema.map((e) => [e.name, e]))
    expect(byName.ERZET.logical_type).toEqual({ type: 'TIME', isAdjustedToUTC: false, unit: 'MICROS' })
    expect(byName.ERZET.converted_type).toBeUndefined()
    expect(byName.CHANGED.logical_type).toEqual({ type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' })
    expect(byName.NETWR).toMatchObject({ type: 'INT64', converted_type: 'DECIMAL', precision: 15, scale: 2 })
    expect(byName.KBETR).toMatchObject({ type: 'INT32', converted_type: 'DECIMAL', precision: 7, scale: 2 })
    expect(byName.DEC31).toMatchObject({ type: 'FIXED_LEN_BYTE_ARRAY', type_length: 13, precision: 31, scale: 14 })
    expect(byName.ERDAT).toMatchObject({ type: 'INT32', converted_type: 'DATE' })
    expect(byName.U8).toMatchObject({ type: 'INT32', converted_type: 'UINT_8' })
    expect(byName.TEXT).toMatchObject({ type: 'BYTE_ARRAY', converted_type: 'UTF8' })
    expect(meta.created_by).toBe('delta-extractor')
  })

  it('writes exact chunk statistics (min/max/null count)', async () => {
    const r = await duck.query(
      `SELECT path_in_schema, stats_min_value, stats_max_value, stats_null_count FROM parquet_metadata(${lit(file)})`,
    )
    const stats = Object.fromEntries(r.rows.map(([name, min, max, nulls]) => [name, [min, max, nulls]]))
    expect(stats.VBELN).toEqual(['0000000000', '9999999999', '0'])
    expect(stats.NETWR).toEqual(['-9999999999999.99', '9999999999999.99', '1'])
    expect(stats.KBETR).toEqual(['-99999.99', '12.30', '1'])
    expect(stats.DEC37).toEqual([`-${D37}`, D37, '0'])
    expect(stats.DEC25).toEqual(['-1234567890123.45', '12345678901234567890123.45', '1'])
    expect(stats.AMT18).toEqual(['-99999999999999.9999', '12345678901234.5678', '1'])
    expect(stats.ERDAT).toEqual(['0001-01-01', '9999-12-31', '0'])
    expect(stats.ERZET).toEqual(['00:00:00', '24:00:00', '0'])
    expect(stats.I64).toEqual(['-9223372036854775808', '9223372036854775807', '1'])
    expect(stats.TEXT).toEqual(['', '日本語テキスト 😀', '1'])
    expect(stats.FLAG).toEqual(['false', 'true', '1'])
  })
})

describe('encodings', () => {
  it('dictionary-encodes repetitive columns, keeps distinct ones PLAIN, and switches mid-row-group', async () => {
    const columns = [
      col('WAERK', { kind: 'string' }, false),
      col('DOCID', { kind: 'string' }, false),
      col('SWITCH', { kind: 'string' }),
      col('ERDAT', { kind: 'date' }),
      col('AMOUNT', { kind: 'decimal', precision: 15, scale: 2 }),
    ]
    const currencies = ['EUR', 'USD', 'JPY', 'CHF']
    const n = 20_000
    const rows: Row[] = Array.from({ length: n }, (_, i) => [
      currencies[i % 4],
      `doc-${i}-${'x'.repeat(i % 7)}`,
      i % 11 === 0 ? null : i < 5000 ? `rep-${i % 3}` : `uniq-${i}`, // starts repetitive, then all distinct
      i % 5 === 0 ? null : day(`2024-01-${String((i % 28) + 1).padStart(2, '0')}`),
      `${i * 7}.${String(i % 100).padStart(2, '0')}`,
    ])
    const [file] = await writeAll(columns, rows, { dir, fileName: () => 'encodings.parquet' }, 3000)
    const meta = await duck.query(`SELECT path_in_schema, encodings FROM parquet_metadata(${lit(file.localPath)})`)
    expect(Object.fromEntries(meta.rows)).toEqual({
      WAERK: 'PLAIN, RLE, RLE_DICTIONARY',
      DOCID: 'PLAIN, RLE',
      SWITCH: 'PLAIN, RLE',
      ERDAT: 'PLAIN, RLE, RLE_DICTIONARY',
      AMOUNT: 'PLAIN, RLE',
    })
    expect((await pageHeaders(file.localPath, 'WAERK')).map((p) => [p.type, p.encoding, p.values])).toEqual([
      ['DICTIONARY_PAGE', 'PLAIN', 4],
      ['DATA_PAGE', 'RLE_DICTIONARY', n],
    ])
    const back = await duck.query(
      `SELECT WAERK, DOCID, SWITCH, CAST(ERDAT AS VARCHAR), CAST(AMOUNT AS VARCHAR) FROM read_parquet(${lit(file.localPath)})`,
    )
    expect(back.rows).toEqual(rows.map((r) => [r[0], r[1], r[2], r[3] === null ? null : (r[3] as Date).toISOString().slice(0, 10), r[4]]))
  })

  it('splits large chunks into pages and keeps nulls aligned across page boundaries', async () => {
    const columns = [col('ID', { kind: 'int32' }, false), col('LONGTEXT', { kind: 'string' }), col('N', { kind: 'int64' })]
    const n = 6000
    const big = (i: number) => `${i}:${'é'.repeat(400)}${'z'.repeat(i % 97)}`
    const rows: Row[] = Array.from({ length: n }, (_, i) => [
      i,
      i % 3 === 1 ? null : big(i),
      i % 4 === 0 ? null : BigInt(i) * 1_000_000_007n,
    ])
    const [file] = await writeAll(columns, rows, { dir, fileName: () => 'pages.parquet' })
    const pages = await pageHeaders(file.localPath, 'LONGTEXT')
    expect(pages.length).toBeGreaterThanOrEqual(3)
    expect(pages.every((p) => p.type === 'DATA_PAGE' && p.encoding === 'PLAIN')).toBe(true)
    expect(pages.reduce((s, p) => s + (p.values ?? 0), 0)).toBe(n)
    for (const p of pages) expect(p.uncompressed).toBeLessThan(1.2 * 1024 * 1024)
    const back = await duck.query(`SELECT ID, LONGTEXT, CAST(N AS VARCHAR) FROM read_parquet(${lit(file.localPath)}) ORDER BY ID`)
    expect(back.rows).toEqual(rows.map((r) => [r[0], r[1], r[2] === null ? null : String(r[2])]))
    const objects = await hypRead(file.localPath)
    expect(objects.map((o) => o.LONGTEXT)).toEqual(rows.map((r) => r[1]))
    expect(objects.map((o) => o.N)).toEqual(rows.map((r) => r[2]))
  })

  it('keeps special doubles: NaN, ±Infinity, -0', async () => {
    const columns = [col('F', { kind: 'double' }, false)]
    const values = [NaN, Infinity, -Infinity, -0, 0, 5e-324, -1.7976931348623157e308]
    const [file] = await writeAll(
      columns,
      values.map((v) => [v]),
      { dir, fileName: () => 'doubles.parquet' },
    )
    const objects = await hypRead(file.localPath)
    expect(objects.map((o) => o.F)).toEqual(values) // toEqual tells -0 from 0 and NaN from NaN
    const back = await duck.query(`SELECT CAST(F AS VARCHAR), signbit(F) FROM read_parquet(${lit(file.localPath)})`)
    expect(back.rows).toEqual([
      ['nan', false],
      ['inf', false],
      ['-inf', true],
      ['-0.0', true],
      ['0.0', false],
      ['5e-324', false],
      ['-1.7976931348623157e+308', true],
    ])
    // NaN is left out of min/max (DuckDB does not show float statistics; hyparquet does)
    const meta = await hypMetadata(file.localPath)
    const stats = meta.row_groups[0].columns[0].meta_data?.statistics
    expect(stats).toMatchObject({ min_value: -Infinity, max_value: Infinity, null_count: 0n })
  })

  it('keeps every kind exact across many small pages, including pages of nulls only', async () => {
    // the round-trip columns again, 2000 rows cycling through their values, with runs of nulls in
    // nullable columns, cut into pages of ~40 bytes: dictionary and PLAIN pages, bit-packed
    // booleans and definition levels all start and end mid-stream
    const n = 2000
    const nulls = (i: number) => i % 500 >= 100 && i % 500 < 300 // 200-row runs of null
    const data: Row[] = Array.from({ length: n }, (_, i) =>
      cases.map((c) => (c.column.nullable && nulls(i) ? null : c.values[(i * 7 + (i >> 3)) % 4])),
    )
    const want = (i: number, k: number) => {
      const c = cases[k]
      const v = data[i][k]
      return v === null ? null : c.duck[c.values.indexOf(v)]
    }
    const [file] = await writeAll(columns, data, { dir, fileName: () => 'small-pages.parquet', pageBytes: 40 }, 333)
    for (const c of cases) {
      const pages = await pageHeaders(file.localPath, c.column.name)
      expect([c.column.name, pages.filter((p) => p.type === 'DATA_PAGE').length > 5]).toEqual([c.column.name, true])
      expect(pages.reduce((s, p) => s + (p.type === 'DATA_PAGE' ? (p.values ?? 0) : 0), 0)).toBe(n)
    }
    const select = cases.map((c) => `${c.sql ? c.sql(c.column.name) : `CAST(${c.column.name} AS VARCHAR)`}`)
    const back = await duck.query(`SELECT ${select.join(', ')} FROM read_parquet(${lit(file.localPath)})`)
    expect(back.rows).toEqual(data.map((_, i) => cases.map((_, k) => want(i, k))))
    const objects = await hypRead(file.localPath)
    expect(objects.map((o) => o.VBELN)).toEqual(data.map((r) => r[0]))
    expect(objects.map((o) => o.LFDAT)).toEqual(data.map((r) => r[cases.findIndex((c) => c.column.name === 'LFDAT')]))
    expect(objects.map((o) => o.FLAG)).toEqual(data.map((r) => r[cases.findIndex((c) => c.column.name === 'FLAG')]))
  })

  it('writes all-null chunks and lone UTF-16 surrogates (as U+FFFD, like TextEncoder)', async () => {
    const columns = [col('EMPTY', { kind: 'string' }), col('NODATE', { kind: 'date' }), col('S', { kind: 'string' }, false)]
    const rows: Row[] = [
      [null, null, 'ok'],
      [null, null, 'a\uD800b'],
      [null, null, '\uDFFF'],
    ]
    const [file] = await writeAll(columns, rows, { dir, fileName: () => 'nulls.parquet' })
    const back = await duck.query(`SELECT EMPTY, NODATE, S FROM read_parquet(${lit(file.localPath)})`)
    expect(back.rows).toEqual([
      [null, null, 'ok'],
      [null, null, 'a\uFFFDb'],
      [null, null, '\uFFFD'],
    ])
    expect(fs.statSync(file.localPath).size).toBe(file.bytes)
  })
})
