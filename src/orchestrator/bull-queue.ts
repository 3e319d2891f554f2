import { DelayedError, type Job, Queue, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import type { Broadcast } from '../util/broadcast.js'
import type { Logger } from '../util/logger.js'
import { type Handled, NO_SLOT_RETRY_MS, type RunQueue } from './queue.js'

/** The BullMQ queue every process of one deployment (one REDIS_PREFIX) shares. */
export const RUN_QUEUE_NAME = 'runs'

/** A job names its run and nothing else: the database is the source of truth for runs. */
interface RunJob {
  runId: string
}

export interface BullRunQueueOptions {
  redisUrl: string
  /** Key prefix: deployments (and test files) sharing one Redis keep apart by it. */
  prefix: string
  /** Runs this process executes at the same time (WORKER_CONCURRENCY). */
  concurrency: number
  /** The run lease's length (`staleAfterMs` of the orchestrator): the job lock is made as long. */
  staleAfterMs: number
  /**
   * "A run ended, a slot may be free", sent to every process (Redis `:slot`): each then offers the
   * runs it turned away for lack of a slot again at once instead of after NO_SLOT_RETRY_MS.
   */
  slotFreed?: Broadcast
  log: Logger
}

/**
 * The run queue of queue mode (docs/architecture.md#queue-mode): every process enqueues, the
 * processes that execute runs also consume. The job id is the run id, so queueing a run that already
 * has a job (the QUEUED runs re-queued at every start) adds nothing.
 *
 * BullMQ only delivers; it never decides a run's fate. A job is never retried by BullMQ (a failed run
 * gets a new run from the orchestrator's retry policy), and a job delivered twice is harmless: the
 * claim (QUEUED → RUNNING) is conditional, so the second delivery finds nothing to take.
 */
export class BullRunQueue implements RunQueue {
  readonly shared = true
  readonly #connection: Redis
  readonly #queue: Queue<RunJob>
  #worker?: Worker<RunJob>
  /** Jobs this process moved to delayed because their run found no free slot (a retry's backoff is never here). */
  readonly #noSlot = new Set<string>()
  #stopHearingSlots?: () => void

  constructor(private readonly opts: BullRunQueueOptions) {
    // BullMQ's blocking commands wait for jobs indefinitely: no per-request retry limit.
    this.#connection = new Redis(opts.redisUrl, { maxRetriesPerRequest: null })
    this.#connection.on('error', (err) => opts.log.warn({ err: { message: err.message } }, 'redis connection error'))
    this.#queue = new Queue<RunJob>(RUN_QUEUE_NAME, { connection: this.#connection, prefix: opts.prefix })
    this.#queue.on('error', (err) => opts.log.warn({ err }, 'run queue error'))
  }

  async enqueue(runId: string, notBefore?: Date | null): Promise<void> {
    const delay = Math.max(0, (notBefore?.getTime() ?? 0) - Date.now())
    const existing = await this.#queue.getJob(runId)
    if (existing) {
      const state = await existing.getState()
      // Waiting or running already; a delayed one takes the new time (a retry started now, like the
      // in-process queue's re-queue).
      if (state === 'delayed') await (delay === 0 ? existing.promote() : existing.changeDelay(delay)).catch(() => {}) // it moved on meanwhile
      if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return
      await existing.remove().catch(() => {}) // a leftover of an ended job (they are removed as they end)
    }
    await this.#queue.add('run', { runId }, { jobId: runId, delay, attempts: 1, removeOnComplete: true, removeOnFail: true })
  }

  async remove(runId: string): Promise<boolean> {
    const state = await this.#queue.getJobState(runId)
    if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized') return false
    // 0 when a worker has taken it meanwhile (it is locked).
    return (await this.#queue.remove(runId)) === 1
  }

  start(handler: (runId: string) => Promise<Handled>): void {
    if (this.#worker) return
    const { concurrency, prefix, staleAfterMs, slotFreed, log } = this.opts
    this.#stopHearingSlots = slotFreed?.listen(() => void this.offerNoSlotJobs())
    this.#worker = new Worker<RunJob>(
      RUN_QUEUE_NAME,
      async (job: Job<RunJob>, token?: string) => {
        this.#noSlot.delete(job.id!)
        if ((await handler(job.data.runId)) !== 'no-slot') {
          // Also sent for a run that was not taken: a promote too many costs one short claim query.
          slotFreed?.send(job.data.runId)
          return
        }
        // Back to wait, not a failure: a slot may free in any process; the claim's order keeps its place.
        this.#noSlot.add(job.id!)
        await job.moveToDelayed(Date.now() + NO_SLOT_RETRY_MS, token)
        throw new DelayedError()
      },
      {
        connection: this.#connection,
        prefix,
        concurrency,
        // A job is stalled when its process has stopped renewing the lock for as long as a run's lease
        // lasts (docs/architecture.md#leases): both clocks declare a silent process dead at about the
        // same time. A stalled job goes back to wait and is delivered again, which matters only for a
        // run its worker took but had not yet claimed (still QUEUED); a run already claimed is held by
        // its heartbeat, so the new delivery finds it RUNNING and is dropped, and if its worker is
        // really gone, the lost-run sweep fails it and queues a new run. Shorter locks would only
        // re-deliver live runs' jobs for nothing; longer ones would leave an unclaimed run waiting.
        lockDuration: staleAfterMs,
        stalledInterval: Math.max(1_000, Math.floor(staleAfterMs / 2)),
        // Re-delivery is always safe (the claim is conditional); a job that keeps stalling is given up
        // as failed only after a few tries, and its run, if still QUEUED, is re-queued at the next start.
        maxStalledCount: 3,
        removeOnComplete: { count: 0 },
        removeOnFail: { count: 0 },
      },
    )
    this.#worker.on('error', (err) => log.warn({ err }, 'run queue worker error'))
  }

  /**
   * A run ended somewhere: the no-slot jobs this process delayed are offered at once (docs/architecture.md#queue-mode).
   * Every process promotes only its own, so one message does not make N processes race for one job;
   * a job another process has taken meanwhile refuses the promote, and is forgotten.
   */
  private async offerNoSlotJobs(): Promise<void> {
    const promoted: string[] = []
    for (const id of [...this.#noSlot]) {
      this.#noSlot.delete(id)
      const job = await this.#queue.getJob(id).catch(() => undefined)
      // Refused when it is no longer delayed: taken, or promoted already.
      if (
        await job?.promote().then(
          () => true,
          () => false,
        )
      )
        promoted.push(id)
    }
    if (promoted.length) this.opts.log.debug({ runIds: promoted }, 'a slot freed: runs that found none offered again at once')
  }

  /** Takes no new job, waits for the jobs in flight (their runs end or are released), then disconnects. */
  async stop(): Promise<void> {
    this.#stopHearingSlots?.()
    await this.#worker?.close()
    await this.#queue.close()
    await this.#connection.quit().catch(() => this.#connection.disconnect())
  }
}
