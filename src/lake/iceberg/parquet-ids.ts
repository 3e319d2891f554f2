/**
 * What a Parquet data file of an Iceberg table must carry beyond the run's own footer: a field id on
 * every column (Iceberg readers map columns by id, spec "Appendix A: Parquet") and the Iceberg schema
 * as JSON under `iceberg.schema`, the key Iceberg's own writers use and readers such as icebird look for.
 * The run engine passes these to ParquetRoller (ParquetOutputOptions.fieldIds / kvMetadata).
 */
import type { Column } from '../../sap/fields.js'
import { fieldIdsFor } from './schema.js'
import type { IcebergSchema } from './types.js'

export const ICEBERG_SCHEMA_METADATA_KEY = 'iceberg.schema'

export function parquetOptionsFor(
  schema: IcebergSchema,
  columns: readonly Column[],
): { fieldIds: number[]; kvMetadata: Record<string, string> } {
  const fieldIds = fieldIdsFor(schema, columns)
  const written = new Set(fieldIds)
  // The schema of the file itself: only the fields it holds, as Iceberg's writers record it.
  const fileSchema: IcebergSchema = { ...schema, fields: schema.fields.filter((f) => written.has(f.id)) }
  return { fieldIds, kvMetadata: { [ICEBERG_SCHEMA_METADATA_KEY]: JSON.stringify(fileSchema) } }
}
