/**
 * Table metadata JSON (Iceberg v2, spec "Table Metadata" and "Appendix C"): a new table, and the
 * next version with one more snapshot. Pure functions; table.ts reads and writes them.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { LakeTableError } from './errors.js'
import type { IcebergSchema, PartitionSpec, Snapshot, SnapshotSummary, SortOrder, TableMetadata } from './types.js'

/** Tables are unpartitioned: spec 0 without fields. Partition field ids start at 1000, hence 999. */
export const UNPARTITIONED: PartitionSpec = { 'spec-id': 0, fields: [] }
const LAST_PARTITION_ID = 999
const UNSORTED: SortOrder = { 'order-id': 0, fields: [] }

/**
 * A random positive snapshot id below 2^53: Iceberg ids are longs, but JSON readers in JavaScript
 * (icebird, the dashboard) parse numbers as doubles, so ids stay exactly representable.
 */
export function newSnapshotId(): number {
  return Number(randomBytes(8).readBigUInt64BE() >> 11n) || 1
}

/** The metadata of a table that has no snapshot yet (never written alone: the first commit adds one). */
export function newTableMetadata(
  location: string,
  schema: IcebergSchema,
  lastColumnId: number,
  properties: Record<string, string>,
  now: number,
): TableMetadata {
  return {
    'format-version': 2,
    'table-uuid': randomUUID(),
    location,
    'last-sequence-number': 0,
    'last-updated-ms': now,
    'last-column-id': lastColumnId,
    schemas: [schema],
    'current-schema-id': schema['schema-id'],
    'partition-specs': [UNPARTITIONED],
    'default-spec-id': 0,
    'last-partition-id': LAST_PARTITION_ID,
    'sort-orders': [UNSORTED],
    'default-sort-order-id': 0,
    properties: { 'write.format.default': 'parquet', ...properties },
    'current-snapshot-id': -1,
    snapshots: [],
    'snapshot-log': [],
    'metadata-log': [],
    refs: {},
  }
}

export interface NextSnapshot {
  snapshotId: number
  manifestList: string
  summary: SnapshotSummary
  /** The schema the snapshot's files were written with; added to `schemas` when new. */
  schema: IcebergSchema
  lastColumnId: number
  /** Location of the metadata file this version replaces, for `metadata-log` (none for a new table). */
  previousMetadataFile?: string
  now: number
}

/** The next table version: one more snapshot, made current on the `main` branch. */
export function withSnapshot(base: TableMetadata, next: NextSnapshot): TableMetadata {
  const sequenceNumber = base['last-sequence-number'] + 1
  const known = base.schemas.find((s) => s['schema-id'] === next.schema['schema-id'])
  if (known && JSON.stringify(known.fields) !== JSON.stringify(next.schema.fields))
    throw new LakeTableError(
      'LAKE_SCHEMA_INCOMPATIBLE',
      `schema ${next.schema['schema-id']} of the table differs from the one the files were written with`,
    )
  const parent = base['current-snapshot-id'] >= 0 ? base['current-snapshot-id'] : undefined
  const snapshot: Snapshot = {
    'snapshot-id': next.snapshotId,
    ...(parent !== undefined ? { 'parent-snapshot-id': parent } : {}),
    'sequence-number': sequenceNumber,
    'timestamp-ms': next.now,
    'manifest-list': next.manifestList,
    summary: next.summary,
    'schema-id': next.schema['schema-id'],
  }
  return {
    ...base,
    'last-sequence-number': sequenceNumber,
    'last-updated-ms': next.now,
    'last-column-id': Math.max(base['last-column-id'], next.lastColumnId),
    schemas: known ? base.schemas : [...base.schemas, next.schema],
    'current-schema-id': next.schema['schema-id'],
    'current-snapshot-id': next.snapshotId,
    snapshots: [...base.snapshots, snapshot],
    'snapshot-log': [...base['snapshot-log'], { 'snapshot-id': next.snapshotId, 'timestamp-ms': next.now }],
    'metadata-log': next.previousMetadataFile
      ? [...base['metadata-log'], { 'metadata-file': next.previousMetadataFile, 'timestamp-ms': base['last-updated-ms'] }]
      : base['metadata-log'],
    refs: { ...base.refs, main: { 'snapshot-id': next.snapshotId, type: 'branch' } },
  }
}

/** The current snapshot, or null for a table without one. */
export function currentSnapshot(metadata: TableMetadata): Snapshot | null {
  return metadata.snapshots.find((s) => s['snapshot-id'] === metadata['current-snapshot-id']) ?? null
}

/** The current schema; a table whose current schema is missing is refused. */
export function currentSchema(metadata: TableMetadata): IcebergSchema {
  const schema = metadata.schemas.find((s) => s['schema-id'] === metadata['current-schema-id'])
  if (!schema)
    throw new LakeTableError('LAKE_TABLE_INVALID', `the table's current schema ${metadata['current-schema-id']} is not among its schemas`)
  return schema
}
