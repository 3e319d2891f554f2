/**
 * ParquetRoller behaviour: row groups, file rolling, checksums, zero rows, errors, abort, codecs.
 */
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Column, Row } from '../../src/sap/fields.js'
import {
  ParquetRoller,
  SUPPORTED_COMPRESSIONS,
  UnsupportedCompressionError,
  ValueConversionError,
  type Compression,
  type ParquetOutputOptions,
  type WrittenFile,
} from '../../src/transform/index.js'
import { Duck, col, hypMetadata, lit, makeTempDir, partName, removeDir, sha256File, writeAll } from './helpers.js'

let dir: string
let duck: Duck

beforeAll(async () => {
  duck = await Duck.open()
})
afterAll(() => duck.close())
beforeEach(() => {
  dir = makeTempDir()
})
afterEach(() => removeDir(dir))

const columns: Column[] = [
  col('VBELN', { kind: 'string' }, false, { key: true }),
  col('POSNR', { kind: 'string' }, false, { key: true }),
  col('TEXT', { kind: 'string' }),
  col('ERDAT', { kind: 'date' }),
  col('NETWR', { kind: 'decimal', precision: 15, scale: 2 }),
  col('ZAEHL', { kind: 'int32' }, false),
]

function sampleRows(n: number, offset = 0): Row[] {
  return Array.from({ length: n }, (_, k) => {
    const i = k + offset
    return [
      String(Math.floor(i / 5) + 1).padStart(10, '0'),
      String(((i % 5) + 1) * 10).padStart(6, '0'),
      i % 13 === 0 ? null : `Position ${i} – ${'abcdefghij'.slice(0, i % 10)}`,
      i % 9 === 0 ? null : new Date(Date.UTC(2020, 0, 1 + (i % 1500))),
      `${(i * 37) % 100000}.${String(i % 100).padStart(2, '0')}`,
      i,
    ]
  })
}

function roller(opts: Partial<ParquetOutputOptions> = {}, cols = columns): ParquetRoller {
  return new ParquetRoller(cols, {
    dir,
    fileName: partName,
    compression: 'SNAPPY',
    rowGroupRows: 1000,
    maxFileBytes: 1 << 30,
    ...opts,
  })
}

async function rowGroupSizes(file: string): Promise<number[]> {
  const r = await duck.query(`SELECT DISTINCT row_group_id, row_group_num_rows FROM parquet_metadata(${lit(file)}) ORDER BY row_group_id`)
  return r.rows.map((row) => Number(row[1]))
}

describe('row groups', () => {
  it('writes row groups of exactly rowGroupRows, whatever the batch sizes', async () => {
    const r = roller({ rowGroupRows: 1000 })
    const rows = sampleRows(3500)
    // uneven batches that straddle group boundaries
    for (const [from, to] of [
      [0, 300],
      [300, 301],
      [301, 2999],
      [2999, 3500],
    ]) {
      expect(await r.write(rows.slice(from, to))).toEqual([])
    }
    expect(r.rowsWritten).toBe(3000)
    expect(r.rowsBuffered).toBe(500)
    const files = await r.finish()
    expect(r.rowsWritten).toBe(3500)
    expect(files).toHaveLength(1)
    expect(await rowGroupSizes(files[0].localPath)).toEqual([1000, 1000, 1000, 500])
    const meta = await hypMetadata(files[0].localPath)
    expect(meta.row_groups.map((g) => Number(g.num_rows))).toEqual([1000, 1000, 1000, 500])
    expect(Number(meta.num_rows)).toBe(3500)
    // and the rows are all there, in order
    const back = await duck.query(`SELECT ZAEHL FROM read_parquet(${lit(files[0].localPath)})`)
    expect(back.rows.map((x) => x[0])).toEqual(rows.map((x) => x[5]))
  })

  it('holds at most one row group of rows (memory is bounded by rowGroupRows)', async () => {
    const r = roller({ rowGroupRows: 250 })
    for (let i = 0; i < 8; i++) {
      await r.write(sampleRows(100, i * 100))
      expect(r.rowsBuffered).toBeLessThan(250)
      expect(r.rowsWritten + r.rowsBuffered).toBe((i + 1) * 100)
    }
    await r.finish()
  })
})

