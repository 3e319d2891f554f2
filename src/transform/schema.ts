/**
 * Column model → Parquet schema. One mapping per column kind, written with both the logical type and,
 * where the spec defines an equivalent, the legacy converted type so older readers agree.
 */
import type { SchemaElement } from 'hyparquet-writer'
import type { Column, ColumnKind } from '../sap/fields.js'

/** The column list cannot be written as Parquet (bad precision, duplicate names…). A programming or metadata error. */
export class ParquetSchemaError extends Error {
  override readonly name = 'ParquetSchemaError'
  readonly code = 'PARQUET_SCHEMA' as const
  readonly retryable = false
}

/**
 * The unit of TIMESTAMP columns. MILLIS is the column model's precision and what NONE pipelines have
 * always written; MICROS is what Iceberg's spec prescribes for `timestamptz` and its writers write
 * (PyIceberg and Snowflake refuse or mis-read MILLIS), used for the files of lake tables
 * (docs/architecture.md#lake-tables). Values are ms × 1000 there: the same instants.
 */
export type TimestampUnit = 'MILLIS' | 'MICROS'

/** Layout choices beyond the column list; absent ones keep the defaults every run file has had. */
export interface ParquetLayout {
  /** Default MILLIS. */
  timestampUnit?: TimestampUnit
}

/** JSON-able description of one Parquet column, for the run manifest. */
export interface ManifestColumn {
  name: string
  /** Parquet physical type: BOOLEAN, INT32, INT64, DOUBLE, BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY. */
  parquetType: string
  /** Parquet logical type with its parameters, e.g. `STRING`, `DECIMAL`, `DATE`, `TIME(MICROS,local)`, `INTEGER(8,signed)`. */
  logicalType?: string
  precision?: number
  scale?: number
  /** Byte width of a FIXED_LEN_BYTE_ARRAY (wide decimals). */
  typeLength?: number
  nullable: boolean
  key: boolean
  /** The column model kind the values came from. */
  kind: ColumnKind
  sourceType?: string
  semantics?: string
}

/** Largest decimal precision the writer accepts: DuckDB, Spark, Arrow and Trino read DECIMAL up to 38 digits. */
const MAX_DECIMAL_PRECISION = 38

/** Bytes a two's-complement FIXED_LEN_BYTE_ARRAY needs for `precision` decimal digits. */
export function decimalByteLength(precision: number): number {
  const max = 10n ** BigInt(precision) - 1n
  let bytes = 1
  while (2n ** BigInt(8 * bytes - 1) - 1n < max) bytes++
  return bytes
}

/**
 * The physical layout chosen for a decimal, as the Parquet spec suggests: INT32 up to 9 digits, INT64
 * up to 18, FIXED_LEN_BYTE_ARRAY of the minimal width beyond. hyparquet-writer takes the unscaled value
 * as a bigint for all three and encodes it without passing through a double.
 */
function decimalElement(column: Column, precision: number, scale: number): SchemaElement {
  if (!Number.isInteger(precision) || precision < 1 || precision > MAX_DECIMAL_PRECISION) {
    throw new ParquetSchemaError(`column ${column.name}: decimal precision ${precision} is outside 1 … ${MAX_DECIMAL_PRECISION}`)
  }
  if (!Number.isInteger(scale) || scale < 0 || scale > precision) {
    throw new ParquetSchemaError(`column ${column.name}: decimal scale ${scale} is outside 0 … precision ${precision}`)
  }
  const decimal = {
    converted_type: 'DECIMAL',
    logical_type: { type: 'DECIMAL', precision, scale },
    precision,
    scale,
  } as const
  if (precision <= 9) return { name: column.name, type: 'INT32', ...decimal }
  if (precision <= 18) return { name: column.name, type: 'INT64', ...decimal }
  return { name: column.name, type: 'FIXED_LEN_BYTE_ARRAY', type_length: decimalByteLength(precision), ...decimal }
}

/**
 * Integers carry only the legacy converted type (INT_8, UINT_8, INT_16, INT_32, INT_64), which every
 * reader maps to the INTEGER logical type. The INTEGER logical type itself is not written because
 * hyparquet-writer 0.17 serializes its `bitWidth` as a Thrift i32 where the spec says i8, and DuckDB
 * then rejects the whole footer ("TProtocolException: Invalid data").
 */
function integer(name: string, bitWidth: 8 | 16 | 32 | 64, isSigned: boolean): SchemaElement {
  return {
    name,
    type: bitWidth === 64 ? 'INT64' : 'INT32',
    converted_type: `${isSigned ? 'INT' : 'UINT'}_${bitWidth}`,
  }
}

