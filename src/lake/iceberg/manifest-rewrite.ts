/**
 * Manifests a rewrite (compaction) writes for the files it keeps and removes: entries with explicit
 * snapshot id and sequence numbers (only ADDED entries may inherit them, spec "Sequence Number
 * Inheritance"), EXISTING for files carried over and DELETED for files the snapshot removes.
 */
import { encodeAvroFile } from './avro-file.js'
import { MANIFEST_ENTRY_SCHEMA } from './avro-schemas.js'
import type { ManifestFileRecord } from './manifest.js'
import { STATUS_DELETED, STATUS_EXISTING, type ManifestRead } from './snapshot-files.js'
import type { IcebergSchema, PartitionSpec } from './types.js'

/**
 * Rewrites `manifest` for snapshot `snapshotId`: entries whose path is in `removed` become DELETED
 * (by this snapshot), the other live entries EXISTING; entries already DELETED are dropped, as the
 * spec allows once a later snapshot no longer needs them. Returns the Avro bytes and the list record.
 */
export async function rewriteManifest(
  manifest: ManifestRead,
  removed: ReadonlySet<string>,
  snapshotId: number,
  sequenceNumber: number,
  schema: IcebergSchema,
  spec: PartitionSpec,
  manifestPath: string,
): Promise<{ bytes: Buffer; record: ManifestFileRecord }> {
  const live = manifest.entries.filter((e) => e.status !== STATUS_DELETED)
  const entries = live.map((e) => {
    const gone = removed.has(e.path)
    return {
      status: gone ? STATUS_DELETED : STATUS_EXISTING,
      snapshot_id: gone ? snapshotId : e.snapshotId,
      sequence_number: e.sequenceNumber,
      file_sequence_number: e.fileSequenceNumber,
      data_file: e.dataFile,
    }
  })
  const content = manifest.record.content
  const bytes = await encodeAvroFile(MANIFEST_ENTRY_SCHEMA, entries, {
    schema: JSON.stringify(schema),
    'schema-id': String(schema['schema-id']),
    'partition-spec': JSON.stringify(spec.fields),
    'partition-spec-id': String(spec['spec-id']),
    'format-version': '2',
    content: content === 0 ? 'data' : 'deletes',
  })
  const existing = live.filter((e) => !removed.has(e.path))
  const deleted = live.filter((e) => removed.has(e.path))
  const rows = (list: typeof live) => list.reduce((n, e) => n + e.recordCount, 0)
  const record: ManifestFileRecord = {
    manifest_path: manifestPath,
    manifest_length: bytes.length,
    partition_spec_id: spec['spec-id'],
    content,
    sequence_number: sequenceNumber,
    min_sequence_number: Math.min(sequenceNumber, ...live.map((e) => e.sequenceNumber)),
    added_snapshot_id: snapshotId,
    added_files_count: 0,
    existing_files_count: existing.length,
    deleted_files_count: deleted.length,
    added_rows_count: 0,
    existing_rows_count: rows(existing),
    deleted_rows_count: rows(deleted),
    partitions: null,
    key_metadata: null,
  }
  return { bytes, record }
}
