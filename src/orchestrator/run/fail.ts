import type { Prisma } from '../../db/client.js'
import { removeFailedOutput } from '../leftovers.js'
import { writeRunLine } from '../run-log.js'
import { classifyRunError, type RunError } from '../run-errors.js'
import { abortReason, type RunContext } from './context.js'
import { LeaseLost, ManifestAfterSnapshot } from './publish.js'
import { commitPublished, releaseForRollForward, type Settled } from './settle.js'

/** How long a failed run may spend removing its files before leaving them to the next run. */
const CLEANUP_TIMEOUT_MS = 30_000

export type Ended = { status: Settled | 'FAILED' | 'CANCELLED'; error?: RunError }

/**
 * How a run ends when a stage threw. In this order:
 * - its manifest (or table snapshot) is, or may be, in the lake: it is committed, now or by
 *   roll-forward, never removed;
 * - it is no longer this worker's: its outcome and files are the new owner's business;
 * - the process is shutting down: it is released, and the next start recovers the same delta;
 * - otherwise it failed (or was cancelled): recorded with its class, and its files removed.
 */
export async function endFailed(ctx: RunContext, e: unknown): Promise<Ended> {
  // Committed by its table snapshot, manifest.json still to write: the sweep writes it, then commits.
  if (ctx.publication === 'published' && e instanceof ManifestAfterSnapshot) return { status: await releaseForRollForward(ctx) }
  if (ctx.publication === 'published') return { status: await commitPublished(ctx) }
  if (ctx.publication === 'in-doubt') return { status: await releaseForRollForward(ctx) }
  const reason = abortReason(ctx)
  if (e instanceof LeaseLost || (reason && 'leaseLost' in reason)) {
    ctx.tracker.stop()
    ctx.log.warn('run stopped: another process declared it lost and re-ran the pipeline')
    return { status: 'RELEASED' }
  }
  if (reason && 'shutdown' in reason) return { status: await releaseAtShutdown(ctx) }
  return markFailed(
    ctx,
    classifyRunError(reason ?? e, (id, err) => ctx.log.error({ err, errorId: id }, 'run failed unexpectedly')),
  )
}

/**
 * Leaves the run RUNNING with a heartbeat in the past: the next start sees a lost run at once, fails
 * it as WORKER_LOST and runs the pipeline again, recovering the same delta.
 */
async function releaseAtShutdown(ctx: RunContext): Promise<Settled> {
  const { deps, run, tracker } = ctx
  tracker.stop()
  await deps.db.run.updateMany({ where: { id: run.id, status: 'RUNNING', workerId: deps.workerId }, data: { heartbeatAt: new Date(0) } })
  ctx.log.info('run released for recovery at shutdown')
  return 'RELEASED'
}

async function markFailed(ctx: RunContext, error: RunError): Promise<Ended> {
  const { deps, run, tracker, log } = ctx
  const status = error.code === 'CANCELLED' ? 'CANCELLED' : 'FAILED'
  tracker.stop()
  // The error is the run's last log line, stored with the status (docs/architecture.md#progress).
  const endLine = {
    level: status === 'CANCELLED' ? 'warn' : 'error',
    stage: tracker.stage,
    message: error.message,
    data: { code: error.code },
  } as const
  const ended = await deps.db.$transaction(async (tx) => {
    const marked = await tx.run.updateMany({
      where: { id: run.id, status: 'RUNNING', workerId: deps.workerId },
      data: {
        status,
        activeKey: null,
        finishedAt: new Date(),
        errorCode: error.code,
        errorMessage: error.message,
        errorRetryable: error.retryable,
        ...tracker.counters,
      },
    })
    if (marked.count !== 1) return null
    if (error.code === 'DELTA_POSITION_LOST') await markPositionLost(tx, run.pipelineId)
    return writeRunLine(tx, run, endLine)
  })
  if (!ended) {
    // Declared lost meanwhile: its files are not this worker's leftovers to remove.
    log.warn({ code: error.code }, "run failed after it stopped being this worker's; leaving its outcome and files alone")
    return { status: 'RELEASED' }
  }
  tracker.publishStatus(status)
  deps.bus.publish(ended)
  deps.observer?.runEnded({
    status,
    errorCode: error.code,
    mode: run.extractionMode,
    startedAt: run.startedAt,
    rowsWritten: 0n,
    bytesWritten: 0n,
  })
  log.info({ code: error.code }, `run ${status.toLowerCase()}`)
  // Files of a run that did not commit are not data: remove them (or leave the prefix recorded for
  // the next run to remove; without a manifest readers already see it as incomplete). Bounded in
  // time: a storage outage must not hold a worker slot for the SDK's whole retry schedule.
  if (ctx.destination) await removeFailedOutput(deps.db, run.id, ctx.destination, ctx.prefix, log, AbortSignal.timeout(CLEANUP_TIMEOUT_MS))
  return { status, error }
}

/**
 * SAP no longer knows the position. The subscription was ended or taken over elsewhere, and is not
 * this pipeline's to end any more (resetDelta then only forgets the local position). The state is
 * marked lost and nothing is pending, so the next plain run is refused instead of becoming a
 * RECOVERY that asks for the same lost token (docs/architecture.md#position-lost).
 */
async function markPositionLost(tx: Prisma.TransactionClient, pipelineId: string): Promise<void> {
  await tx.pipeline.update({ where: { id: pipelineId }, data: { subscribedAt: null } })
  await tx.deltaState.updateMany({ where: { pipelineId }, data: { positionLostAt: new Date(), pendingRunId: null } })
}
