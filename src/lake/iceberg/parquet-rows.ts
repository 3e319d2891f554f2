/**
 * Reading a data file back into the column model's rows (src/sap/fields.ts), one row group at a time,
 * for compaction to write them again with the project's Parquet writer. The file's own footer says
 * what it holds: `delta-extractor.columns` (the column model as the roller described it) and the field
 * ids of its Parquet schema. Decimals are read as their unscaled integers and written as exact text:
 * hyparquet turns DECIMAL into a JS number, which cannot hold 25 digits.
 */
import { parquetMetadataAsync, parquetRead, type FileMetaData } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import type { Column, Row } from '../../sap/fields.js'
import type { Destination } from '../../storage/destination.js'
import { unscaledToDecimal } from '../../transform/convert.js'
import { COLUMNS_METADATA_KEY } from '../../transform/roller.js'
import type { ManifestColumn } from '../../transform/schema.js'
import { LakeTableError } from './errors.js'
import { keyOfUri } from './owned-files.js'
import { ICEBERG_SCHEMA_METADATA_KEY } from './parquet-ids.js'

export interface DataFileLayout {
  columns: Column[]
  fieldIds: number[]
  /** The file's `iceberg.schema` footer entry (the fields it holds). */
  icebergSchema: string
  /**
   * Files with equal signatures can share one output file: the same columns, field ids and Iceberg
   * schema. The timestamp unit is not part of it (compaction writes the table's unit).
   */
  signature: string
}

export interface OpenDataFile {
  layout: DataFileLayout
  rowGroups: number
  /** Rows of row group `index` in the column model's JS forms. */
  readRowGroup(index: number): Promise<Row[]>
  /** Rows of row group `index` with only the named columns, in that order (the current-state merge reads keys and change mode only). */
  readColumns(index: number, names: readonly string[]): Promise<Row[]>
}

/** The column model of a described column (a file's `delta-extractor.columns` footer, a manifest's schema). */
export function columnOfManifest(c: ManifestColumn): Column {
  const type =
    c.kind === 'decimal'
      ? { kind: 'decimal' as const, precision: c.precision ?? 0, scale: c.scale ?? 0 }
      : ({ kind: c.kind } as Column['type'])
  return {
    name: c.name,
    type,
    nullable: c.nullable,
    key: c.key,
    ...(c.sourceType !== undefined ? { sourceType: c.sourceType } : {}),
    ...(c.semantics !== undefined ? { semantics: c.semantics } : {}),
  } as Column
}

/** Big-endian two's complement bytes (FIXED_LEN_BYTE_ARRAY decimals) as a bigint. */
function unscaledOf(bytes: Uint8Array): bigint {
  let v = 0n
  for (const b of bytes) v = (v << 8n) | BigInt(b)
  return bytes.length && bytes[0] & 0x80 ? v - (1n << BigInt(bytes.length * 8)) : v
}

function decimalText(raw: unknown, scale: number): string {
  return unscaledToDecimal(raw instanceof Uint8Array ? unscaledOf(raw) : BigInt(raw as number | bigint), scale)
}

function converterOf(column: Column): (v: unknown) => unknown {
  switch (column.type.kind) {
    case 'decimal': {
      const { scale } = column.type
      return (v) => decimalText(v, scale)
    }
    case 'time':
      return (v) => Number(v)
    default:
      return (v) => v
  }
}

/** Opens a data file held in memory (one file at a time: compaction's inputs are the small files). */
export async function openDataFile(bytes: Buffer, what: string): Promise<OpenDataFile> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer
  let metadata: FileMetaData
  try {
    metadata = await parquetMetadataAsync(file)
  } catch (e) {
    throw new LakeTableError('LAKE_TABLE_INVALID', `${what} is not a readable Parquet file`, { cause: e })
  }
  const kv = new Map((metadata.key_value_metadata ?? []).map((e) => [e.key, e.value ?? '']))
  const described = kv.get(COLUMNS_METADATA_KEY)
  const icebergSchema = kv.get(ICEBERG_SCHEMA_METADATA_KEY)
  if (!described || !icebergSchema)
    throw new LakeTableError('LAKE_TABLE_INVALID', `${what} was not written by delta-extractor for a table (no column footer)`)
  const columns = (JSON.parse(described) as ManifestColumn[]).map(columnOfManifest)
  const leaves = metadata.schema.slice(1)
  if (leaves.length !== columns.length || leaves.some((e) => e.num_children))
    throw new LakeTableError('LAKE_TABLE_INVALID', `${what}: the Parquet schema does not match its column footer`)
  const fieldIds = leaves.map((e) => e.field_id ?? 0)
  // Decimals without their logical type: hyparquet then hands over the unscaled integers.
  const raw: FileMetaData = {
    ...metadata,
    schema: metadata.schema.map((e, i) =>
      i > 0 && columns[i - 1].type.kind === 'decimal' ? { ...e, converted_type: undefined, logical_type: undefined } : e,
    ),
  }
  const converters = columns.map(converterOf)
  const starts: number[] = []
  let start = 0
  for (const g of metadata.row_groups) {
    starts.push(start)
    start += Number(g.num_rows)
  }
  return {
    layout: { columns, fieldIds, icebergSchema, signature: `${JSON.stringify(columns)}\n${icebergSchema}\n${fieldIds.join(',')}` },
    rowGroups: metadata.row_groups.length,
    async readRowGroup(index) {
      const rowStart = starts[index]
      const rowEnd = rowStart + Number(metadata.row_groups[index].num_rows)
      let rows: unknown[][] = []
      await parquetRead({
        file,
        metadata: raw,
        rowStart,
        rowEnd,
        utf8: false,
        compressors,
        onComplete: (r) => {
          rows = r as unknown[][]
        },
      })
      return rows.map((r) => r.map((v, i) => (v === null || v === undefined ? null : converters[i](v))) as Row)
    },
    async readColumns(index, names) {
      const at = names.map((name) => {
        const i = columns.findIndex((c) => c.name === name)
        if (i < 0) throw new LakeTableError('LAKE_INPUT', `${what} has no column ${name}`)
        return i
      })
      const rowStart = starts[index]
      const rowEnd = rowStart + Number(metadata.row_groups[index].num_rows)
      let rows: Record<string, unknown>[] = []
      await parquetRead({
        file,
        metadata: raw,
        rowStart,
        rowEnd,
        columns: [...names],
        rowFormat: 'object',
        utf8: false,
        compressors,
        onComplete: (r) => {
          rows = r as Record<string, unknown>[]
        },
      })
      return rows.map((r) => names.map((name, j) => (r[name] === null || r[name] === undefined ? null : converters[at[j]](r[name]))) as Row)
    },
  }
}

/** Opens a file the table records by URI (a data or delete file, wherever it lies on the destination). */
export async function openTableFile(destination: Destination, uri: string, signal?: AbortSignal): Promise<OpenDataFile> {
  const key = keyOfUri(destination, uri)
  if (!key) throw new LakeTableError('LAKE_TABLE_INVALID', `table file ${uri} is not on this destination`)
  const bytes = await destination.getBytes(key, signal)
  if (!bytes) throw new LakeTableError('LAKE_TABLE_INVALID', `table file ${uri} is missing`)
  return openDataFile(bytes, uri)
}
