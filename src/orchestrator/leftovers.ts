import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { DestinationCatalog } from '../catalog/destinations.js'
import type { Db } from '../db/client.js'
import type { Destination } from '../storage/destination.js'
import type { Logger } from '../util/logger.js'
import { findRunSnapshot } from '../lake/iceberg/index.js'
import { tablePathOf } from './lake/table-paths.js'
import { pinnedOf, type PinnedWorld } from './run/pinned.js'

/**
 * Leftovers of runs that did not commit. A run records its prefix (`Run.uncommittedPrefix`) before
 * it writes anything; the commit clears it, and so does a successful clean-up after a failure. When
 * the clean-up itself fails (the storage went away, which is often why the run failed) or the
 * process died mid-run, the prefix stays recorded: such a prefix has no manifest.json, so readers
 * already know it is incomplete, and the next run of the pipeline removes it here — on the
 * destination that run pinned, wherever the pipeline writes now. A prefix whose run published its
 * manifest is never a leftover: such a run is committed (now or by roll-forward), not failed.
 */

/** Records that `prefix` may receive objects of this run from now on. */
export async function markUncommitted(db: Db, runId: string, prefix: string): Promise<void> {
  await db.run.update({ where: { id: runId }, data: { uncommittedPrefix: prefix } })
}

/** Removes a failed run's objects now; leaves the prefix recorded if that fails. */
export async function removeFailedOutput(
  db: Db,
  runId: string,
  destination: Destination,
  prefix: string,
  log: Logger,
  signal?: AbortSignal,
): Promise<void> {
  try {
    await destination.removePrefix(prefix, signal)
    await db.run.update({ where: { id: runId }, data: { uncommittedPrefix: null } })
  } catch (err) {
    log.warn({ err: describe(err), prefix }, 'could not remove the objects of the failed run; the next run of the pipeline removes them')
  }
}

export interface LeftoverDeps {
  db: Db
  destinations: DestinationCatalog
  log: Logger
  stagingDir: string
}

/**
 * Removes what earlier failed, cancelled or lost runs of the pipeline left behind: their objects,
 * each on the destination it pinned, and their local staging folders. Never fails the run that calls
 * it: if the storage is still unreachable, that run will say so itself.
 */
export async function sweepLeftovers(deps: LeftoverDeps, pipelineId: string, currentRunId: string, signal?: AbortSignal): Promise<number> {
  const { db, log } = deps
  const stale = await db.run.findMany({
    where: { pipelineId, id: { not: currentRunId }, uncommittedPrefix: { not: null }, status: { in: ['FAILED', 'CANCELLED'] } },
    select: { id: true, uncommittedPrefix: true, pinned: true, pipeline: { include: { destination: true, connection: true } } },
    orderBy: { id: 'asc' },
  })
  let removed = 0
  for (const r of stale) {
    await rm(join(deps.stagingDir, r.id), { recursive: true, force: true })
    let destination: Destination | undefined
    try {
      const world = pinnedOf(r, () => r.pipeline)
      destination = await deps.destinations.openPinned(world.destination)
      if (await inTable(destination, world, r.id, signal)) {
        // Committed by its table snapshot after all (a run cancelled while the store could not say):
        // its files are the table's now, and removing them would break every read of the table.
        log.warn({ runId: r.id }, "an ended run's files are in its pipeline's lake table (its snapshot names them); they stay")
        await db.run.update({ where: { id: r.id }, data: { uncommittedPrefix: null } })
        continue
      }
      await destination.removePrefix(r.uncommittedPrefix!, signal)
      await db.run.update({ where: { id: r.id }, data: { uncommittedPrefix: null } })
      removed++
    } catch (err) {
      if (signal?.aborted) throw err
      log.warn({ err: describe(err), runId: r.id }, 'could not remove the leftovers of an earlier run; trying again at the next run')
    } finally {
      destination?.close?.()
    }
  }
  return removed
}

/**
 * Staging folders (`DATA_DIR/staging/<runId>`) of runs no process is running any more: what a killed
 * process left on this machine's disk. A folder of a run that is still RUNNING (another process
 * sharing DATA_DIR) is left alone.
 */
export async function sweepStaging(db: Db, stagingDir: string, log: Logger): Promise<number> {
  const names = await readdir(stagingDir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [] as string[]
    throw e
  })
  if (!names.length) return 0
  const running = await db.run.findMany({ where: { id: { in: names }, status: 'RUNNING' }, select: { id: true } })
  const keep = new Set(running.map((r) => r.id))
  const stale = names.filter((n) => !keep.has(n))
  for (const name of stale) await rm(join(stagingDir, name), { recursive: true, force: true })
  if (stale.length) log.info({ removed: stale.length }, 'removed staging folders left by runs that are no longer running')
  return stale.length
}

/** Whether an ICEBERG pipeline's change-log table has a snapshot of the run. */
async function inTable(destination: Destination, world: PinnedWorld, runId: string, signal?: AbortSignal): Promise<boolean> {
  const tablePath = tablePathOf(world)
  return tablePath !== null && (await findRunSnapshot(destination, tablePath, runId, signal)) !== null
}

/** Storage errors are logged by class and message only (their messages are already redacted). */
const describe = (e: unknown) => ({ name: (e as Error)?.name, code: (e as { code?: string })?.code, message: (e as Error)?.message })
