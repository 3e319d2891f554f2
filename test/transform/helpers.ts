/**
 * Test helpers: temp dirs, DuckDB (the independent reference reader) and hyparquet (a second reader).
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import type { Column, Row } from '../../src/sap/fields.js'
import { ParquetRoller, type ParquetOutputOptions, type WrittenFile } from '../../src/transform/index.js'

export function makeTempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'transform-test-'))
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true })
}

export const partName = (i: number): string => `part-${String(i).padStart(5, '0')}.parquet`

/** Writes all rows (in batches) and finishes; returns every finished file in order. */
export async function writeAll(
  columns: Column[],
  rows: Row[],
  opts: Partial<ParquetOutputOptions> & { dir: string },
  batch = 1000,
): Promise<WrittenFile[]> {
  const roller = new ParquetRoller(columns, {
    fileName: partName,
    compression: 'SNAPPY',
    rowGroupRows: 100_000,
    maxFileBytes: 1 << 30,
    ...opts,
  })
  const files: WrittenFile[] = []
  for (let i = 0; i < rows.length; i += batch) files.push(...(await roller.write(rows.slice(i, i + batch))))
  files.push(...(await roller.finish()))
  return files
}

export interface QueryResult {
  columns: string[]
  types: string[]
  rows: unknown[][]
}

export class Duck {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  static async open(): Promise<Duck> {
    const instance = await DuckDBInstance.create(':memory:', { threads: '1' })
    return new Duck(instance, await instance.connect())
  }

  /** Runs SQL; values as DuckDB's JSON forms (exact text for DECIMAL, BIGINT, DATE, TIME…). */
  async query(sql: string): Promise<QueryResult> {
    const r = await this.conn.runAndReadAll(sql)
    return { columns: r.columnNames(), types: r.columnTypes().map(String), rows: r.getRowsJson() }
  }

  close(): void {
    this.conn.closeSync()
    this.instance.closeSync()
  }
}

/** A path as a SQL string literal. */
export function lit(p: string): string {
  return `'${p.replaceAll("'", "''")}'`
}

export async function hypRead(file: string): Promise<Record<string, unknown>[]> {
  const buf = await asyncBufferFromFile(file)
  return parquetReadObjects({ file: buf, compressors, utf8: false })
}

export async function hypMetadata(file: string) {
  return parquetMetadataAsync(await asyncBufferFromFile(file))
}

export function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex')
}

export const col = (name: string, type: Column['type'], nullable = true, extra: Partial<Column> = {}): Column => ({
  name,
  type,
  nullable,
  key: false,
  ...extra,
})

/** The page headers of one column chunk, parsed by hyparquet (type, encoding, value count per page). */
export async function pageHeaders(file: string, column: string, rowGroup = 0) {
  const { parquetHeader } = await import('hyparquet/src/column.js')
  const meta = await hypMetadata(file)
  const chunk = meta.row_groups[rowGroup].columns.find((c) => c.meta_data?.path_in_schema.join('.') === column)
  if (!chunk?.meta_data) throw new Error(`no column ${column}`)
  const bytes = fs.readFileSync(file)
  const start = Number(chunk.meta_data.dictionary_page_offset ?? chunk.meta_data.data_page_offset)
  const end = start + Number(chunk.meta_data.total_compressed_size)
  const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: start }
  const headers = []
  while (reader.offset < end) {
    const h = parquetHeader(reader)
    headers.push({
      type: h.type,
      encoding: h.data_page_header?.encoding ?? h.dictionary_page_header?.encoding,
      values: h.data_page_header?.num_values ?? h.dictionary_page_header?.num_values,
      uncompressed: h.uncompressed_page_size,
    })
    reader.offset += h.compressed_page_size
  }
  return headers
}
