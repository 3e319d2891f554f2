/**
 * Column model → Iceberg schema, and schema evolution by Iceberg's rules: columns are matched by
 * name to field ids; a new column gets the next id after `last-column-id` and is optional; ids are
 * never reused (docs/architecture.md#lake-tables).
 */
import { createHash } from 'node:crypto'
import { CHANGE_MODE_COLUMN, ENTITY_COUNTER_COLUMN, type Column } from '../../sap/fields.js'
import { LakeTableError } from './errors.js'
import type { IcebergField, IcebergPrimitive, IcebergSchema } from './types.js'

/** Change-log columns the run engine adds to every row; SAP field names start with a letter or `/`, so these cannot clash. */
export const RUN_ID_COLUMN = '_RUN_ID'
export const EXTRACTED_AT_COLUMN = '_EXTRACTED_AT'

/**
 * The Iceberg type of a column-model column. The Parquet writer (src/transform/schema.ts) already
 * writes each kind in the physical layout the Iceberg spec's Parquet mapping asks for, with two
 * deliberate differences: 8/16-bit integers are INT32 annotated INT_8/INT_16 (Iceberg `int`), and
 * timestamps are INT64 TIMESTAMP(MILLIS, UTC) where Iceberg writers use MICROS; Iceberg's Java
 * readers (including Spark's vectorized one), DuckDB and hyparquet read MILLIS as `timestamptz`
 * (docs/architecture.md#lake-tables).
 */
function icebergTypeOf(column: Column): IcebergPrimitive {
  const type = column.type
  switch (type.kind) {
    case 'string':
    case 'guid':
      // A GUID stays a string: Iceberg's uuid is 16 bytes, the column model's GUID is text.
      return 'string'
    case 'decimal':
      if (!Number.isInteger(type.precision) || type.precision < 1 || type.precision > 38)
        throw new LakeTableError('LAKE_INPUT', `column ${column.name}: decimal precision ${type.precision} is outside 1 … 38`)
      return `decimal(${type.precision},${type.scale})`
    case 'int8':
    case 'uint8':
    case 'int16':
    case 'int32':
      return 'int'
    case 'int64':
      return 'long'
    case 'double':
      return 'double'
    case 'boolean':
      return 'boolean'
    case 'date':
      return 'date'
    case 'time':
      return 'time'
    case 'timestamp':
      return 'timestamptz'
    case 'binary':
      return 'binary'
    default: {
      const never: never = type
      throw new LakeTableError('LAKE_INPUT', `column ${column.name}: unknown column kind ${JSON.stringify(never)}`)
    }
  }
}

/**
 * The columns of a change-log table: the source's columns, the ODQ change mode and entity counter
 * (added when the source has none, e.g. a full load over RFC_READ_TABLE) and the run id and
 * extraction time. The run engine writes rows in this order.
 */
export function changeLogColumns(source: readonly Column[]): Column[] {
  const names = new Set(source.map((c) => c.name))
  for (const name of [RUN_ID_COLUMN, EXTRACTED_AT_COLUMN])
    if (names.has(name))
      throw new LakeTableError('LAKE_INPUT', `the source has a column named ${name}, which the change-log table reserves`)
  const out = [...source]
  if (!names.has(CHANGE_MODE_COLUMN))
    out.push({ name: CHANGE_MODE_COLUMN, type: { kind: 'string', maxLength: 1 }, nullable: true, key: false, semantics: 'change-mode' })
  if (!names.has(ENTITY_COUNTER_COLUMN))
    out.push({
      name: ENTITY_COUNTER_COLUMN,
      type: { kind: 'decimal', precision: 19, scale: 0 },
      nullable: true,
      key: false,
      semantics: 'entity-counter',
    })
  out.push({ name: RUN_ID_COLUMN, type: { kind: 'string' }, nullable: false, key: false })
  out.push({ name: EXTRACTED_AT_COLUMN, type: { kind: 'timestamp' }, nullable: false, key: false })
  return out
}

function checkNames(columns: readonly Column[]): void {
  if (columns.length === 0) throw new LakeTableError('LAKE_INPUT', 'a table needs at least one column')
  const seen = new Set<string>()
  for (const c of columns) {
    if (!c.name) throw new LakeTableError('LAKE_INPUT', 'a column has an empty name')
    if (seen.has(c.name)) throw new LakeTableError('LAKE_INPUT', `duplicate column name ${c.name}`)
    seen.add(c.name)
  }
}

/** Identifier fields must be required (Iceberg spec, "Identifier Field IDs"): the key columns that are. */
function identifierIds(fields: readonly IcebergField[], columns: readonly Column[]): number[] {
  const keys = new Set(columns.filter((c) => c.key && !c.nullable).map((c) => c.name))
  return fields.filter((f) => keys.has(f.name) && f.required).map((f) => f.id)
}

