/**
 * Compaction that applies delete files (issue 13 point 4, docs/architecture.md#lake-maintenance):
 * the current-state table is merge-on-read, and every DELTA adds an equality delete (applying to every
 * older data file) and a position delete, so read cost grows with each delta. This rewrites the live
 * rows of the data files deletes reach into new files of about `targetFileMb` and commits one
 * `replace` snapshot that removes those data files and EVERY delete file: the table is then read
 * without any delete.
 *
 * Which data files are rewritten: those a delete removes at least one row from, and the small ones.
 * A data file no delete removes a row from stays as it is, even when an equality delete's sequence
 * number reaches it: dropping that delete changes nothing for it. Files a delete might reach are read
 * once to find out (keys only); large files of a full load that later deltas never touched are thus
 * read but not rewritten, and files no equality delete reaches and no position names are not read.
 * So every delete file can go: each row any of them removed was in a rewritten file and is not in the
 * outputs. The outputs take the new snapshot's sequence number N, above every dropped delete, and
 * later deltas (sequence > N) apply to them and to the files kept, as to any data file.
 *
 * Streaming: the deleted keys (with their sequence numbers) and the deleted positions are held
 * (`delete-index.ts`, bounded by the changes since the last full load); data files are read one at a
 * time, a row group at a time, and written with ParquetRoller as compaction does (`rewrite-output.ts`).
 * Promise checked while rewriting: rows out = rows in − rows deleted, and each file's rows equal its
 * manifest entry; otherwise LAKE_TABLE_INVALID, nothing committed and everything written removed.
 */
import type { Value } from '../../sap/fields.js'
import type { Destination } from '../../storage/destination.js'
import { columnsOfIds, matchIdentity, readDeleteIndex, type DeleteIndex } from './delete-index.js'
import { LakeTableError } from './errors.js'
import { currentSnapshot, newSnapshotId } from './metadata.js'
import { openTableFile, type OpenDataFile } from './parquet-rows.js'
import { commitRewrite, removeUnlessCommitted, type RewriteAttempt } from './rewrite-commit.js'
import { RewriteOutput, type RewriteTableOptions } from './rewrite-output.js'
import { readSnapshotFiles, STATUS_DELETED, type ManifestEntry } from './snapshot-files.js'
import { loadTable } from './table.js'
import { FileContent } from './types.js'

/** `targetFileMb`: data files smaller than this are rewritten too. */
export interface RewriteWithDeletesOptions extends RewriteTableOptions {
  now?: () => number
}

export interface RewriteWithDeletesResult {
  /** The version committed, or null when the snapshot has no delete file and fewer than two small data files. */
  version: number | null
  snapshotId: number | null
  /** URIs of the data files the snapshot removed (they stay on the destination until expiry). */
  rewritten: string[]
  /** URIs of the delete files the snapshot removed: all of them. */
  removedDeletes: string[]
  /** Keys of the new data files. */
  added: string[]
  /** Data files left as they are (no delete removed a row of them, and not small). */
  kept: number
  /** Rows read from the rewritten files, rows a delete removed, rows written. */
  rowsIn: number
  rowsDeleted: number
  rowsOut: number
}

function checkOptions(o: RewriteWithDeletesOptions): void {
  if (!(Number.isFinite(o.targetFileMb) && o.targetFileMb > 0))
    throw new LakeTableError('LAKE_INPUT', `targetFileMb ${o.targetFileMb} must be a positive number`)
  if (o.rowGroupRows !== undefined && (!Number.isSafeInteger(o.rowGroupRows) || o.rowGroupRows < 1))
    throw new LakeTableError('LAKE_INPUT', `rowGroupRows ${o.rowGroupRows} must be a positive whole number`)
}

/**
 * Whether an equality delete removes a row of the data file `entry`: only deletes of a higher
 * sequence number apply (spec "Scan Planning"). `valueOf(i)` gives the row's value of column i.
 */
function keyMatcher(index: DeleteIndex, entry: ManifestEntry, file: OpenDataFile) {
  const sets = index.equality.map((set) => ({ keys: set.keys, at: columnsOfIds(file.layout, set.ids) }))
  return {
    /** The columns matched on (indexes into the file's columns). */
    columns: [...new Set(sets.flatMap(({ at }) => at.filter((i) => i >= 0)))],
    deleted: (valueOf: (i: number) => Value) =>
      sets.some(({ keys, at }) => (keys.get(matchIdentity(at.map((i) => (i < 0 ? null : valueOf(i))))) ?? -1) > entry.sequenceNumber),
  }
}

/** Whether an equality delete removes any row of `file`: reads its key columns only, one row group at a time. */
async function anyKeyDeleted(index: DeleteIndex, entry: ManifestEntry, file: OpenDataFile): Promise<boolean> {
  const matcher = keyMatcher(index, entry, file)
  const slot = new Map(matcher.columns.map((c, j) => [c, j]))
  const names = matcher.columns.map((c) => file.layout.columns[c].name)
  for (let g = 0; g < file.rowGroups; g++)
    for (const keys of await file.readColumns(g, names)) if (matcher.deleted((i) => keys[slot.get(i) ?? -1] ?? null)) return true
  return false
}

