/**
 * Snapshot expiry (issue 13 point 4, docs/architecture.md#lake-tables "Maintenance"): drops old
 * snapshots from the table metadata in a new version, then removes the objects only they referenced.
 *
 * Which snapshots go: those older than `olderThan`, except the current one, any a ref points to, and
 * the newest `retainLast`. Which objects go, after the commit: every manifest list, manifest, data and
 * delete file an expired snapshot references that no remaining snapshot references (all computed from
 * the manifests); data and delete files only inside `ownedPrefixes`; and metadata files that fall out
 * of the metadata log (`write.metadata.previous-versions-max`).
 */
import type { Destination } from '../../storage/destination.js'
import { commitVersion } from './commit-version.js'
import { LakeTableError } from './errors.js'
import { tableUris } from './locations.js'
import { checkOwnedPrefixes, ownedKeyOf } from './owned-files.js'
import { referencedUris, readSnapshotFiles, type ManifestCache } from './snapshot-files.js'
import { loadTable } from './table.js'
import { metadataKey, metadataKeyOfUri } from './table-files.js'
import type { Snapshot, TableMetadata } from './types.js'

/** Iceberg's default for `write.metadata.previous-versions-max`. */
const DEFAULT_PREVIOUS_VERSIONS_MAX = 100
const PREVIOUS_VERSIONS_MAX_PROPERTY = 'write.metadata.previous-versions-max'

export interface ExpireOptions {
  /** Epoch milliseconds: snapshots committed before it may expire. */
  olderThan: number
  /** The newest snapshots kept whatever their age (at least 1). */
  retainLast: number
  /**
   * Destination key prefixes whose data and delete files the table owns. Required and explicit: a
   * run's files live in its run folder and its manifest.json may still name them, so the default of
   * removing nothing outside the table's own `metadata/` is the caller's to change, not a guess here.
   * Pass [] to keep every data file.
   */
  ownedPrefixes: readonly string[]
  /** Old metadata files kept in the log; default: the table property, else 100. */
  previousVersionsMax?: number
  signal?: AbortSignal
  now?: () => number
}

export interface ExpireResult {
  /** The version committed, or null when nothing was due (no snapshot and no metadata file to drop). */
  version: number | null
  expiredSnapshotIds: number[]
  /** Destination keys removed after the commit. */
  removed: string[]
  /** Unreferenced data or delete files left because they lie outside the owned prefixes (URIs). */
  keptOutsideOwned: string[]
  /**
   * Keys whose removal failed after the commit (the store refused or was unreachable). The expiry is
   * committed all the same, so this is reported rather than thrown: nothing references these objects
   * and no later expiry will name them again, so the caller logs them for removal by hand.
   */
  notRemoved: string[]
}

function checkOptions(options: ExpireOptions): void {
  if (!Number.isFinite(options.olderThan)) throw new LakeTableError('LAKE_INPUT', `olderThan ${options.olderThan} is not a time`)
  if (!Number.isSafeInteger(options.retainLast) || options.retainLast < 1)
    throw new LakeTableError('LAKE_INPUT', `retainLast ${options.retainLast} must be a whole number of at least 1`)
  if (options.previousVersionsMax !== undefined && (!Number.isSafeInteger(options.previousVersionsMax) || options.previousVersionsMax < 1))
    throw new LakeTableError('LAKE_INPUT', `previousVersionsMax ${options.previousVersionsMax} must be a whole number of at least 1`)
  checkOwnedPrefixes(options.ownedPrefixes)
}

/** The snapshots that may go: old enough, not current, not a ref's, not among the newest retainLast. */
function snapshotsToExpire(metadata: TableMetadata, olderThan: number, retainLast: number): Snapshot[] {
  const protectedIds = new Set<number>([metadata['current-snapshot-id'], ...Object.values(metadata.refs).map((r) => r['snapshot-id'])])
  const newestFirst = [...metadata.snapshots].sort(
    (a, b) => b['timestamp-ms'] - a['timestamp-ms'] || b['sequence-number'] - a['sequence-number'],
  )
  for (const s of newestFirst.slice(0, retainLast)) protectedIds.add(s['snapshot-id'])
  return metadata.snapshots.filter((s) => s['timestamp-ms'] < olderThan && !protectedIds.has(s['snapshot-id']))
}

