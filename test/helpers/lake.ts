import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DuckDBInstance } from '@duckdb/node-api'
import type { Manifest } from '../../src/orchestrator/manifest.js'
import type { SapRow } from '../../src/simulator/index.js'

export type LakeRow = Record<string, string | number | boolean | null>

export async function readManifest(manifestUri: string): Promise<Manifest & { dir: string }> {
  const path = fileURLToPath(manifestUri)
  return { ...(JSON.parse(await readFile(path, 'utf8')) as Manifest), dir: dirname(path) }
}

let duck: Promise<DuckDBInstance> | undefined

/**
 * A run's rows as DuckDB reads them from the manifest's files, in file order: an independent
 * Parquet reader, values in DuckDB's JSON rendering (decimals and big integers as exact strings,
 * DATE as YYYY-MM-DD, TIME as HH:MM:SS[.ffffff]). Also checks each file's sha256 and size.
 */
export async function readRun(
  manifestUri: string,
): Promise<{ manifest: Manifest & { dir: string }; rows: LakeRow[]; types: Record<string, string> }> {
  const manifest = await readManifest(manifestUri)
  for (const f of manifest.files) {
    const bytes = await readFile(join(manifest.dir, f.path))
    if (bytes.length !== f.bytes) throw new Error(`${f.path}: ${bytes.length} bytes, manifest says ${f.bytes}`)
    const sha = createHash('sha256').update(bytes).digest('hex')
    if (sha !== f.sha256) throw new Error(`${f.path}: sha256 ${sha}, manifest says ${f.sha256}`)
  }
  if (!manifest.files.length) return { manifest, rows: [], types: {} }
  const conn = await (await (duck ??= DuckDBInstance.create(':memory:'))).connect()
  const list = manifest.files.map((f) => `'${join(manifest.dir, f.path).replaceAll("'", "''")}'`).join(', ')
  // file_row_number keeps SAP's delivery order across row groups and files.
  const reader = await conn.runAndReadAll(
    `SELECT * EXCLUDE (filename, file_row_number) FROM read_parquet([${list}], filename = true, file_row_number = true) ORDER BY filename, file_row_number`,
  )
  const types = Object.fromEntries(reader.columnNames().map((n, i) => [n, reader.columnTypes()[i].toString()]))
  const rows = reader.getRowObjectsJson() as LakeRow[]
  conn.closeSync()
  return { manifest, rows, types }
}

/** A simulator row (ABAP notation) as DuckDB renders the same value read from Parquet. */
/** DATS fields of the simulator's sets (DuckDB reads them as DATE). */
const DATS_FIELDS = ['ERDAT', 'ERSDA', 'LAEDA']

export function expectedLakeRow(r: SapRow): LakeRow {
  const out: LakeRow = {}
  for (const [k, v] of Object.entries(r)) out[k] = v
  const dats = (v: unknown) =>
    v === '00000000' || v == null ? null : `${String(v).slice(0, 4)}-${String(v).slice(4, 6)}-${String(v).slice(6, 8)}`
  const tims = (v: unknown) => (v == null ? null : `${String(v).slice(0, 2)}:${String(v).slice(2, 4)}:${String(v).slice(4, 6)}`)
  for (const f of DATS_FIELDS) if (f in r) out[f] = dats(r[f])
  if ('ERZET' in r) out.ERZET = tims(r.ERZET)
  return out
}

/** Only the given columns of a row (delta rows also carry the ODQ fields). */
export function pick(row: LakeRow, columns: string[]): LakeRow {
  return Object.fromEntries(columns.map((c) => [c, row[c] ?? null]))
}

export const keyOf = (r: { VBELN?: unknown; POSNR?: unknown }) => `${r.VBELN}/${r.POSNR}`