describe('rolling files', () => {
  it('rolls to a new file once the current one reaches maxFileBytes', async () => {
    const maxFileBytes = 60_000
    const r = roller({ rowGroupRows: 500, maxFileBytes })
    const rows = sampleRows(20_000)
    const files: WrittenFile[] = []
    let returnedEarly = 0
    for (let i = 0; i < rows.length; i += 1234) {
      const done = await r.write(rows.slice(i, i + 1234))
      returnedEarly += done.length
      files.push(...done)
    }
    files.push(...(await r.finish()))
    expect(returnedEarly).toBeGreaterThan(0) // finished files come back while rows still arrive
    expect(files.length).toBeGreaterThan(3)
    expect(files.map((f) => f.index)).toEqual(files.map((_, i) => i))
    expect(files.map((f) => f.fileName)).toEqual(files.map((_, i) => partName(i)))
    expect(files.map((f) => f.localPath)).toEqual(files.map((_, i) => path.join(dir, partName(i))))
    expect(fs.readdirSync(dir).sort()).toEqual(files.map((f) => f.fileName))
    expect(files.reduce((s, f) => s + f.rows, 0)).toBe(rows.length)

    for (const [i, f] of files.entries()) {
      const meta = (await duck.query(`SELECT footer_size, num_rows FROM parquet_file_metadata(${lit(f.localPath)})`)).rows[0]
      const footer = Number(meta[0]) + 8 // + length + magic
      expect(Number(meta[1])).toBe(f.rows)
      const groups = await duck.query(
        `SELECT row_group_id, sum(total_compressed_size) FROM parquet_metadata(${lit(f.localPath)}) GROUP BY ALL ORDER BY 1`,
      )
      const lastGroup = Number(groups.rows.at(-1)?.[1])
      const dataEnd = f.bytes - footer
      // it did not roll before its last row group…
      expect(dataEnd - lastGroup).toBeLessThan(maxFileBytes)
      // …and every file but the last rolled because it had reached the limit
      if (i < files.length - 1) expect(dataEnd).toBeGreaterThanOrEqual(maxFileBytes)
      expect(f.bytes).toBeLessThanOrEqual(maxFileBytes + lastGroup + footer)
    }

    const all = await duck.query(
      `SELECT count(*), sum(ZAEHL), count(DISTINCT VBELN || POSNR) FROM read_parquet(${lit(path.join(dir, '*.parquet'))})`,
    )
    expect(all.rows[0].map(Number)).toEqual([rows.length, (rows.length * (rows.length - 1)) / 2, rows.length])
  })

  it('reports bytes and sha256 that match the files on disk', async () => {
    const files = await writeAll(columns, sampleRows(5000), { dir, rowGroupRows: 700, maxFileBytes: 30_000 }, 999)
    expect(files.length).toBeGreaterThan(1)
    for (const f of files) {
      expect(f.bytes).toBe(fs.statSync(f.localPath).size)
      expect(f.sha256).toBe(sha256File(f.localPath))
      expect(f.sha256).toMatch(/^[0-9a-f]{64}$/)
    }
  })

  it('streams a row group larger than the in-memory buffer to disk while encoding it', async () => {
    // ~42 MB of incompressible-by-UNCOMPRESSED text in one row group: the sink spills past 32 MiB
    const cols = [col('ID', { kind: 'int32' }, false), col('BLOB', { kind: 'string' }, false)]
    const n = 3000
    const rows: Row[] = Array.from({ length: n }, (_, i) => [i, `${i}:${'x'.repeat(14_000)}`])
    const [file] = await writeAll(cols, rows, { dir, compression: 'UNCOMPRESSED', rowGroupRows: n })
    expect(file.bytes).toBeGreaterThan(40 * 2 ** 20)
    expect(file.bytes).toBe(fs.statSync(file.localPath).size)
    expect(file.sha256).toBe(sha256File(file.localPath))
    const back = await duck.query(`SELECT count(*), sum(ID), sum(length(BLOB)) FROM read_parquet(${lit(file.localPath)})`)
    expect(back.rows[0].map(Number)).toEqual([n, (n * (n - 1)) / 2, rows.reduce((s, r) => s + (r[1] as string).length, 0)])
  })

  it('writes no file at all for zero rows', async () => {
    const r = roller()
    expect(await r.write([])).toEqual([])
    expect(await r.finish()).toEqual([])
    expect(r.rowsWritten).toBe(0)
    expect(fs.readdirSync(dir)).toEqual([])
  })

  it('never leaves an empty file when the last row group closed a file', async () => {
    // every row group reaches maxFileBytes, so each rolls; finish() must not open another file
    const files = await writeAll(columns, sampleRows(3000), { dir, rowGroupRows: 1000, maxFileBytes: 1 }, 500)
    expect(files.map((f) => f.rows)).toEqual([1000, 1000, 1000])
    expect(fs.readdirSync(dir)).toHaveLength(3)
  })
})