/** A first schema (id 0) for a new table: field ids 1 … n in column order. */
export function initialSchema(columns: readonly Column[]): { schema: IcebergSchema; lastColumnId: number } {
  checkNames(columns)
  const fields = columns.map((c, i): IcebergField => ({ id: i + 1, name: c.name, required: !c.nullable, type: icebergTypeOf(c) }))
  const schema: IcebergSchema = { type: 'struct', 'schema-id': 0, fields }
  const ids = identifierIds(fields, columns)
  if (ids.length) schema['identifier-field-ids'] = ids
  return { schema, lastColumnId: columns.length }
}

/** How the columns of a run differ from the table's current schema. */
export interface SchemaDiff {
  /** Columns new to the table: added as optional fields. */
  added: string[]
  /** Fields of the table the run does not deliver: kept (older files still hold them), made optional. */
  removed: string[]
  /** Types widened the way Iceberg allows (int → long, decimal precision up with the same scale). */
  promoted: string[]
  /** Changes no Iceberg schema update can express; a table with any of these cannot take the run's files. */
  incompatible: string[]
}

/** Iceberg's allowed type promotions (spec, "Schema Evolution"), for the types this writer produces. */
function canPromote(from: IcebergPrimitive, to: IcebergPrimitive): boolean {
  if (from === to) return true
  if (from === 'int' && to === 'long') return true
  const a = /^decimal\((\d+),(\d+)\)$/.exec(from)
  const b = /^decimal\((\d+),(\d+)\)$/.exec(to)
  return !!a && !!b && a[2] === b[2] && Number(b[1]) >= Number(a[1])
}

/**
 * The schema the table needs to take files with `columns`, and how it differs from `current`.
 * `schema` is null when nothing changes; otherwise it has the next schema id and `lastColumnId` is
 * the table's new `last-column-id`. With incompatible changes no schema is proposed: the caller
 * refuses the run (its schemaChanges policy decides what to do with removed fields).
 */
export function evolveSchema(
  current: IcebergSchema,
  lastColumnId: number,
  columns: readonly Column[],
): { schema: IcebergSchema | null; lastColumnId: number; diff: SchemaDiff } {
  checkNames(columns)
  const diff: SchemaDiff = { added: [], removed: [], promoted: [], incompatible: [] }
  const byName = new Map(columns.map((c) => [c.name, c]))
  let nextId = lastColumnId
  const fields: IcebergField[] = current.fields.map((field) => {
    const column = byName.get(field.name)
    if (!column) {
      diff.removed.push(field.name)
      return { ...field, required: false }
    }
    const type = icebergTypeOf(column)
    if (type !== field.type) {
      if (canPromote(field.type, type)) diff.promoted.push(`${field.name}: ${field.type} → ${type}`)
      else diff.incompatible.push(`${field.name}: ${field.type} → ${type}`)
    }
    if (field.required && column.nullable) diff.promoted.push(`${field.name}: required → optional`)
    return { ...field, type, required: field.required && !column.nullable }
  })
  const known = new Set(current.fields.map((f) => f.name))
  for (const column of columns) {
    if (known.has(column.name)) continue
    diff.added.push(column.name)
    fields.push({ id: ++nextId, name: column.name, required: false, type: icebergTypeOf(column) })
  }
  // A removed optional field needs no new schema: files without it read as null there anyway.
  const removedRequired = diff.removed.some((n) => current.fields.find((f) => f.name === n)?.required)
  const changes = diff.added.length > 0 || diff.promoted.length > 0 || removedRequired
  if (diff.incompatible.length || !changes) return { schema: null, lastColumnId, diff }
  const schema: IcebergSchema = { type: 'struct', 'schema-id': current['schema-id'] + 1, fields }
  const ids = current['identifier-field-ids']?.filter((id) => fields.find((f) => f.id === id)?.required)
  if (ids?.length) schema['identifier-field-ids'] = ids
  return { schema, lastColumnId: nextId, diff }
}

/** The field id of each column, in column order; every column must be a field of the schema. */
export function fieldIdsFor(schema: IcebergSchema, columns: readonly Column[]): number[] {
  return columns.map((c) => {
    const field = schema.fields.find((f) => f.name === c.name)
    if (!field)
      throw new LakeTableError('LAKE_SCHEMA_INCOMPATIBLE', `column ${c.name} is not in schema ${schema['schema-id']} of the table`)
    return field.id
  })
}

/** A short, stable hash of a schema's fields (ids, names, types, required), recorded in snapshot summaries. */
export function schemaHash(schema: IcebergSchema): string {
  const canonical = schema.fields.map((f) => [f.id, f.name, f.type, f.required])
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex').slice(0, 16)
}
