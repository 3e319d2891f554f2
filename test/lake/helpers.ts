/**
 * Test helpers for lake tables: a tiny SAP-shaped column list, rows in the column model's JS forms,
 * and a run's files written with the real ParquetRoller and uploaded with the real Destination.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadTable, type CommitFile, type TablePlan } from '../../src/lake/iceberg/index.js'
import { readSnapshotFiles, referencedUris } from '../../src/lake/iceberg/snapshot-files.js'
import type { Column, Row } from '../../src/sap/fields.js'
import type { Destination } from '../../src/storage/destination.js'
import { ParquetRoller } from '../../src/transform/index.js'

const c = (name: string, type: Column['type'], nullable = true, key = false): Column => ({ name, type, nullable, key })

/** One column of every kind the column model has, keyed like a sales document item. */
export const SOURCE: Column[] = [
  c('VBELN', { kind: 'string', maxLength: 10 }, false, true),
  c('POSNR', { kind: 'string', maxLength: 6 }, false, true),
  c('NETWR', { kind: 'decimal', precision: 15, scale: 2 }),
  c('BIGAMT', { kind: 'decimal', precision: 25, scale: 4 }),
  c('SMALL', { kind: 'int8' }),
  c('BYTE', { kind: 'uint8' }),
  c('SHORT', { kind: 'int16' }),
  c('KWMENG', { kind: 'int32' }),
  c('COUNTER', { kind: 'int64' }),
  c('RATE', { kind: 'double' }),
  c('FLAG', { kind: 'boolean' }),
  c('ERDAT', { kind: 'date' }),
  c('ERZET', { kind: 'time' }),
  c('CHANGED', { kind: 'timestamp' }),
  c('RAW', { kind: 'binary' }),
  c('GUID', { kind: 'guid' }),
  c('ODQ_CHANGEMODE', { kind: 'string', maxLength: 1 }),
  c('ODQ_ENTITYCNTR', { kind: 'decimal', precision: 19, scale: 0 }),
]

/** The Iceberg type each SOURCE column must get. */
export const SOURCE_TYPES: Record<string, string> = {
  VBELN: 'string',
  POSNR: 'string',
  NETWR: 'decimal(15,2)',
  BIGAMT: 'decimal(25,4)',
  SMALL: 'int',
  BYTE: 'int',
  SHORT: 'int',
  KWMENG: 'int',
  COUNTER: 'long',
  RATE: 'double',
  FLAG: 'boolean',
  ERDAT: 'date',
  ERZET: 'time',
  CHANGED: 'timestamptz',
  RAW: 'binary',
  GUID: 'string',
  ODQ_CHANGEMODE: 'string',
  ODQ_ENTITYCNTR: 'decimal(19,0)',
}

const day = (iso: string) => new Date(`${iso}T00:00:00Z`)

/** A source row (SOURCE order) for item `n` with change mode and counter. */
export function sourceRow(vbeln: string, posnr: string, n: number, mode: string, counter: string | null): Row {
  return [
    vbeln,
    posnr,
    `${n}1234.5${n}`,
    `-${n}2345678901234567890.1234`,
    -n,
    200 + n,
    -30_000 + n,
    n * 1000,
    BigInt(`90071992547409${90 + n}`),
    n + 0.25,
    n % 2 === 0,
    day(`2026-0${1 + (n % 9)}-1${n % 10}`),
    n % 2 === 0 ? 86_400_000_000 : 3_600_000_000 * n + 123_456,
    new Date(Date.UTC(2026, 11, 5, 10, n, 30, 250)),
    new TextEncoder().encode(`raw-${n}`),
    `0000000${n}-aaaa-bbbb-cccc-ddddeeeeffff`,
    mode,
    counter,
  ]
}

/** Writes `rows` as one run's Parquet files under `runs/<runId>/` with the given field ids (TablePlan.parquet), and uploads them. */
export async function writeRunFiles(
  destination: Destination,
  parquet: TablePlan['parquet'],
  columns: Column[],
  rows: Row[],
  runId: string,
  rowsPerFile = 2,
): Promise<CommitFile[]> {
  const dir = await mkdtemp(join(tmpdir(), 'de-lake-'))
  try {
    const roller = new ParquetRoller(columns, {
      dir,
      fileName: (i) => `part-${String(i).padStart(5, '0')}.parquet`,
      compression: 'SNAPPY',
      rowGroupRows: rowsPerFile,
      // Every row group closes its file: several data files per run.
      maxFileBytes: 1,
      kvMetadata: { 'delta-extractor.run-id': runId, ...parquet.kvMetadata },
      fieldIds: parquet.fieldIds,
      timestampUnit: parquet.timestampUnit,
    })
    const written = [...(await roller.write(rows)), ...(await roller.finish())]
    const files: CommitFile[] = []
    for (const f of written) {
      const key = `runs/${runId}/${f.fileName}`
      const { bytes } = await destination.putFile(key, f.localPath, undefined, { sha256: f.sha256 })
      files.push({ key, recordCount: f.rows, sizeBytes: bytes })
    }
    return files
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * A LOCAL destination whose lake tables record a second spelling of its URIs, `file://localhost/…`
 * beside `uriOf`'s `file:///…`: the same objects under two URI forms, as Azure's public endpoint has
 * (`abfss://…dfs…` for tables, `https://…blob…` for everything else). Both open with icebird.
 */
export function withSecondUriForm(d: Destination): Destination {
  return new Proxy(d, {
    get(target, p) {
      if (p === 'tableUriOf') return (key: string) => target.uriOf(key).replace(/^file:\/\/\//, 'file://localhost/')
      const v = Reflect.get(target, p, target) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  })
}

/** Every URI the table's newest metadata records: its location, metadata log, and what each snapshot references. */
export async function recordedUris(d: Destination, table: string): Promise<string[]> {
  const t = await loadTable(d, table)
  if (!t) return []
  const uris = new Set<string>([t.metadata.location, ...t.metadata['metadata-log'].map((e) => e['metadata-file'])])
  for (const s of t.metadata.snapshots) for (const u of referencedUris(await readSnapshotFiles(d, table, s), true)) uris.add(u)
  return [...uris]
}