/** Whether a position delete names each row, asked with ascending positions. */
function positionMatcher(positions: readonly number[]) {
  let next = 0
  return (pos: number): boolean => {
    while (next < positions.length && positions[next] < pos) next++
    return next < positions.length && positions[next] === pos
  }
}

/**
 * Rewrites the current snapshot's data files with its delete files applied and removes every delete
 * file, as one `replace` snapshot. Throws LakeCommitConflictError when a run committed meanwhile;
 * nothing of the rewrite stays then.
 */
export async function rewriteWithDeletes(
  destination: Destination,
  tablePath: string,
  options: RewriteWithDeletesOptions,
): Promise<RewriteWithDeletesResult> {
  checkOptions(options)
  const { signal } = options
  const targetBytes = Math.round(options.targetFileMb * 1024 * 1024)
  const table = await loadTable(destination, tablePath, signal)
  const current = table ? currentSnapshot(table.metadata) : null
  if (!table || !current) throw new LakeTableError('LAKE_INPUT', `table ${tablePath} does not exist or has no snapshot`)
  const files = await readSnapshotFiles(destination, tablePath, current, signal)
  const live = files.manifests.flatMap((m) => m.entries.filter((e) => e.status !== STATUS_DELETED))
  const data = live.filter((e) => e.content === FileContent.DATA)
  const deletes = live.filter((e) => e.content !== FileContent.DATA)
  const small = (e: ManifestEntry) => e.sizeBytes < targetBytes
  const nothing: RewriteWithDeletesResult = {
    version: null,
    snapshotId: null,
    rewritten: [],
    removedDeletes: [],
    added: [],
    kept: data.length,
    rowsIn: 0,
    rowsDeleted: 0,
    rowsOut: 0,
  }
  if (!deletes.length && data.filter(small).length < 2) return nothing

  const index = await readDeleteIndex(destination, deletes, new Map(data.map((e) => [e.path, e.sequenceNumber])), signal)
  const snapshotId = newSnapshotId()
  const attempt: RewriteAttempt = { written: [], attempted: false }
  const output = await RewriteOutput.forTable(
    destination,
    { path: tablePath, metadata: table.metadata },
    snapshotId,
    attempt.written,
    options,
  )
  try {
    const rewritten: ManifestEntry[] = []
    let rowsIn = 0
    let rowsDeleted = 0
    for (const entry of data) {
      const named = (index.positions.get(entry.path)?.length ?? 0) > 0
      const reached = index.maxEqualitySequence > entry.sequenceNumber
      if (!small(entry) && !named && !reached) continue
      const file = await openTableFile(destination, entry.path, signal)
      if (!small(entry) && !named && !(await anyKeyDeleted(index, entry, file))) continue

      const byKey = keyMatcher(index, entry, file)
      const byPosition = positionMatcher(index.positions.get(entry.path) ?? [])
      let position = 0
      for (let g = 0; g < file.rowGroups; g++) {
        const batch = await file.readRowGroup(g)
        const keep = batch.filter((row) => {
          const gone = byPosition(position++) || (reached && byKey.deleted((i) => row[i]))
          if (gone) rowsDeleted++
          return !gone
        })
        await output.write(file.layout, keep)
      }
      // The manifest's record count is what readers were promised: every row read, once.
      if (position !== entry.recordCount)
        throw new LakeTableError('LAKE_TABLE_INVALID', `${entry.path}: read ${position} rows, the manifest lists ${entry.recordCount}`)
      rowsIn += position
      rewritten.push(entry)
    }
    await output.finish()
    // The rewrite's promise, counted while rewriting: rows out = rows in − rows deleted.
    if (output.rowsOut !== rowsIn - rowsDeleted)
      throw new LakeTableError(
        'LAKE_TABLE_INVALID',
        `rewrite of ${tablePath}: read ${rowsIn} rows and deleted ${rowsDeleted}, but wrote ${output.rowsOut}`,
      )
    const version = await commitRewrite(
      destination,
      tablePath,
      {
        table,
        current,
        files,
        snapshotId,
        removed: [...rewritten, ...deletes],
        added: output.added,
        now: options.now?.() ?? Date.now(),
        signal,
      },
      attempt,
    )
    return {
      version,
      snapshotId,
      rewritten: rewritten.map((e) => e.path),
      removedDeletes: deletes.map((e) => e.path),
      added: output.addedKeys,
      kept: data.length - rewritten.length,
      rowsIn,
      rowsDeleted,
      rowsOut: output.rowsOut,
    }
  } catch (e) {
    await removeUnlessCommitted(destination, attempt, e)
    throw e
  } finally {
    await output.dispose()
  }
}