function previousVersionsMax(metadata: TableMetadata, options: ExpireOptions): number {
  if (options.previousVersionsMax !== undefined) return options.previousVersionsMax
  const property = Number(metadata.properties[PREVIOUS_VERSIONS_MAX_PROPERTY])
  return Number.isSafeInteger(property) && property >= 1 ? property : DEFAULT_PREVIOUS_VERSIONS_MAX
}

/**
 * Expires snapshots of the table at `tablePath`. Throws LakeCommitConflictError (retryable) when
 * another writer committed the next version first; then nothing is changed or removed.
 */
export async function expireSnapshots(destination: Destination, tablePath: string, options: ExpireOptions): Promise<ExpireResult> {
  checkOptions(options)
  const { signal } = options
  const table = await loadTable(destination, tablePath, signal)
  if (!table) throw new LakeTableError('LAKE_INPUT', `table ${tablePath} does not exist`)
  const { metadata } = table
  const expired = snapshotsToExpire(metadata, options.olderThan, options.retainLast)
  const expiredIds = new Set(expired.map((s) => s['snapshot-id']))

  const currentFile = tableUris(destination, tablePath, metadata)(metadataKey(tablePath, table.version))
  const log = [...metadata['metadata-log'], { 'metadata-file': currentFile, 'timestamp-ms': metadata['last-updated-ms'] }]
  const keep = previousVersionsMax(metadata, options)
  const droppedLog = log.slice(0, Math.max(0, log.length - keep))
  if (!expired.length && !droppedLog.length)
    return { version: null, expiredSnapshotIds: [], removed: [], keptOutsideOwned: [], notRemoved: [] }

  // What the expired snapshots reference, read before the commit (the objects exist until we remove them).
  // One read of each manifest for the whole expiry (ManifestCache): the manifests of a table's retained history, decoded.
  const cache: ManifestCache = new Map()
  const candidates = new Set<string>()
  for (const s of expired)
    for (const uri of referencedUris(await readSnapshotFiles(destination, tablePath, s, signal, cache), true)) candidates.add(uri)

  const now = options.now?.() ?? Date.now()
  const next: TableMetadata = {
    ...metadata,
    'last-updated-ms': now,
    snapshots: metadata.snapshots.filter((s) => !expiredIds.has(s['snapshot-id'])),
    'snapshot-log': metadata['snapshot-log'].filter((e) => !expiredIds.has(e['snapshot-id'])),
    'metadata-log': log.slice(log.length - Math.min(keep, log.length)),
  }
  const version = table.version + 1
  const { hintMoved } = await commitVersion(destination, tablePath, version, next, signal)

  // Live: every snapshot of the newest version, which may already be past ours if a run committed meanwhile.
  const newest = await loadTable(destination, tablePath, signal)
  const live = new Set<string>()
  for (const s of newest?.metadata.snapshots ?? next.snapshots)
    for (const uri of referencedUris(await readSnapshotFiles(destination, tablePath, s, signal, cache), false)) live.add(uri)

  const metadataPrefix = `${tablePath}/metadata`
  const removable: string[] = []
  const keptOutsideOwned: string[] = []
  for (const uri of candidates) {
    if (live.has(uri)) continue
    // Manifest lists and manifests are the table's own, under metadata/; data files only where owned.
    const key = ownedKeyOf(destination, uri, [metadataPrefix]) ?? ownedKeyOf(destination, uri, options.ownedPrefixes)
    if (key) removable.push(key)
    else keptOutsideOwned.push(uri)
  }
  // Old metadata files only once readers starting at the hint cannot be sent to one of them.
  if (hintMoved) for (const e of droppedLog) removable.push(metadataKeyOfUri(tablePath, e['metadata-file']))
  const removed: string[] = []
  const notRemoved: string[] = []
  for (const key of removable) {
    signal?.throwIfAborted()
    try {
      await destination.remove(key, signal)
      removed.push(key)
    } catch {
      notRemoved.push(key)
    }
  }
  return { version, expiredSnapshotIds: [...expiredIds], removed, keptOutsideOwned, notRemoved }
}