/** The Parquet schema element (without repetition) for one column. */
function leafElement(column: Column, layout: ParquetLayout): SchemaElement {
  const { name, type } = column
  switch (type.kind) {
    case 'string':
    case 'guid':
      return { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } }
    case 'decimal':
      return decimalElement(column, type.precision, type.scale)
    case 'int8':
      return integer(name, 8, true)
    case 'uint8':
      return integer(name, 8, false)
    case 'int16':
      return integer(name, 16, true)
    case 'int32':
      return integer(name, 32, true)
    case 'int64':
      return integer(name, 64, true)
    case 'double':
      return { name, type: 'DOUBLE' }
    case 'boolean':
      return { name, type: 'BOOLEAN' }
    case 'date':
      return { name, type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } }
    case 'time':
      // A wall-clock time, not an instant: isAdjustedToUTC=false. The legacy TIME_MICROS converted type
      // means isAdjustedToUTC=true, so it is deliberately not written (DuckDB would read TIMETZ).
      // 24:00:00 (SAP 240000) is written as 86_400_000_000 µs and DuckDB reads it back as 24:00:00.
      // A consumer that turns TIME into a type ending at 23:59:59.999999 (Python's datetime.time, for
      // one) cannot hold it; it is still exactly what SAP delivered, which 23:59:59 or 00:00 would not be.
      return { name, type: 'INT64', logical_type: { type: 'TIME', isAdjustedToUTC: false, unit: 'MICROS' } }
    case 'timestamp': {
      // An instant in UTC: at millisecond precision (the column model's), or in the microseconds of
      // Iceberg's timestamptz. The legacy converted types TIMESTAMP_MILLIS/_MICROS mean UTC-adjusted.
      const unit = layout.timestampUnit ?? 'MILLIS'
      return {
        name,
        type: 'INT64',
        converted_type: `TIMESTAMP_${unit}`,
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit },
      }
    }
    case 'binary':
      return { name, type: 'BYTE_ARRAY' }
    default: {
      const never: never = type
      throw new ParquetSchemaError(`column ${name}: unknown column kind ${JSON.stringify(never)}`)
    }
  }
}

/**
 * The Parquet schema (root + one flat leaf per column) for a column list. With `fieldIds` (one per
 * column) each leaf carries its `field_id`: Iceberg readers map Parquet columns to table columns by
 * these ids, not by name (docs/architecture.md#lake-tables).
 */
export function parquetSchema(columns: readonly Column[], fieldIds?: readonly number[], layout: ParquetLayout = {}): SchemaElement[] {
  if (columns.length === 0) throw new ParquetSchemaError('a Parquet file needs at least one column')
  if (fieldIds && fieldIds.length !== columns.length)
    throw new ParquetSchemaError(`${fieldIds.length} field ids for ${columns.length} columns`)
  const seen = new Set<string>()
  const schema: SchemaElement[] = [{ name: 'root', num_children: columns.length }]
  for (const [i, column] of columns.entries()) {
    if (!column.name) throw new ParquetSchemaError('a column has an empty name')
    if (seen.has(column.name)) throw new ParquetSchemaError(`duplicate column name ${column.name}`)
    seen.add(column.name)
    const element: SchemaElement = { ...leafElement(column, layout), repetition_type: column.nullable ? 'OPTIONAL' : 'REQUIRED' }
    if (fieldIds) {
      const id = fieldIds[i]
      if (!Number.isSafeInteger(id) || id < 1)
        throw new ParquetSchemaError(`column ${column.name}: field id ${id} is not a positive integer`)
      element.field_id = id
    }
    schema.push(element)
  }
  return schema
}

function describeLogical(element: SchemaElement): string | undefined {
  const lt = element.logical_type
  const integer = /^(U?)INT_(\d+)$/.exec(element.converted_type ?? '')
  if (integer) return `INTEGER(${integer[2]},${integer[1] ? 'unsigned' : 'signed'})`
  if (!lt) return undefined
  switch (lt.type) {
    case 'TIME':
    case 'TIMESTAMP':
      return `${lt.type}(${lt.unit},${lt.isAdjustedToUTC ? 'UTC' : 'local'})`
    case 'INTEGER':
      return `INTEGER(${lt.bitWidth},${lt.isSigned ? 'signed' : 'unsigned'})`
    default:
      return lt.type
  }
}

/** JSON-able description of the Parquet schema written for these columns, for the manifest. */
export function describeSchema(columns: readonly Column[], layout: ParquetLayout = {}): ManifestColumn[] {
  const schema = parquetSchema(columns, undefined, layout)
  return columns.map((column, i) => {
    const element = schema[i + 1]
    const out: ManifestColumn = {
      name: column.name,
      parquetType: element.type ?? 'GROUP',
      nullable: column.nullable,
      key: column.key,
      kind: column.type.kind,
    }
    const logicalType = describeLogical(element)
    if (logicalType) out.logicalType = logicalType
    if (element.precision !== undefined) out.precision = element.precision
    if (element.scale !== undefined) out.scale = element.scale
    if (element.type_length !== undefined) out.typeLength = element.type_length
    if (column.sourceType !== undefined) out.sourceType = column.sourceType
    if (column.semantics !== undefined) out.semantics = column.semantics
    return out
  })
}
