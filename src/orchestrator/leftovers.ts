import type { Db } from '../db/client.js'
import type { Destination } from '../storage/destination.js'
import type { Logger } from '../util/logger.js'

/**
 * Leftovers of runs that did not commit. A run records its prefix (`Run.uncommittedPrefix`) before
 * it writes anything; the commit clears it, and so does a successful clean-up after a failure. When
 * the clean-up itself fails (the storage went away, which is often why the run failed) or the
 * process died mid-run, the prefix stays recorded: such a prefix has no manifest.json, so readers
 * already know it is incomplete, and the next run of the pipeline removes it here.
 */

/** Records that `prefix` may receive objects of this run from now on. */
export async function markUncommitted(db: Db, runId: string, prefix: string): Promise<void> {
  await db.run.update({ where: { id: runId }, data: { uncommittedPrefix: prefix } })
}

/** Removes a failed run's objects now; leaves the prefix recorded if that fails. */
export async function removeFailedOutput(db: Db, runId: string, destination: Destination, prefix: string, log: Logger, signal?: AbortSignal): Promise<void> {
  try {
    await destination.removePrefix(prefix, signal)
    await db.run.update({ where: { id: runId }, data: { uncommittedPrefix: null } })
  } catch (err) {
    log.warn({ err: describe(err), prefix }, 'could not remove the objects of the failed run; the next run of the pipeline removes them')
  }
}

/**
 * Removes what earlier failed, cancelled or lost runs of the pipeline left behind. Never fails the
 * run that calls it: if the storage is still unreachable, that run will say so itself.
 */
export async function sweepLeftovers(db: Db, pipelineId: string, currentRunId: string, destination: Destination, log: Logger, signal?: AbortSignal): Promise<number> {
  const stale = await db.run.findMany({
    where: { pipelineId, id: { not: currentRunId }, uncommittedPrefix: { not: null }, status: { in: ['FAILED', 'CANCELLED'] } },
    select: { id: true, uncommittedPrefix: true },
    orderBy: { id: 'asc' },
  })
  let removed = 0
  for (const r of stale) {
    try {
      await destination.removePrefix(r.uncommittedPrefix!, signal)
      await db.run.update({ where: { id: r.id }, data: { uncommittedPrefix: null } })
      removed++
    } catch (err) {
      if (signal?.aborted) throw err
      log.warn({ err: describe(err), runId: r.id }, 'could not remove the leftovers of an earlier run; trying again at the next run')
      break
    }
  }
  return removed
}

/** Storage errors are logged by class and message only (their messages are already redacted). */
const describe = (e: unknown) => ({ name: (e as Error)?.name, code: (e as { code?: string })?.code, message: (e as Error)?.message })
