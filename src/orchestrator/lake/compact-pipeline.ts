/**
 * `delta-extractor compact <pipeline>` (docs/architecture.md#lake-maintenance): the pipeline's tables
 * (the change log and, with `currentState`, `{pipeline}_current`) compacted as one `replace` snapshot
 * each, then their old snapshots expired as after a run (maintain.ts).
 *
 * It holds the pipeline the way resetDelta and deletePipeline do (catalog/pipeline-hold.ts): no run
 * starts while it works, and it refuses while one is active, so no run of the pipeline races it. A
 * foreign writer (or the expiry a run that just ended still runs) can still take a version first; the
 * only-if-absent commit point turns that into a conflict, met by compacting again from the newer
 * version a few times before giving up with nothing changed.
 */
import { randomUUID } from 'node:crypto'
import type { DestinationCatalog } from '../../catalog/destinations.js'
import { HOLD_RENEW_MS, releaseHold, renewHold, takeHold } from '../../catalog/pipeline-hold.js'
import type { Db } from '../../db/client.js'
import { badInput, conflict, notFound } from '../../errors.js'
import { compact, LakeCommitConflictError, loadTable, rewriteWithDeletes, type Snapshot } from '../../lake/iceberg/index.js'
import type { Compression } from '../../transform/compression.js'
import type { Destination } from '../../storage/destination.js'
import { pinWorld } from '../run/pinned.js'
import { currentStatePathOf } from './table-paths.js'
import {
  expireTable,
  MIXED_FOLDERS,
  pipelineTablePaths,
  runFoldersInside,
  type LakeMaintenanceSettings,
  type TableExpiry,
} from './maintain.js'

/**
 * Defaults of the command. 128 MB: large enough that an engine opens few files per query, small
 * enough that a compaction's output files are still many on a big table (parallel reads). 5: Iceberg's
 * own `min-input-files` of rewrite_data_files — fewer small files are not worth a new snapshot.
 */
export const DEFAULT_TARGET_FILE_MB = 128
export const DEFAULT_MIN_INPUT_FILES = 5

/** Compactions after a conflict (a writer other than the pipeline's runs, which the hold keeps out). */
const COMPACT_ATTEMPTS = 3

export interface CompactPipelineOptions {
  targetFileMb: number
  minInputFiles: number
  maintenance: LakeMaintenanceSettings
  signal?: AbortSignal
}

export interface TableCompaction {
  tablePath: string
  /** Data files and rows of the current snapshot before and after (the snapshot summary's totals). */
  filesBefore: number
  filesAfter: number
  rows: number
  /** The `replace` snapshot committed; null when no group had enough small files. */
  snapshotId: string | null
  rewrittenFiles: number
  addedFiles: number
  /** Small files left alone because a delete file applies to them (the change-log table has none). */
  skippedWithDeletes: number
  /** Delete files the rewrite applied and dropped (current-state table: all of them). */
  removedDeleteFiles: number
  expiry: TableExpiry
  /** Why the table's snapshots were not expired (maintain.ts runFoldersInside), or null. */
  expiryRefused: string | null
}

export interface PipelineCompaction {
  pipelineId: string
  pipeline: string
  tables: TableCompaction[]
}

function checkOptions(o: CompactPipelineOptions): void {
  if (!(Number.isFinite(o.targetFileMb) && o.targetFileMb > 0)) throw badInput(`--target-file-mb must be a positive number`, 'targetFileMb')
  if (!Number.isSafeInteger(o.minInputFiles) || o.minInputFiles < 2)
    throw badInput(`--min-input-files must be a whole number of at least 2`, 'minInputFiles')
}

