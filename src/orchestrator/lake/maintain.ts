/**
 * Snapshot expiry of a pipeline's lake tables, as the service runs it (docs/architecture.md#lake-maintenance):
 * after every committed run of an ICEBERG pipeline, and after `delta-extractor compact`. Both of the
 * pipeline's tables (the change log and, with `currentState`, `{pipeline}_current`) expire snapshots
 * older than LAKE_SNAPSHOT_RETENTION_DAYS, keeping the newest RETAIN_LAST whatever their age.
 *
 * What a table owns: only `<table>/data`, where delete files and compaction outputs are written. A
 * run's Parquet files live in its run folder, are data files of both tables at once, and stay listed
 * by the run's manifest.json: expiry never removes them, however unreferenced by snapshots.
 */
import { lakeTablePathList } from '../../catalog/lake-output.js'
import { expireSnapshots, LakeCommitConflictError, loadTable, type ExpireResult } from '../../lake/iceberg/index.js'
import type { Destination } from '../../storage/destination.js'
import { runPrefix, type RunContext } from '../run/context.js'
import type { PinnedWorld } from '../run/pinned.js'

const DAY_MS = 24 * 60 * 60_000

/**
 * The newest snapshots kept whatever their age. A constant, not a setting: it only matters when runs
 * are rarer than the retention (a weekly pipeline with 7 days' retention would otherwise keep just its
 * current snapshot), and five runs back is enough to read or roll back past a bad run.
 */
const RETAIN_LAST = 5

export interface LakeMaintenanceSettings {
  /** Snapshots older than this are expired; null = never (LAKE_SNAPSHOT_RETENTION_DAYS=0). */
  retentionMs: number | null
  retainLast: number
  /** The clock retention is measured on; tests move it instead of waiting days. */
  now?: () => number
}

/** LAKE_SNAPSHOT_RETENTION_DAYS as the orchestrator takes it. */
export function lakeMaintenanceOf(retentionDays: number): LakeMaintenanceSettings {
  return { retentionMs: retentionDays > 0 ? retentionDays * DAY_MS : null, retainLast: RETAIN_LAST }
}

export const DEFAULT_LAKE_MAINTENANCE: LakeMaintenanceSettings = lakeMaintenanceOf(7)

/** The pipeline's tables, change log first; none for a pipeline without a table. */
export function pipelineTablePaths(world: Pick<PinnedWorld, 'pipelineName' | 'output'>): string[] {
  return lakeTablePathList(world.pipelineName, world.output)
}

/**
 * Whether the pipeline's run folders (its path template) lie inside a folder the table cleans up: its
 * `metadata/`, or the `data/` expiry owns (`{pipeline}/data/{runId}` is a valid template). Expiry would
 * then remove run files that manifest.json still lists, so it is not run for such a table. The
 * template cannot put a run folder anywhere else under the table: every placeholder but {pipeline}
 * and {entity} varies by run, and `{runId}` is required.
 */
export function runFoldersInside(world: PinnedWorld, tablePath: string): boolean {
  const sample = `${runPrefix(world, { id: 'run', queuedAt: new Date(0), extractionMode: 'FULL' })}/`
  return sample.startsWith(`${tablePath}/data/`) || sample.startsWith(`${tablePath}/metadata/`)
}

/** Why a table is not expired, for the log and the run's events. */
export const MIXED_FOLDERS =
  "its run folders lie inside the table's data/ or metadata/ folder (output pathTemplate), where expiry would remove run files; change pathTemplate to expire it"

/** What expiry did to one table; `expired: null` when the table does not exist yet or nothing was due. */
export interface TableExpiry {
  tablePath: string
  version: number | null
  expiredSnapshots: number
  removed: number
  /** Objects nothing references any more whose removal failed: for removal by hand (expiry will not name them again). */
  notRemoved: string[]
}

/**
 * Expires one table's old snapshots. Another writer committing the same version first (a run of the
 * pipeline started meanwhile) is met by one more try from the newer version; a second conflict is
 * thrown and left to the next time. A table not created yet has nothing to expire.
 */
export async function expireTable(
  destination: Destination,
  tablePath: string,
  settings: LakeMaintenanceSettings,
  opts: { signal?: AbortSignal } = {},
): Promise<TableExpiry> {
  const none: TableExpiry = { tablePath, version: null, expiredSnapshots: 0, removed: 0, notRemoved: [] }
  if (settings.retentionMs === null) return none
  const now = settings.now ?? Date.now
  for (let attempt = 1; ; attempt++) {
    if (!(await loadTable(destination, tablePath, opts.signal))) return none
    let r: ExpireResult
    try {
      r = await expireSnapshots(destination, tablePath, {
        olderThan: now() - settings.retentionMs,
        retainLast: settings.retainLast,
        ownedPrefixes: [`${tablePath}/data`],
        signal: opts.signal,
        now,
      })
    } catch (e) {
      if (e instanceof LakeCommitConflictError && attempt < 2) continue
      throw e
    }
    return {
      tablePath,
      version: r.version,
      expiredSnapshots: r.expiredSnapshotIds.length,
      removed: r.removed.length,
      notRemoved: r.notRemoved,
    }
  }
}

/** A line for a log or a run's events: what expiry did, or null when it did nothing. */
export function expiryLine(e: TableExpiry): string | null {
  if (e.version === null) return null
  const left = e.notRemoved.length ? `; ${e.notRemoved.length} unreferenced object(s) could not be removed: ${e.notRemoved.join(', ')}` : ''
  return `table ${e.tablePath}: expired ${e.expiredSnapshots} snapshot(s) in version ${e.version}, removed ${e.removed} object(s)${left}`
}

/**
 * After a run of an ICEBERG pipeline committed (SUCCEEDED): expiry of its tables. It can never fail
 * the run or take it back: a failure is logged and noted on the run as a warning, and the next run
 * tries again. These lines come after the run's last status line (the run has ended already).
 */
export async function maintainAfterRun(ctx: RunContext, settings: LakeMaintenanceSettings): Promise<void> {
  if (settings.retentionMs === null || !ctx.destination) return
  for (const tablePath of pipelineTablePaths(ctx.world)) {
    if (runFoldersInside(ctx.world, tablePath)) {
      await ctx.tracker.note('warn', `table ${tablePath}: snapshots are not expired: ${MIXED_FOLDERS}`).catch(() => undefined)
      continue
    }
    try {
      const expiry = await expireTable(ctx.destination, tablePath, settings, { signal: ctx.signal })
      const line = expiryLine(expiry)
      if (!line) continue
      ctx.log.info({ tablePath, expiredSnapshots: expiry.expiredSnapshots, removed: expiry.removed }, 'lake snapshots expired')
      await ctx.tracker.note(expiry.notRemoved.length ? 'warn' : 'info', line).catch(() => undefined)
    } catch (err) {
      const message = (err as Error)?.message
      ctx.log.warn({ err, tablePath }, 'lake snapshot expiry failed; the run is committed, the next run tries again')
      await ctx.tracker
        .note('warn', `table ${tablePath}: snapshot expiry failed (${message}); the run is committed, the next run tries again`)
        .catch(() => undefined)
    }
  }
}
