/**
 * Apache Iceberg v2 tables on a Destination: what the run engine calls to commit a run's Parquet
 * files as a table snapshot (docs/architecture.md#lake-tables).
 */
export { equalityDeleteLayout, POSITION_DELETE_COLUMNS, positionDeleteParquetOptions } from './deletes.js'
export { LakeCommitConflictError, LakeTableError } from './errors.js'
export type { LakeErrorCode } from './errors.js'
export { changeLogColumns, EXTRACTED_AT_COLUMN, RUN_ID_COLUMN, schemaHash } from './schema.js'
export type { SchemaDiff } from './schema.js'
export { ICEBERG_SCHEMA_METADATA_KEY } from './parquet-ids.js'
export { columnOfManifest } from './parquet-rows.js'
export { appendSnapshot, commitSnapshot, findRunSnapshot, loadTable, planTableWrite, SUMMARY_KEYS } from './table.js'
export type { CommitFile, CommitRequest, CommittedSnapshot, LoadedTable, RunSummary, SchemaSeed, TablePlan } from './table.js'
export { FileContent } from './types.js'
export type { IcebergSchema, Snapshot, TableMetadata } from './types.js'
export { expireSnapshots } from './expire.js'
export type { ExpireOptions, ExpireResult } from './expire.js'
export { compact } from './compact.js'
export type { CompactOptions, CompactResult } from './compact.js'
export { applyRunToCurrentState, LAST_RUN_PROPERTY } from './current-state.js'
export type { CurrentStateResult, CurrentStateRun } from './current-state.js'
export { rewriteWithDeletes } from './rewrite-deletes.js'
export type { RewriteWithDeletesOptions, RewriteWithDeletesResult } from './rewrite-deletes.js'
export { tableLocation } from './locations.js'
