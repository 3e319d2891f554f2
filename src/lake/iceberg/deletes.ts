/**
 * Delete files for the current-state table (issue 13 point 2): how their Parquet files are laid out
 * so Iceberg v2 readers apply them (spec "Position Delete Files", "Equality Delete Files").
 * - Position deletes name rows by data file URI and 0-based row position, with the reserved field
 *   ids of `file_path` and `pos`; the rows must be sorted by file, then position.
 * - Equality deletes hold the key columns with the table's own field ids; the manifest lists those
 *   ids as `equality_ids` (CommitFile.equalityIds). They apply to data files of older sequence numbers.
 */
import type { Column } from '../../sap/fields.js'
import { LakeTableError } from './errors.js'
import { parquetOptionsFor, type TableParquetOptions } from './parquet-ids.js'
import type { IcebergSchema } from './types.js'

const FILE_PATH_ID = 2147483546
const POS_ID = 2147483545

/** The columns of a position delete file, in the order the spec lists them. */
export const POSITION_DELETE_COLUMNS: Column[] = [
  { name: 'file_path', type: { kind: 'string' }, nullable: false, key: false },
  { name: 'pos', type: { kind: 'int64' }, nullable: false, key: false },
]

/** ParquetRoller options for a position delete file: the reserved field ids and the file's schema. */
export function positionDeleteParquetOptions(): TableParquetOptions {
  const schema: IcebergSchema = {
    type: 'struct',
    'schema-id': 0,
    fields: [
      { id: FILE_PATH_ID, name: 'file_path', required: true, type: 'string' },
      { id: POS_ID, name: 'pos', required: true, type: 'long' },
    ],
  }
  return parquetOptionsFor(schema, POSITION_DELETE_COLUMNS)
}

/**
 * The key columns of an equality delete file and their field ids (the `equality_ids` of its manifest
 * entry): the SAP key the caller names, by name. Not the schema's identifier fields: Iceberg takes
 * only required fields as those, and OData declares date and time columns nullable even in a key (a
 * validity date of time-dependent master data), so the identifier fields can be a part of the key —
 * merging by a part would collapse rows SAP keeps apart. Equality ids may be any primitive fields.
 */
export function equalityDeleteLayout(
  schema: IcebergSchema,
  columns: readonly Column[],
  keyNames: readonly string[],
): { columns: Column[]; equalityIds: number[]; parquet: TableParquetOptions } {
  if (!keyNames.length) throw new LakeTableError('LAKE_INPUT', 'no key columns: an equality delete has nothing to match on')
  const keyColumns = keyNames.map((name) => {
    const column = columns.find((c) => c.name === name)
    if (!column) throw new LakeTableError('LAKE_INPUT', `key column ${name} is not among the columns`)
    return column
  })
  const ids = keyNames.map((name) => {
    const field = schema.fields.find((f) => f.name === name)
    if (!field) throw new LakeTableError('LAKE_INPUT', `key column ${name} is not a field of schema ${schema['schema-id']}`)
    return field.id
  })
  return { columns: keyColumns, equalityIds: ids, parquet: parquetOptionsFor(schema, keyColumns) }
}
