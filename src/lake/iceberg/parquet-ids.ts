/**
 * What a Parquet data file of an Iceberg table must carry beyond the run's own footer: a field id on
 * every column (Iceberg readers map columns by id, spec "Appendix A: Parquet") and the Iceberg schema
 * as JSON under `iceberg.schema`, the key Iceberg's own writers use and readers such as icebird look for.
 * The run engine passes these to ParquetRoller (ParquetOutputOptions.fieldIds / kvMetadata).
 *
 * Timestamps are written as TIMESTAMP(MICROS, UTC): the spec's `timestamptz` is microseconds and
 * Iceberg's writers write MICROS; PyIceberg and Snowflake refuse or mis-read MILLIS. Every file a
 * table writes itself (delete files, compaction outputs) uses the same unit
 * (docs/architecture.md#lake-tables, "Schema").
 */
import type { Column } from '../../sap/fields.js'
import type { TimestampUnit } from '../../transform/schema.js'
import { fieldIdsFor } from './schema.js'
import type { IcebergSchema } from './types.js'

export const ICEBERG_SCHEMA_METADATA_KEY = 'iceberg.schema'

/** The unit of timestamps in every Parquet file a table's writers produce. */
export const TABLE_TIMESTAMP_UNIT: TimestampUnit = 'MICROS'

/** ParquetRoller options for a file of a table (ParquetOutputOptions.fieldIds / kvMetadata / timestampUnit). */
export interface TableParquetOptions {
  fieldIds: number[]
  kvMetadata: Record<string, string>
  timestampUnit: TimestampUnit
}

export function parquetOptionsFor(schema: IcebergSchema, columns: readonly Column[]): TableParquetOptions {
  const fieldIds = fieldIdsFor(schema, columns)
  const written = new Set(fieldIds)
  // The schema of the file itself: only the fields it holds, as Iceberg's writers record it.
  const fileSchema: IcebergSchema = { ...schema, fields: schema.fields.filter((f) => written.has(f.id)) }
  return { fieldIds, kvMetadata: { [ICEBERG_SCHEMA_METADATA_KEY]: JSON.stringify(fileSchema) }, timestampUnit: TABLE_TIMESTAMP_UNIT }
}
