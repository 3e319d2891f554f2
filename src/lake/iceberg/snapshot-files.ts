/**
 * Every object a snapshot references, read from its manifest list and manifests (never guessed from
 * names): what maintenance (expiry, compaction) decides on (docs/architecture.md#lake-tables).
 */
import type { Destination } from '../../storage/destination.js'
import { decodeAvroFile } from './avro-file.js'
import { LakeTableError } from './errors.js'
import { decodeManifestList, type ManifestFileRecord } from './manifest.js'
import { metadataKeyOfUri } from './table-files.js'
import type { FileContent, Snapshot } from './types.js'

/** A `manifest_entry` as read back; sequence numbers already inherited from the manifest list when null. */
export interface ManifestEntry {
  status: number
  snapshotId: number | null
  sequenceNumber: number
  fileSequenceNumber: number
  content: FileContent
  /** Full URI as recorded (what readers open). */
  path: string
  recordCount: number
  sizeBytes: number
  equalityIds: number[] | null
  referencedDataFile: string | null
  /** The `data_file` record as decoded, re-encoded unchanged when a manifest is rewritten. */
  dataFile: Record<string, unknown>
}

export interface ManifestRead {
  key: string
  record: ManifestFileRecord
  entries: ManifestEntry[]
}

export interface SnapshotFiles {
  manifestListUri: string
  manifestListKey: string
  manifests: ManifestRead[]
}

/** `manifest_entry.status`: DELETED entries record a removal (the file is not in the snapshot); EXISTING ones are carried over. */
export const STATUS_EXISTING = 0
export const STATUS_DELETED = 2

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v))

async function bytesOf(destination: Destination, key: string, what: string, signal?: AbortSignal): Promise<Buffer> {
  const bytes = await destination.getBytes(key, signal)
  if (!bytes) throw new LakeTableError('LAKE_TABLE_INVALID', `${what} ${key} is missing`)
  return bytes
}

/** The manifests of one manifest (list) record, with inherited sequence numbers (spec "Sequence Number Inheritance"). */
async function readManifest(
  destination: Destination,
  tablePath: string,
  record: ManifestFileRecord,
  signal?: AbortSignal,
): Promise<ManifestRead> {
  const key = metadataKeyOfUri(tablePath, record.manifest_path)
  const { records } = await decodeAvroFile(await bytesOf(destination, key, 'manifest', signal), key)
  const entries = records.map((r): ManifestEntry => {
    const f = r.data_file as Record<string, unknown>
    const status = Number(r.status)
    // Only ADDED entries inherit: EXISTING and DELETED entries always carry their own numbers.
    const inherit = (v: unknown) => num(v) ?? (status === 1 ? Number(record.sequence_number) : 0)
    return {
      status,
      snapshotId: num(r.snapshot_id) ?? (status === 1 ? Number(record.added_snapshot_id) : null),
      sequenceNumber: inherit(r.sequence_number),
      fileSequenceNumber: inherit(r.file_sequence_number),
      content: Number(f.content) as FileContent,
      path: String(f.file_path),
      recordCount: Number(f.record_count),
      sizeBytes: Number(f.file_size_in_bytes),
      equalityIds: (f.equality_ids as number[] | null) ?? null,
      referencedDataFile: (f.referenced_data_file as string | null) ?? null,
      dataFile: f,
    }
  })
  return { key, record, entries }
}

/**
 * Manifests already read, for a caller that reads many snapshots of one table (expiry reads every
 * retained one). A manifest is never rewritten in place and each snapshot's list carries the older
 * ones over unchanged, so the N snapshots of a table read N manifests instead of N²/2. Keyed also by
 * the list record's sequence number and snapshot id, which the entries inherit from.
 */
export type ManifestCache = Map<string, ManifestRead>

/** The manifest list and every manifest of `snapshot`, with their entries. */
export async function readSnapshotFiles(
  destination: Destination,
  tablePath: string,
  snapshot: Snapshot,
  signal?: AbortSignal,
  cache?: ManifestCache,
): Promise<SnapshotFiles> {
  const manifestListKey = metadataKeyOfUri(tablePath, snapshot['manifest-list'])
  const records = await decodeManifestList(await bytesOf(destination, manifestListKey, 'manifest list', signal), manifestListKey)
  const manifests: ManifestRead[] = []
  for (const record of records) {
    const id = `${record.manifest_path}|${record.sequence_number}|${record.added_snapshot_id}`
    let read = cache?.get(id)
    if (!read) {
      read = await readManifest(destination, tablePath, record, signal)
      cache?.set(id, read)
    }
    manifests.push(read)
  }
  return { manifestListUri: snapshot['manifest-list'], manifestListKey, manifests }
}

/**
 * The URIs a snapshot references: its manifest list, its manifests, and the files of their entries.
 * A DELETED entry records that the snapshot removed the file, so it counts only with `deletedToo`
 * (what an expiring snapshot may free), never as a reference that keeps a file alive.
 */
export function referencedUris(files: SnapshotFiles, deletedToo: boolean): Set<string> {
  const uris = new Set<string>([files.manifestListUri])
  for (const m of files.manifests) {
    uris.add(m.record.manifest_path)
    for (const e of m.entries) if (deletedToo || e.status !== STATUS_DELETED) uris.add(e.path)
  }
  return uris
}