describe('errors and abort', () => {
  it('names the column, the row and the value of a conversion error, and fails the roller', async () => {
    const r = roller({ rowGroupRows: 100 })
    await r.write(sampleRows(150))
    const bad = sampleRows(10, 150)
    bad[7][4] = '12.345'
    const e = await r.write(bad).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(ValueConversionError)
    expect(e).toMatchObject({ column: 'NETWR', row: 157, value: '12.345' })
    expect((e as Error).message).toBe(
      'column NETWR, row 157: "12.345" has 3 fraction digits, DECIMAL(15,2) allows 2 (values are never rounded)',
    )
    await expect(r.write(sampleRows(1))).rejects.toThrow('the roller is failed')
    await expect(r.finish()).rejects.toThrow('the roller is failed')
    expect(fs.readdirSync(dir)).toEqual([partName(0)]) // the partial file, until abort
    await r.abort()
    expect(fs.readdirSync(dir)).toEqual([])
  })

  it('refuses a null in a non-nullable column', async () => {
    const r = roller()
    const rows = sampleRows(3)
    rows[2][0] = null
    await expect(r.write(rows)).rejects.toThrow('column VBELN, row 2: null is null, but the column is not nullable')
    await r.abort()
  })

  it('refuses rows that do not match the column list', async () => {
    const r = roller()
    await expect(r.write([['only', 'three', 'values']])).rejects.toThrow('row 0 has 3 values, the schema has 6 columns')
    await r.abort()
  })

  it('abort() deletes the partial file but leaves files already handed out', async () => {
    const r = roller({ rowGroupRows: 500, maxFileBytes: 20_000 })
    const done: WrittenFile[] = []
    let offset = 0
    while (done.length === 0) {
      done.push(...(await r.write(sampleRows(500, offset))))
      offset += 500
    }
    // one more row group goes into the next file, which stays below the limit
    expect(await r.write(sampleRows(500, offset))).toEqual([])
    const partial = fs.readdirSync(dir).filter((f) => !done.some((d) => d.fileName === f))
    expect(partial).toHaveLength(1)
    await r.abort()
    expect(fs.readdirSync(dir).sort()).toEqual(done.map((d) => d.fileName))
    await r.abort() // idempotent
    await expect(r.write(sampleRows(1))).rejects.toThrow('the roller is aborted')
  })

  it('deletes files finished by a write() that then failed', async () => {
    const r = roller({ rowGroupRows: 100, maxFileBytes: 1 })
    const rows = sampleRows(350)
    rows[320][3] = 'not a date'
    await expect(r.write(rows)).rejects.toThrow('column ERDAT, row 320')
    expect(fs.readdirSync(dir)).toHaveLength(3) // finished by the failed call, never returned
    await r.abort()
    expect(fs.readdirSync(dir)).toEqual([])
  })

  it('refuses overlapping calls', async () => {
    const r = roller({ rowGroupRows: 10 })
    const first = r.write(sampleRows(100))
    await expect(r.write(sampleRows(1))).rejects.toThrow('still in progress')
    await first
    await r.finish()
  })

  it('validates its options', () => {
    expect(() => roller({ rowGroupRows: 0 })).toThrow(RangeError)
    expect(() => roller({ rowGroupRows: 1.5 })).toThrow(RangeError)
    expect(() => roller({ maxFileBytes: 0 })).toThrow(RangeError)
  })
})

describe('compression', () => {
  it('lists only codecs that work here', () => {
    expect(SUPPORTED_COMPRESSIONS).toContain('SNAPPY')
    expect(SUPPORTED_COMPRESSIONS).toContain('GZIP')
    expect(SUPPORTED_COMPRESSIONS).toContain('UNCOMPRESSED')
    const zstd = typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === 'function'
    expect(SUPPORTED_COMPRESSIONS.includes('ZSTD')).toBe(zstd)
  })

  it.each(['SNAPPY', 'GZIP', 'ZSTD', 'UNCOMPRESSED'] as Compression[])('%s: files DuckDB reads, codec in the metadata', async (codec) => {
    if (!SUPPORTED_COMPRESSIONS.includes(codec)) {
      expect(() => roller({ compression: codec })).toThrow(UnsupportedCompressionError)
      expect(() => roller({ compression: codec })).toThrow(`compression "${codec}" is not available here`)
      return
    }
    const rows = sampleRows(3000)
    const [file] = await writeAll(columns, rows, { dir, compression: codec, rowGroupRows: 1000 })
    const meta = await duck.query(`SELECT DISTINCT compression FROM parquet_metadata(${lit(file.localPath)})`)
    expect(meta.rows).toEqual([[codec]])
    const back = await duck.query(
      `SELECT VBELN, POSNR, TEXT, CAST(ERDAT AS VARCHAR), CAST(NETWR AS VARCHAR), ZAEHL FROM read_parquet(${lit(file.localPath)})`,
    )
    expect(back.rows).toEqual(
      rows.map((r) => [r[0], r[1], r[2], r[3] === null ? null : (r[3] as Date).toISOString().slice(0, 10), r[4], r[5]]),
    )
  })

  it('compresses: SNAPPY and GZIP files are smaller than UNCOMPRESSED', async () => {
    const rows = sampleRows(5000)
    const size = async (compression: Compression) =>
      (await writeAll(columns, rows, { dir: fs.mkdtempSync(path.join(dir, 'c')), compression }))[0].bytes
    const plain = await size('UNCOMPRESSED')
    expect(await size('SNAPPY')).toBeLessThan(plain)
    expect(await size('GZIP')).toBeLessThan(await size('SNAPPY'))
  })
})