/** Compacts the tables of the pipeline named or with id `ref`. Bad input throws BAD_USER_INPUT or NOT_FOUND with nothing changed; a held or running pipeline CONFLICT. */
export async function compactPipeline(
  deps: { db: Db; destinations: DestinationCatalog },
  ref: string,
  opts: CompactPipelineOptions,
): Promise<PipelineCompaction> {
  checkOptions(opts)
  const { db } = deps
  const named = await db.pipeline.findFirst({ where: { OR: [{ id: ref }, { name: ref }] }, select: { id: true, name: true } })
  if (!named) throw notFound('pipeline', ref)
  const holder = `compact:${randomUUID()}`
  if (!(await takeHold(db, named.id, holder)))
    throw conflict(`pipeline "${named.name}" is being reset, deleted or compacted by another request; try again in a moment`)
  const renew = setInterval(() => void renewHold(db, named.id, holder).catch(() => undefined), HOLD_RENEW_MS)
  let destination: Destination | undefined
  try {
    // Read under the hold: what it says cannot change until the work is done.
    const pipeline = await db.pipeline.findUniqueOrThrow({ where: { id: named.id }, include: { connection: true, destination: true } })
    const world = pinWorld(pipeline)
    const paths = pipelineTablePaths(world)
    if (!paths.length) throw badInput(`pipeline "${pipeline.name}" writes no lake table (output table NONE); there is nothing to compact`)
    const active = await db.run.findUnique({ where: { activeKey: pipeline.id }, select: { id: true } })
    if (active) throw conflict(`pipeline "${pipeline.name}" has an active run (${active.id}); compact after it ends`, { runId: active.id })
    destination = await deps.destinations.open(pipeline.destination)
    if (!(await loadTable(destination, paths[0], opts.signal)))
      throw badInput(`pipeline "${pipeline.name}" has no table yet (no run has committed to ${paths[0]}); there is nothing to compact`)
    const tables: TableCompaction[] = []
    for (const tablePath of paths) {
      // The current-state table appears with the first run that keeps it; until then there is nothing of it to compact.
      if (!(await loadTable(destination, tablePath, opts.signal))) continue
      const mixed = runFoldersInside(world, tablePath)
      const maintenance = mixed ? { ...opts.maintenance, retentionMs: null } : opts.maintenance
      const kind = tablePath === currentStatePathOf(world) ? 'currentState' : 'changeLog'
      const done = await compactTable(destination, tablePath, kind, world.output.compression as Compression, { ...opts, maintenance })
      tables.push({ ...done, expiryRefused: mixed ? MIXED_FOLDERS : null })
    }
    return { pipelineId: pipeline.id, pipeline: pipeline.name, tables }
  } finally {
    clearInterval(renew)
    destination?.close?.()
    await releaseHold(db, named.id, holder)
  }
}

/**
 * The change log is compacted by size (no delete files); the current-state table is rewritten with
 * its deletes applied (rewriteWithDeletes): there the small files are nearly all ones a delete
 * applies to, and the deletes are what queries pay for.
 */
async function compactTable(
  destination: Destination,
  tablePath: string,
  kind: 'changeLog' | 'currentState',
  compression: Compression,
  opts: CompactPipelineOptions,
): Promise<Omit<TableCompaction, 'expiryRefused'>> {
  const before = await currentTotals(destination, tablePath, opts.signal)
  for (let attempt = 1; ; attempt++) {
    let result: { snapshotId: number | null; rewritten: string[]; added: string[]; skippedWithDeletes: number; removedDeletes: number }
    try {
      const options = { targetFileMb: opts.targetFileMb, compression, signal: opts.signal }
      if (kind === 'currentState') {
        const r = await rewriteWithDeletes(destination, tablePath, options)
        result = { ...r, skippedWithDeletes: 0, removedDeletes: r.removedDeletes.length }
      } else result = { ...(await compact(destination, tablePath, { ...options, minInputFiles: opts.minInputFiles })), removedDeletes: 0 }
    } catch (e) {
      if (!(e instanceof LakeCommitConflictError)) throw e
      if (attempt < COMPACT_ATTEMPTS) continue
      throw conflict(
        `table ${tablePath}: another writer committed while the compaction worked, ${attempt} times; nothing was changed, try again`,
      )
    }
    const expiry = await expireTable(destination, tablePath, opts.maintenance, { signal: opts.signal })
    const after = await currentTotals(destination, tablePath, opts.signal)
    return {
      tablePath,
      filesBefore: before.files,
      filesAfter: after.files,
      rows: after.rows,
      snapshotId: result.snapshotId === null ? null : String(result.snapshotId),
      rewrittenFiles: result.rewritten.length,
      addedFiles: result.added.length,
      skippedWithDeletes: result.skippedWithDeletes,
      removedDeleteFiles: result.removedDeletes,
      expiry,
    }
  }
}

/** Data files and rows of the table's current snapshot, from its summary (every commit of this project keeps the totals). */
async function currentTotals(destination: Destination, tablePath: string, signal?: AbortSignal): Promise<{ files: number; rows: number }> {
  const table = await loadTable(destination, tablePath, signal)
  const metadata = table?.metadata
  const current: Snapshot | undefined = metadata?.snapshots.find((s) => s['snapshot-id'] === metadata['current-snapshot-id'])
  return { files: Number(current?.summary['total-data-files'] ?? 0), rows: Number(current?.summary['total-records'] ?? 0) }
}
