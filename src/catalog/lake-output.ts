/**
 * The lake-table settings of a pipeline's output (issue 13), in a module of their own that imports
 * nothing, so the catalogue, the pinned world and the API enums can all name them without an import cycle.
 */

/** The lake table a pipeline's runs are committed to: NONE is Parquet files + manifest.json only. */
export const TABLE_FORMATS = ['NONE', 'ICEBERG'] as const
export type TableFormat = (typeof TABLE_FORMATS)[number]

/** What a run does when SAP's columns change (docs/architecture.md#schema-changes). */
export const SCHEMA_CHANGE_POLICIES = ['ALLOW_ADDITIVE', 'BLOCK'] as const
export type SchemaChangePolicy = (typeof SCHEMA_CHANGE_POLICIES)[number]
