/**
 * The commit of a rewrite (compaction, `rewriteWithDeletes`): one snapshot with operation `replace`
 * whose rewritten manifests mark the files it removes DELETED and keep the rest EXISTING
 * (`manifest-rewrite.ts`), plus one manifest that ADDs the new data files, committed through the
 * only-if-absent commit point (`commit-version.ts`). Every key written is recorded in the attempt, so
 * the caller can remove them when the commit is refused (docs/architecture.md#lake-maintenance).
 */
import { tableUris } from './locations.js'
import type { Destination } from '../../storage/destination.js'
import { commitVersion } from './commit-version.js'
import { LakeCommitConflictError } from './errors.js'
import { addedManifest, encodeManifest, encodeManifestList, type ManifestFileRecord, type TableFile } from './manifest.js'
import { rewriteManifest } from './manifest-rewrite.js'
import { currentSchema, UNPARTITIONED, withSnapshot } from './metadata.js'
import { STATUS_DELETED, type ManifestEntry, type SnapshotFiles } from './snapshot-files.js'
import { putBytes, SUMMARY_KEYS, type LoadedTable } from './table.js'
import { manifestKey, manifestListKey, metadataKey } from './table-files.js'
import { schemaHash } from './schema.js'
import { FileContent, ManifestContent, type Snapshot } from './types.js'

/** What one rewrite attempt put on the destination, and whether it reached the commit point. */
export interface RewriteAttempt {
  written: string[]
  attempted: boolean
}

export interface RewriteChange {
  table: LoadedTable
  current: Snapshot
  files: SnapshotFiles
  snapshotId: number
  /** Live entries (data or delete files) the snapshot removes. */
  removed: readonly ManifestEntry[]
  /** New data files (their sequence number is inherited: the new snapshot's). */
  added: readonly TableFile[]
  now: number
  signal?: AbortSignal
}

/** Writes the manifests and manifest list and commits version N+1; returns it. Throws LakeCommitConflictError when taken. */
export async function commitRewrite(
  destination: Destination,
  tablePath: string,
  change: RewriteChange,
  attempt: RewriteAttempt,
): Promise<number> {
  const { table, current, files, snapshotId, added, signal } = change
  const sequenceNumber = table.metadata['last-sequence-number'] + 1
  const removed = new Set(change.removed.map((e) => e.path))
  const uriOf = tableUris(destination, tablePath, table.metadata)
  const schema = currentSchema(table.metadata)
  const put = async (key: string, bytes: Buffer) => {
    attempt.written.push(key)
    await putBytes(destination, key, bytes, signal)
  }
  const manifests: ManifestFileRecord[] = []
  let n = 0
  for (const m of files.manifests) {
    // A manifest with no live entry only records removals by earlier snapshots (a previous rewrite's
    // DELETED entries, carried along by later appends): the new snapshot need not list it. Expiry
    // still finds it through the snapshots that do.
    if (m.entries.every((e) => e.status === STATUS_DELETED)) continue
    if (!m.entries.some((e) => e.status !== STATUS_DELETED && removed.has(e.path))) {
      manifests.push(m.record)
      continue
    }
    const key = manifestKey(tablePath, snapshotId, n++)
    const { bytes, record } = await rewriteManifest(m, removed, snapshotId, sequenceNumber, schema, UNPARTITIONED, uriOf(key))
    await put(key, bytes)
    manifests.push(record)
  }
  // Every row may have been deleted: then no manifest adds anything.
  if (added.length) {
    const key = manifestKey(tablePath, snapshotId, n)
    const bytes = await encodeManifest(added, ManifestContent.DATA, schema, UNPARTITIONED)
    await put(key, bytes)
    manifests.push(addedManifest(uriOf(key), bytes.length, ManifestContent.DATA, added, snapshotId, sequenceNumber, 0))
  }
  const listKey = manifestListKey(tablePath, snapshotId)
  await put(listKey, await encodeManifestList(manifests, { snapshotId, parentSnapshotId: current['snapshot-id'], sequenceNumber }))

  const next = withSnapshot(table.metadata, {
    snapshotId,
    manifestList: uriOf(listKey),
    summary: {
      operation: 'replace',
      ...replaceTotals(current, change.removed, added),
      [SUMMARY_KEYS.schemaHash]: schemaHash(schema),
    },
    schema,
    lastColumnId: table.metadata['last-column-id'],
    previousMetadataFile: uriOf(metadataKey(tablePath, table.version)),
    now: change.now,
  })
  attempt.attempted = true
  await commitVersion(destination, tablePath, table.version + 1, next, signal)
  return table.version + 1
}

/**
 * Takes an attempt back after `error`: before the commit point, or refused at it, nothing names what
 * it wrote, so it is removed (best effort). After an ambiguous failure at the commit point it stays:
 * the version may exist and name it.
 */
export async function removeUnlessCommitted(destination: Destination, attempt: RewriteAttempt, error: unknown): Promise<void> {
  if (!attempt.attempted || error instanceof LakeCommitConflictError)
    await Promise.all(attempt.written.map((k) => destination.remove(k).catch(() => {})))
}

/**
 * Iceberg's summary counters of a rewrite: data files move, the records of the files removed leave
 * and those of the files added come in, delete files removed leave the totals. Counters of delete
 * files appear only when some were removed (a plain compaction keeps them all).
 */
function replaceTotals(previous: Snapshot, removed: readonly ManifestEntry[], added: readonly TableFile[]): Record<string, string> {
  const prev = (key: string) => Number(previous.summary[key] ?? 0)
  const size = (list: readonly { sizeBytes: number }[]) => list.reduce((n, f) => n + f.sizeBytes, 0)
  const rows = (list: readonly { recordCount: number }[]) => list.reduce((n, f) => n + f.recordCount, 0)
  const data = removed.filter((e) => e.content === FileContent.DATA)
  const deletes = removed.filter((e) => e.content !== FileContent.DATA)
  const eq = deletes.filter((e) => e.content === FileContent.EQUALITY_DELETES)
  const pos = deletes.filter((e) => e.content === FileContent.POSITION_DELETES)
  const out: Record<string, number> = {
    'added-data-files': added.length,
    'deleted-data-files': data.length,
    'added-records': rows(added),
    'deleted-records': rows(data),
    'added-files-size': size(added),
    'removed-files-size': size(removed),
    ...(deletes.length
      ? {
          'removed-delete-files': deletes.length,
          'removed-equality-deletes': rows(eq),
          'removed-position-deletes': rows(pos),
        }
      : {}),
    'total-data-files': prev('total-data-files') - data.length + added.length,
    'total-records': prev('total-records') - rows(data) + rows(added),
    'total-files-size': prev('total-files-size') - size(removed) + size(added),
    'total-delete-files': prev('total-delete-files') - deletes.length,
    'total-equality-deletes': prev('total-equality-deletes') - rows(eq),
    'total-position-deletes': prev('total-position-deletes') - rows(pos),
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, String(v)]))
}
