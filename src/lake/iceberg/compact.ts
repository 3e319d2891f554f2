/**
 * Compaction (issue 13 point 4, docs/architecture.md#lake-maintenance): rewrites the table's small
 * data files into fewer large ones as one `replace` snapshot with the same rows — the old files
 * DELETED, the new ones ADDED — committed through the only-if-absent commit point.
 *
 * Delete files: only data files no delete file applies to are compacted (spec "Scan Planning": an
 * equality delete applies to data files of a lower data sequence number, a position delete to those
 * of a lower or equal one, unless it names another file). The new files get the new snapshot's
 * sequence number; since no delete applied to their inputs, none applies to them either, and every
 * later delete (higher sequence number) applies to them as it would have to the inputs. On the
 * current-state table nearly every file has deletes: `rewriteWithDeletes` (rewrite-deletes.ts) is
 * the compaction that applies them.
 *
 * Streaming: one input file is held at a time (they are the small ones), read a row group at a time,
 * and rows go to the project's ParquetRoller, which writes row groups to a staging folder and hands
 * back finished files, uploaded at once. Files are grouped by their exact column layout and field
 * ids, so each output file has one schema.
 */
import type { Destination } from '../../storage/destination.js'
import { LakeTableError } from './errors.js'
import { currentSnapshot, newSnapshotId } from './metadata.js'
import { openTableFile, type DataFileLayout } from './parquet-rows.js'
import { commitRewrite, removeUnlessCommitted, type RewriteAttempt } from './rewrite-commit.js'
import { RewriteOutput, type RewriteTableOptions } from './rewrite-output.js'
import { readSnapshotFiles, STATUS_DELETED, type ManifestEntry } from './snapshot-files.js'
import { loadTable } from './table.js'
import { FileContent } from './types.js'

/** `targetFileMb`: inputs at least this big are left alone. */
export interface CompactOptions extends RewriteTableOptions {
  /** A group of fewer small files than this is left alone (at least 2). */
  minInputFiles: number
  now?: () => number
}

export interface CompactResult {
  /** The version committed, or null when no group had enough small files. */
  version: number | null
  snapshotId: number | null
  /** URIs of the data files the snapshot removed from the table (they stay on the destination until expiry). */
  rewritten: string[]
  /** Keys of the new data files. */
  added: string[]
  /** Small data files left alone because a delete file applies to them. */
  skippedWithDeletes: number
}

function checkOptions(o: CompactOptions): void {
  if (!(Number.isFinite(o.targetFileMb) && o.targetFileMb > 0))
    throw new LakeTableError('LAKE_INPUT', `targetFileMb ${o.targetFileMb} must be a positive number`)
  if (!Number.isSafeInteger(o.minInputFiles) || o.minInputFiles < 2)
    throw new LakeTableError('LAKE_INPUT', `minInputFiles ${o.minInputFiles} must be a whole number of at least 2`)
  if (o.rowGroupRows !== undefined && (!Number.isSafeInteger(o.rowGroupRows) || o.rowGroupRows < 1))
    throw new LakeTableError('LAKE_INPUT', `rowGroupRows ${o.rowGroupRows} must be a positive whole number`)
}

/** Whether any delete file may apply to the data file (spec "Scan Planning"; tables are unpartitioned). */
function deletesApply(data: ManifestEntry, deletes: readonly ManifestEntry[]): boolean {
  return deletes.some((d) =>
    d.content === FileContent.EQUALITY_DELETES
      ? d.sequenceNumber > data.sequenceNumber
      : d.sequenceNumber >= data.sequenceNumber && (d.referencedDataFile === null || d.referencedDataFile === data.path),
  )
}

/** Compacts the current snapshot's small data files. Throws LakeCommitConflictError when a run committed meanwhile; nothing of the compaction stays then. */
export async function compact(destination: Destination, tablePath: string, options: CompactOptions): Promise<CompactResult> {
  checkOptions(options)
  const { signal } = options
  const targetBytes = Math.round(options.targetFileMb * 1024 * 1024)
  const table = await loadTable(destination, tablePath, signal)
  const current = table ? currentSnapshot(table.metadata) : null
  if (!table || !current) throw new LakeTableError('LAKE_INPUT', `table ${tablePath} does not exist or has no snapshot`)
  const files = await readSnapshotFiles(destination, tablePath, current, signal)
  const live = files.manifests.flatMap((m) => m.entries.filter((e) => e.status !== STATUS_DELETED))
  const deletes = live.filter((e) => e.content !== FileContent.DATA)
  const small = live.filter((e) => e.content === FileContent.DATA && e.sizeBytes < targetBytes)
  const eligible = small.filter((e) => !deletesApply(e, deletes))
  const nothing = { version: null, snapshotId: null, rewritten: [], added: [], skippedWithDeletes: small.length - eligible.length }

  // Group by layout: read footers one file at a time (the bytes are dropped after the footer is read).
  const groups = new Map<string, { layout: DataFileLayout; entries: ManifestEntry[] }>()
  for (const e of eligible) {
    const { layout } = await openTableFile(destination, e.path, signal)
    const g = groups.get(layout.signature) ?? { layout, entries: [] }
    g.entries.push(e)
    groups.set(layout.signature, g)
  }
  const chosen = [...groups.values()].filter((g) => g.entries.length >= options.minInputFiles)
  if (!chosen.length) return nothing

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
    const inputs = chosen.flatMap((g) => g.entries)
    for (const entry of inputs) {
      const input = await openTableFile(destination, entry.path, signal)
      let rows = 0
      for (let g = 0; g < input.rowGroups; g++) {
        const batch = await input.readRowGroup(g)
        rows += batch.length
        await output.write(input.layout, batch)
      }
      // The manifest's record count is the promise the rewrite keeps: every row, once.
      if (rows !== entry.recordCount)
        throw new LakeTableError('LAKE_TABLE_INVALID', `${entry.path}: read ${rows} rows, the manifest lists ${entry.recordCount}`)
    }
    await output.finish()
    const rowsIn = inputs.reduce((n, e) => n + e.recordCount, 0)
    if (rowsIn !== output.rowsOut)
      throw new LakeTableError('LAKE_TABLE_INVALID', `compaction read ${rowsIn} rows but wrote ${output.rowsOut}`)

    const version = await commitRewrite(
      destination,
      tablePath,
      { table, current, files, snapshotId, removed: inputs, added: output.added, now: options.now?.() ?? Date.now(), signal },
      attempt,
    )
    return {
      version,
      snapshotId,
      rewritten: inputs.map((e) => e.path),
      added: output.addedKeys,
      skippedWithDeletes: nothing.skippedWithDeletes,
    }
  } catch (e) {
    await removeUnlessCommitted(destination, attempt, e)
    throw e
  } finally {
    await output.dispose()
  }
}
