import { setTimeout as sleep } from 'node:timers/promises'
import { backoff, type BackoffPolicy } from '../../util/backoff.js'
import { commitRun } from '../commit.js'
import type { RunContext } from './context.js'

/** Database commit attempts of a published run before it is left to the lost-run sweep. */
const COMMIT_ATTEMPTS = 4
/** 250, 500, 1,000 ms between them: a busy database frees up quickly, and the run holds its lease. */
const COMMIT_BACKOFF: BackoffPolicy = { baseMs: 250, maxMs: 1_000 }

export type Settled = 'SUCCEEDED' | 'RELEASED'

/**
 * The database commit of a run whose manifest is published: the run becomes SUCCEEDED and the delta
 * moves, in one transaction, while this worker still holds the run. It never fails the run — the
 * lake already shows it as committed (docs/architecture.md#rule-6). A database that refuses (busy, a dropped
 * connection) is tried again; if it keeps refusing, or the run has changed hands, the run is left
 * for the lost-run sweep, which commits it from its manifest (roll-forward).
 */
export async function commitPublished(ctx: RunContext): Promise<Settled> {
  const { deps, run, tracker, log } = ctx
  tracker.stop()
  for (let attempt = 1; attempt <= COMMIT_ATTEMPTS; attempt++) {
    try {
      if (await commitRun(deps.db, run, { workerId: deps.workerId }, { ...ctx.commit!, counters: tracker.counters })) {
        // Counted here, by the transaction that ended the run, and nowhere else (docs/architecture.md#metrics).
        const { rowsWritten, bytesWritten } = tracker.counters
        deps.observer?.runEnded({
          status: 'SUCCEEDED',
          errorCode: null,
          mode: run.extractionMode,
          startedAt: run.startedAt,
          rowsWritten,
          bytesWritten,
        })
        return succeeded(ctx)
      }
      // Not held: committed from this manifest already (our own commit whose reply was lost, or
      // another process's roll-forward), or another process owns the run now and will commit it.
      const now = await deps.db.run.findUnique({ where: { id: run.id }, select: { status: true, manifestUri: true } })
      if (now?.status === 'SUCCEEDED' && now.manifestUri === ctx.commit!.manifestUri) return succeeded(ctx)
      log.warn('the run changed hands after its manifest was written; its new owner commits it from the manifest')
      return 'RELEASED'
    } catch (err) {
      log.warn({ err, attempt }, 'the database commit of a published run failed')
      if (attempt < COMMIT_ATTEMPTS) await sleep(backoff(COMMIT_BACKOFF, attempt - 1))
    }
  }
  await releaseForRollForward(ctx)
  return 'RELEASED'
}

function succeeded(ctx: RunContext): Settled {
  ctx.tracker.publishStatus('SUCCEEDED', 'DONE')
  ctx.log.info({ manifest: ctx.commit?.manifestUri }, 'run committed')
  return 'SUCCEEDED'
}

/**
 * Hands a run whose manifest exists, or may exist, to the lost-run sweep: it stays RUNNING in
 * COMMITTING, so a sweep (in any process) reads the store and commits it from its manifest, or fails
 * it as lost when the store says there is none. Nothing is removed. A published manifest can be
 * committed by the next sweep; a manifest in doubt gets a full lease first, so that a write still
 * in flight at the store has landed (or died) before anyone looks.
 */
export async function releaseForRollForward(ctx: RunContext): Promise<Settled> {
  const { deps, run, tracker, log } = ctx
  tracker.stop()
  const heartbeatAt = ctx.publication === 'published' ? new Date(0) : new Date()
  await deps.db.run
    .updateMany({ where: { id: run.id, status: 'RUNNING', workerId: deps.workerId }, data: { stage: 'COMMITTING', heartbeatAt } })
    .catch((err) => log.warn({ err }, 'could not hand the run to the lost-run sweep; its heartbeat goes stale by itself'))
  log.warn({ publication: ctx.publication }, 'run left for roll-forward: its manifest is, or may be, in the lake')
  return 'RELEASED'
}
