/**
 * The JSON shapes of Iceberg v2 table metadata this writer produces and reads back (Iceberg table
 * spec, "Table Metadata Fields" and "Appendix C: JSON serialization"; summarised in
 * docs/architecture.md#lake-tables). Only what delta-extractor writes is modelled.
 */

/** Primitive Iceberg types the column model maps to (src/lake/iceberg/schema.ts). */
export type IcebergPrimitive =
  | 'boolean'
  | 'int'
  | 'long'
  | 'double'
  | 'date'
  | 'time'
  | 'timestamptz'
  | 'string'
  | 'binary'
  | `decimal(${number},${number})`

export interface IcebergField {
  id: number
  name: string
  required: boolean
  type: IcebergPrimitive
  doc?: string
}

export interface IcebergSchema {
  type: 'struct'
  'schema-id': number
  /** The SAP business key: what the current-state table's equality deletes match on. */
  'identifier-field-ids'?: number[]
  fields: IcebergField[]
}

export interface PartitionSpec {
  'spec-id': number
  fields: never[]
}

export interface SortOrder {
  'order-id': number
  fields: never[]
}

/** Snapshot summary: Iceberg's string map, with `operation` required. */
export type SnapshotSummary = { operation: SnapshotOperation } & Record<string, string>
export type SnapshotOperation = 'append' | 'overwrite' | 'delete' | 'replace'

export interface Snapshot {
  'snapshot-id': number
  'parent-snapshot-id'?: number
  'sequence-number': number
  'timestamp-ms': number
  'manifest-list': string
  summary: SnapshotSummary
  'schema-id': number
}

export interface TableMetadata {
  'format-version': 2
  'table-uuid': string
  location: string
  'last-sequence-number': number
  'last-updated-ms': number
  'last-column-id': number
  schemas: IcebergSchema[]
  'current-schema-id': number
  'partition-specs': PartitionSpec[]
  'default-spec-id': number
  'last-partition-id': number
  'sort-orders': SortOrder[]
  'default-sort-order-id': number
  properties: Record<string, string>
  'current-snapshot-id': number
  snapshots: Snapshot[]
  'snapshot-log': { 'snapshot-id': number; 'timestamp-ms': number }[]
  'metadata-log': { 'metadata-file': string; 'timestamp-ms': number }[]
  refs: Record<string, { 'snapshot-id': number; type: 'branch' | 'tag' }>
}

/** `data_file.content`: what a file listed in a manifest holds. */
export enum FileContent {
  DATA = 0,
  POSITION_DELETES = 1,
  EQUALITY_DELETES = 2,
}

/**
 * `manifest_entry.status` of the entries this writer creates: ADDED (1). EXISTING (0) and DELETED (2)
 * belong to manifests rewritten by maintenance (expiry, compaction), which comes later.
 */
export const STATUS_ADDED = 1

/** `manifest_file.content`: a manifest lists data files or delete files, never both. */
export enum ManifestContent {
  DATA = 0,
  DELETES = 1,
}
