/**
 * Manifests and manifest lists of Iceberg v2 (spec "Manifests", "Manifest Lists"): which records
 * are written for the files of one snapshot, and the Avro file metadata readers require.
 */
import { decodeAvroFile, encodeAvroFile } from './avro-file.js'
import { MANIFEST_ENTRY_SCHEMA, MANIFEST_FILE_SCHEMA } from './avro-schemas.js'
import { LakeTableError } from './errors.js'
import { FileContent, ManifestContent, STATUS_ADDED, type IcebergSchema, type PartitionSpec } from './types.js'

/** One file a snapshot adds: a data file, or a delete file of the current-state table. */
export interface TableFile {
  content: FileContent
  /** Full URI with scheme, as readers open it (Destination.uriOf). */
  path: string
  recordCount: number
  sizeBytes: number
  /** Equality deletes only: the field ids a delete row matches on (the business key). */
  equalityIds?: number[]
  /** Position deletes only, when every row of the delete file refers to one data file. */
  referencedDataFile?: string
}

/** A `manifest_file` record of a manifest list; field names as in the Avro schema. */
export interface ManifestFileRecord {
  manifest_path: string
  manifest_length: number
  partition_spec_id: number
  content: ManifestContent
  sequence_number: number
  min_sequence_number: number
  added_snapshot_id: number
  added_files_count: number
  existing_files_count: number
  deleted_files_count: number
  added_rows_count: number
  existing_rows_count: number
  deleted_rows_count: number
  partitions: null
  key_metadata: null
}

function checkFile(file: TableFile): void {
  if (!Number.isSafeInteger(file.recordCount) || file.recordCount < 0)
    throw new LakeTableError('LAKE_INPUT', `${file.path}: record count ${file.recordCount} is not a count`)
  if (!Number.isSafeInteger(file.sizeBytes) || file.sizeBytes <= 0)
    throw new LakeTableError('LAKE_INPUT', `${file.path}: size ${file.sizeBytes} is not a file size`)
  if (file.content === FileContent.EQUALITY_DELETES && !file.equalityIds?.length)
    throw new LakeTableError('LAKE_INPUT', `${file.path}: an equality delete file needs the field ids it matches on`)
  if (file.content !== FileContent.EQUALITY_DELETES && file.equalityIds)
    throw new LakeTableError('LAKE_INPUT', `${file.path}: only equality delete files carry equality ids`)
}

/**
 * An ADDED entry: snapshot id and both sequence numbers are left null, so readers inherit them from
 * the manifest list (spec "Sequence Number Inheritance"); the manifest never needs rewriting on a retry.
 */
function addedEntry(file: TableFile) {
  checkFile(file)
  return {
    status: STATUS_ADDED,
    snapshot_id: null,
    sequence_number: null,
    file_sequence_number: null,
    data_file: {
      content: file.content,
      file_path: file.path,
      file_format: 'PARQUET',
      partition: {},
      record_count: file.recordCount,
      file_size_in_bytes: file.sizeBytes,
      column_sizes: null,
      value_counts: null,
      null_value_counts: null,
      nan_value_counts: null,
      lower_bounds: null,
      upper_bounds: null,
      key_metadata: null,
      split_offsets: null,
      equality_ids: file.equalityIds ?? null,
      sort_order_id: null,
      referenced_data_file: file.referencedDataFile ?? null,
    },
  }
}

/**
 * One manifest of added files, all data or all deletes (a manifest never mixes them), as Avro bytes
 * with the required file metadata: schema, schema-id, partition-spec, partition-spec-id,
 * format-version and content.
 */
export async function encodeManifest(
  files: readonly TableFile[],
  content: ManifestContent,
  schema: IcebergSchema,
  spec: PartitionSpec,
): Promise<Buffer> {
  for (const f of files) {
    const isData = f.content === FileContent.DATA
    if (isData !== (content === ManifestContent.DATA))
      throw new LakeTableError(
        'LAKE_INPUT',
        `${f.path}: a ${isData ? 'data' : 'delete'} file cannot go into a ${content === ManifestContent.DATA ? 'data' : 'delete'} manifest`,
      )
  }
  return encodeAvroFile(MANIFEST_ENTRY_SCHEMA, files.map(addedEntry), {
    schema: JSON.stringify(schema),
    'schema-id': String(schema['schema-id']),
    'partition-spec': JSON.stringify(spec.fields),
    'partition-spec-id': String(spec['spec-id']),
    'format-version': '2',
    content: content === ManifestContent.DATA ? 'data' : 'deletes',
  })
}

/** The manifest list record of a manifest this snapshot wrote (all its entries ADDED). */
export function addedManifest(
  path: string,
  length: number,
  content: ManifestContent,
  files: readonly TableFile[],
  snapshotId: number,
  sequenceNumber: number,
  specId: number,
): ManifestFileRecord {
  return {
    manifest_path: path,
    manifest_length: length,
    partition_spec_id: specId,
    content,
    sequence_number: sequenceNumber,
    min_sequence_number: sequenceNumber,
    added_snapshot_id: snapshotId,
    added_files_count: files.length,
    existing_files_count: 0,
    deleted_files_count: 0,
    added_rows_count: files.reduce((n, f) => n + f.recordCount, 0),
    existing_rows_count: 0,
    deleted_rows_count: 0,
    partitions: null,
    key_metadata: null,
  }
}

export async function encodeManifestList(
  manifests: readonly ManifestFileRecord[],
  snapshot: { snapshotId: number; parentSnapshotId?: number; sequenceNumber: number },
): Promise<Buffer> {
  const metadata: Record<string, string> = {
    'snapshot-id': String(snapshot.snapshotId),
    'sequence-number': String(snapshot.sequenceNumber),
    'format-version': '2',
  }
  if (snapshot.parentSnapshotId !== undefined) metadata['parent-snapshot-id'] = String(snapshot.parentSnapshotId)
  return encodeAvroFile(MANIFEST_FILE_SCHEMA, manifests, metadata)
}

/** The manifests a manifest list names (this writer's own lists: every field present). */
export async function decodeManifestList(bytes: Buffer, what: string): Promise<ManifestFileRecord[]> {
  const { records } = await decodeAvroFile(bytes, what)
  return records.map((r) => ({ ...(r as unknown as ManifestFileRecord), partitions: null, key_metadata: null }))
}
