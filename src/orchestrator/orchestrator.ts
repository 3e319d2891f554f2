import { join } from 'node:path'
import type { ConnectionCatalog } from '../catalog/connections.js'
import type { DestinationCatalog } from '../catalog/destinations.js'
import { lockUnheld } from '../catalog/pipeline-hold.js'
import { selectionHash, selectionOf } from '../catalog/pipeline-world.js'
import { isUniqueViolation } from '../catalog/prisma-errors.js'
import type { Db, ExtractionMode, Run, RunTrigger } from '../db/client.js'
import { conflict, DomainError, notFound } from '../errors.js'
import { backoff } from '../util/backoff.js'
import type { Broadcast } from '../util/broadcast.js'
import type { Logger } from '../util/logger.js'
import { extractionModeFor } from './extraction-mode.js'
import { sweepStaging } from './leftovers.js'
import { snapshotOf, type ProgressBus } from './progress.js'
import { type Handled, InProcessQueue, type RunQueue } from './queue.js'
import { rollForward } from './roll-forward.js'
import { writeRunLine } from './run-log.js'
import { RunCancelled, workerLost, type RunError } from './run-errors.js'
import type { RunObserver } from './run-observer.js'
import type { TrackerTiming } from './run-tracker.js'
import { sapSourceFactory, type SourceFactory } from './sources.js'
import { PipelineAdmin } from './pipeline-admin.js'
import { executeRun, type AbortReason } from './run/execute.js'
import { DEFAULT_LAKE_MAINTENANCE, type LakeMaintenanceSettings } from './lake/maintain.js'
import type { PartitionJob, PartitionQueue, PartitionTiming } from './partition-queue.js'
import { readPartition } from './run/partition-worker.js'
import { isTerminal } from './status.js'
import { isDeadLocalWorker, newWorkerId } from './worker-identity.js'

export interface OrchestratorDeps {
  db: Db
  bus: ProgressBus
  log: Logger
  connections: ConnectionCatalog
  destinations: DestinationCatalog
  /**
   * Cancels for runs other processes hold, so they stop at once instead of at their next heartbeat
   * (docs/architecture.md#retries); without it the heartbeat's `cancelRequested` read does it alone.
   */
  cancels?: Broadcast
  /** The service's metrics: each run's end, once, where it ends; stages and uploads where they happen. */
  observer?: RunObserver
}

export interface OrchestratorOptions {
  dataDir: string
  /** Runs this process executes at the same time. */
  concurrency?: number
  /** A RUNNING run whose heartbeat is older than this is declared lost (its process died). */
  staleAfterMs?: number
  /**
   * How often to look for lost runs after the start-up sweep; 0 = never (an instance whose every
   * SQL statement is counted). Default: often enough to notice a dead process of this host within
   * seconds, and stale heartbeats of other hosts within half the stale window.
   */
  sweepEveryMs?: number
  timing?: Partial<TrackerTiming>
  /** The SAP side; default: OData and RFC (node-rfc) sources, RFC pools kept per connection. */
  sources?: SourceFactory
  queue?: RunQueue
  retry?: Partial<RetryPolicy>
  /**
   * Runs RUNNING at once on the database, all processes together (MAX_CONCURRENT_RUNS; give every
   * process the same value); default no limit. Connections have their own `maxConcurrentRuns`.
   */
  maxConcurrentRuns?: number | null
  /**
   * Queue mode: the queue of partition attempts (docs/architecture.md#partitions). With it, a
   * partitioned FULL run's or split DELTA_INIT's partitions are read by any working process;
   * without it, by the run's own.
   */
  partitionQueue?: PartitionQueue
  /** Queue mode: partitions this process reads at once, and the partitions' heartbeat and stale window (the app builds the queue from it). */
  partitions?: { concurrency?: number; timing?: Partial<PartitionTiming> }
  /**
   * Whether this process executes runs (default true). An API-only process of queue mode queues
   * runs and sweeps lost ones, but never takes one (docs/architecture.md#queue-mode).
   */
  work?: boolean
  /**
   * Snapshot expiry after each committed run of an ICEBERG pipeline (docs/architecture.md#lake-maintenance);
   * default LAKE_SNAPSHOT_RETENTION_DAYS' default, 7 days. Tests pass a retention in milliseconds.
   */
  lakeMaintenance?: LakeMaintenanceSettings
}

export interface StopOptions {
  /** How long runs in flight may take to finish before they are released for recovery (default 0). */
  graceMs?: number
}

/** Automatic runs after a retryable failure: `attempts` runs in a row at most, backoff doubling. */
export interface RetryPolicy {
  attempts: number
  baseDelayMs: number
  maxDelayMs: number
}
export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 30_000, maxDelayMs: 600_000 }

export interface RunRequest {
  mode?: ExtractionMode | null
  trigger: RunTrigger
  /** DELTA_INIT: replace a subscription SAP holds that is not this pipeline's, instead of refusing. */
  takeover?: boolean
}

/** How long a RUNNING run's heartbeat may be silent before others declare it lost: the lease's length. */
export const DEFAULT_STALE_AFTER_MS = 30_000
export const DEFAULT_CONCURRENCY = 2
const CANCEL_WAIT_MS = 5_000
const SWEEP_EVERY_MS = 5_000
/** What a run that did not commit wrote, for the metrics: its files are not data. */
const NOTHING_WRITTEN = { rowsWritten: 0n, bytesWritten: 0n }
/** How stale the heartbeat of a run of a dead local process must be before it is declared lost. */
const DEAD_WORKER_GRACE_MS = 5_000

/**
 * The run lifecycle: accepts run requests, hands them to workers through the queue, cancels them,
 * and notices runs whose process died. `api` calls this; it calls sap, transform, storage and db.
 */
export class Orchestrator {
  readonly workerId = newWorkerId()
  readonly #queue: RunQueue
  readonly #running = new Map<string, AbortController>()
  /** Partition attempts this process reads for runs of any worker (queue mode); aborted at the end of a shutdown's grace. */
  readonly #partitionReads = new AbortController()
  readonly #staleAfterMs: number
  readonly #timing: TrackerTiming
  readonly #retry: RetryPolicy
  readonly #sources: SourceFactory
  readonly #admin: PipelineAdmin
  #sweepTimer?: NodeJS.Timeout
  /** The lost-run sweep under way in this process, if any (sweepLostRuns). */
  #sweep?: Promise<number>
  #stopHearingCancels?: () => void
  #started = false

  get #stagingDir(): string {
    return join(this.opts.dataDir, 'staging')
  }

  constructor(
    private readonly deps: OrchestratorDeps,
    private readonly opts: OrchestratorOptions,
  ) {
    this.#queue = opts.queue ?? new InProcessQueue(opts.concurrency ?? DEFAULT_CONCURRENCY)
    this.#staleAfterMs = opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS
    this.#retry = { ...DEFAULT_RETRY, ...opts.retry }
    this.#sources = opts.sources ?? sapSourceFactory()
    this.#admin = new PipelineAdmin({ ...deps, sources: this.#sources })
    this.#timing = {
      publishEveryMs: opts.timing?.publishEveryMs ?? 100,
      // Also how soon a cancel from another process (the database flag) is seen: about a second.
      persistEveryMs: opts.timing?.persistEveryMs ?? Math.min(1_000, Math.floor(this.#staleAfterMs / 3)),
    }
  }

  /**
   * Fails runs lost by a previous process (and re-runs their pipelines), then starts working. Every
   * process sweeps, workers or not: the sweep's updates are conditional, so it is safe anywhere, and
   * an API process left alone still recovers the runs of workers that are all gone.
   */
  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    await this.sweepLostRuns()
    await sweepStaging(this.deps.db, this.#stagingDir, this.deps.log)
    this.#stopHearingCancels = this.deps.cancels?.listen((runId) => this.#running.get(runId)?.abort(new RunCancelled()))
    if (this.opts.work ?? true) {
      this.#queue.start((runId) => this.execute(runId))
      this.opts.partitionQueue?.start((job) => this.readPartition(job))
    }
    const queued = await this.deps.db.run.findMany({
      where: { status: 'QUEUED' },
      orderBy: { queuedAt: 'asc' },
      select: { id: true, notBefore: true },
    })
    for (const r of queued) await this.#queue.enqueue(r.id, r.notBefore)
    const every = this.opts.sweepEveryMs ?? Math.max(250, Math.min(SWEEP_EVERY_MS, Math.floor(this.#staleAfterMs / 2)))
    if (every > 0) {
      this.#sweepTimer = setInterval(() => {
        // The timer does not queue passes behind a long one: the next tick comes soon enough.
        if (this.#sweep) return
        void this.sweepLostRuns()
          .then(() => (this.#queue.shared ? this.offerQueuedAgain(every) : undefined))
          .catch((err) => this.deps.log.warn({ err }, 'lost-run sweep failed'))
      }, every)
      this.#sweepTimer.unref()
    }
  }

  /**
   * Drains: takes no new run, lets the runs in flight finish within `graceMs`, then aborts the rest,
   * which are released so that the next sweep (of any process) recovers them at once.
   */
  async stop({ graceMs = 0 }: StopOptions = {}): Promise<void> {
    if (!this.#started) return
    this.#started = false
    clearInterval(this.#sweepTimer)
    const drained = this.#queue.stop()
    if (graceMs > 0 && this.#running.size > 0) {
      this.deps.log.info({ runs: this.#running.size, graceMs }, 'draining: waiting for runs in flight to finish')
      let timer: NodeJS.Timeout | undefined
      await Promise.race([drained, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))])
      clearTimeout(timer)
    }
    for (const c of this.#running.values()) c.abort({ shutdown: true } satisfies AbortReason)
    // Partitions are read during the grace too (a run in flight here or elsewhere may wait for them);
    // then they are ended FAILED (retryable), and their owners queue them again at once.
    this.#partitionReads.abort({ shutdown: true } satisfies AbortReason)
    await Promise.all([drained, this.opts.partitionQueue?.stop()])
    // Only now: a cancel sent while the runs were draining still reaches them.
    this.#stopHearingCancels?.()
  }

  /**
   * Queues a run of the pipeline and returns it (QUEUED). One run per pipeline is active at a time:
   * a second request is refused (CONFLICT), except that a request while an automatic retry waits
   * for its backoff starts that retry now.
   */
  async requestRun(pipelineId: string, req: RunRequest): Promise<Run> {
    const { db } = this.deps
    try {
      return await this.createRun(pipelineId, req)
    } catch (e) {
      if (!(e instanceof DomainError && e.code === 'CONFLICT' && e.details.runId)) throw e
      const waiting = await db.run.updateMany({
        where: { id: String(e.details.runId), status: 'QUEUED', trigger: 'RETRY', notBefore: { gt: new Date() } },
        data: { notBefore: null },
      })
      if (waiting.count !== 1) throw e
      const retry = await db.run.findUniqueOrThrow({ where: { id: String(e.details.runId) } })
      if (req.mode && req.mode !== retry.extractionMode) throw e
      await this.#queue.enqueue(retry.id)
      return retry
    }
  }

  private async createRun(pipelineId: string, req: RunRequest & { attempt?: number; notBefore?: Date }): Promise<Run> {
    const { db } = this.deps
    let run: Run
    try {
      run = await db.$transaction(async (tx) => {
        // Locks the pipeline row first: a reset, delete or selection change cannot slip in between.
        const free = await lockUnheld(tx, pipelineId)
        const pipeline = await tx.pipeline.findUnique({ where: { id: pipelineId }, include: { deltaState: true, connection: true } })
        if (!pipeline) throw notFound('pipeline', pipelineId)
        if (!free) throw conflict(`pipeline "${pipeline.name}" is being reset or deleted; try again in a moment`)
        const extractionMode = extractionModeFor(pipeline, pipeline.deltaState, req.mode, selectionHash(selectionOf(pipeline)))
        return tx.run.create({
          data: {
            pipelineId,
            activeKey: pipelineId,
            extractionMode,
            trigger: req.trigger,
            attempt: req.attempt ?? 1,
            notBefore: req.notBefore,
            takeover: extractionMode === 'DELTA_INIT' && !!req.takeover,
          },
        })
      })
    } catch (e) {
      if (!isUniqueViolation(e)) throw e
      const [pipeline, active] = await Promise.all([
        db.pipeline.findUnique({ where: { id: pipelineId }, select: { name: true } }),
        db.run.findUnique({ where: { activeKey: pipelineId }, select: { id: true, status: true } }),
      ])
      throw conflict(
        `pipeline "${pipeline?.name ?? pipelineId}" already has an active run${active ? ` (${active.id}, ${active.status})` : ''}; one run per pipeline at a time`,
        active ? { runId: active.id } : {},
      )
    }
    this.publish(run)
    await this.#queue.enqueue(run.id, run.notBefore)
    return run
  }

  /**
   * After a run failed with a retryable error (SAP unavailable, a storage hiccup, a lost worker),
   * queues the pipeline again with exponential backoff, up to `retry.attempts` runs in a row. The
   * retry re-reads the same delta (RECOVERY), so nothing is lost or doubled.
   */
  private async retryIfWorthIt(failed: Pick<Run, 'id' | 'pipelineId' | 'attempt' | 'errorCode'>, delayMs: number): Promise<void> {
    const { log } = this.deps
    if (failed.attempt >= this.#retry.attempts) {
      log.warn({ runId: failed.id, attempt: failed.attempt }, 'run failed; no automatic retries left')
      return
    }
    try {
      const retry = await this.createRun(failed.pipelineId, {
        trigger: 'RETRY',
        attempt: failed.attempt + 1,
        notBefore: delayMs > 0 ? new Date(Date.now() + delayMs) : undefined,
      })
      log.info({ runId: retry.id, retryOf: failed.id, attempt: retry.attempt, delayMs, code: failed.errorCode }, 'retry queued')
    } catch (err) {
      // Someone started the pipeline meanwhile, or it was deleted: nothing to retry.
      if (!(err instanceof DomainError)) throw err
    }
  }

  /** Exact, without jitter: the delays are documented (30 s, then 60 s) and shown to people. */
  private backoffMs(attempt: number): number {
    const { baseDelayMs, maxDelayMs } = this.#retry
    return backoff({ baseMs: baseDelayMs, maxMs: maxDelayMs }, attempt - 1)
  }

  /**
   * Cancels a queued run at once, or asks a running one to stop and waits (up to a few seconds)
   * until it has. The delta state is left as it was.
   */
  async cancelRun(runId: string): Promise<Run> {
    const { db, bus } = this.deps
    const run = await db.run.findUnique({ where: { id: runId } })
    if (!run) throw notFound('run', runId)
    if (isTerminal(run)) throw conflict(`run ${runId} has already ended (${run.status})`)
    const ended = await db.$transaction(async (tx) => {
      const marked = await tx.run.updateMany({
        where: { id: runId, status: 'QUEUED' },
        data: {
          status: 'CANCELLED',
          activeKey: null,
          finishedAt: new Date(),
          errorCode: 'CANCELLED',
          errorMessage: 'cancelled before it started',
          errorRetryable: false,
        },
      })
      return marked.count === 1
        ? writeRunLine(tx, run, { level: 'warn', stage: run.stage, message: 'cancelled before it started', data: { code: 'CANCELLED' } })
        : null
    })
    if (ended) {
      this.deps.observer?.runEnded({
        status: 'CANCELLED',
        errorCode: 'CANCELLED',
        mode: run.extractionMode,
        startedAt: null,
        ...NOTHING_WRITTEN,
      })
      await this.#queue.remove(runId)
      const cancelled = await db.run.findUniqueOrThrow({ where: { id: runId } })
      this.publish(cancelled)
      return cancelled
    }
    const wait = new AbortController()
    const updates = bus.subscribe({ runId, kinds: ['status'] }, wait.signal)
    const timer = setTimeout(() => wait.abort(), CANCEL_WAIT_MS)
    try {
      // In the run's log (a run past its manifest commits anyway, and this says the cancel came
      // late), written with the flag and only while the run is still RUNNING: the update locks the
      // run row, so the line lands before the run's last line, never after it.
      const requested = await db.$transaction(async (tx) => {
        const marked = await tx.run.updateMany({ where: { id: runId, status: 'RUNNING' }, data: { cancelRequested: true } })
        if (marked.count !== 1) return null
        const { stage } = await tx.run.findUniqueOrThrow({ where: { id: runId }, select: { stage: true } })
        return writeRunLine(tx, run, { level: 'warn', stage, message: 'cancel requested' })
      })
      if (requested) bus.publish(requested)
      const here = this.#running.get(runId)
      // Sent after the flag is stored: a holder that misses the message still reads the flag.
      if (here) here.abort(new RunCancelled())
      // Partition workers of other processes read for this run too (queue mode): they hear it at once.
      if (!here || this.opts.partitionQueue) this.deps.cancels?.send(runId)
      const current = await db.run.findUniqueOrThrow({ where: { id: runId } })
      if (!isTerminal(current)) for await (const e of updates) if (isTerminal(e)) break
    } finally {
      clearTimeout(timer)
      await updates.return?.()
    }
    return db.run.findUniqueOrThrow({ where: { id: runId } })
  }

  /**
   * Ends the pipeline's SAP delta subscription and forgets its position (see {@link PipelineAdmin}).
   * Returns the pipeline's id.
   */
  resetDelta(pipelineId: string, opts: { force?: boolean } = {}): Promise<string> {
    return this.#admin.resetDelta(pipelineId, opts)
  }

  /** Ends the pipeline's SAP subscription and deletes it with its run history (see {@link PipelineAdmin}). Returns its id. */
  deletePipeline(pipelineId: string, opts: { force?: boolean } = {}): Promise<string> {
    return this.#admin.deletePipeline(pipelineId, opts)
  }

  /**
   * Fails RUNNING runs whose process is gone — its heartbeat stopped, or it was a process of this
   * host that no longer exists — and queues a new run of each pipeline, which re-reads the same
   * delta (RECOVERY). A lost run that had already written its manifest is committed instead; one
   * whose store cannot tell (unreachable, credentials gone) is left as it is and asked again at the
   * next sweep, unless someone cancelled it, accepting that its delta may be delivered twice.
   */
  sweepLostRuns(): Promise<number> {
    // One pass at a time in a process: a roll-forward may take minutes (it applies a run to the
    // current-state table), so a pass asked for meanwhile runs after it, over what is lost then.
    const next = (this.#sweep ?? Promise.resolve(0)).catch(() => 0).then(() => this.#sweepLostRuns())
    this.#sweep = next
    void next
      .finally(() => {
        if (this.#sweep === next) this.#sweep = undefined
      })
      .catch(() => undefined)
    return next
  }

  async #sweepLostRuns(): Promise<number> {
    const { db } = this.deps
    const now = Date.now()
    const cutoff = new Date(now - this.#staleAfterMs)
    // A dead process of this host is known at once — but a live one sharing this host's name and
    // pid (containers on the host network) must not be taken for it: its heartbeat is recent.
    const deadGrace = new Date(now - Math.min(this.#staleAfterMs, DEAD_WORKER_GRACE_MS))
    const running = await db.run.findMany({ where: { status: 'RUNNING', id: { notIn: [...this.#running.keys()] } } })
    const lost = running.filter(
      (r) => !r.heartbeatAt || r.heartbeatAt < cutoff || (isDeadLocalWorker(r.workerId, this.workerId) && r.heartbeatAt < deadGrace),
    )
    for (const run of lost) {
      const settled = await rollForward(this.deps, run)
      if (settled === 'committed') {
        this.publish(await db.run.findUniqueOrThrow({ where: { id: run.id } }))
        continue
      }
      if (settled === 'unknown' && !run.cancelRequested) continue
      await this.failLostRun(run, settled === 'unknown')
    }
    return lost.length
  }

  /**
   * Queue mode: offers the shared queue every run that has been QUEUED and due for a sweep interval,
   * in case the queue lost it (docs/architecture.md#queue-mode). Queueing a run that has its job
   * already adds nothing, so a run is never offered twice, and without this a lost job would leave
   * its pipeline blocked by an active run nobody takes.
   */
  private async offerQueuedAgain(olderThanMs: number): Promise<void> {
    const now = new Date()
    const queued = await this.deps.db.run.findMany({
      where: {
        status: 'QUEUED',
        queuedAt: { lt: new Date(now.getTime() - olderThanMs) },
        OR: [{ notBefore: null }, { notBefore: { lte: now } }],
      },
      orderBy: { queuedAt: 'asc' },
      select: { id: true },
    })
    for (const r of queued) await this.#queue.enqueue(r.id)
  }

  private async failLostRun(run: Run, cancelledInDoubt: boolean): Promise<void> {
    const { db, log } = this.deps
    const error: RunError = cancelledInDoubt
      ? {
          code: 'CANCELLED',
          message:
            'cancelled while its commit could not be settled (its store did not say whether its manifest exists); if it does, the next run delivers its changes again',
          retryable: false,
        }
      : workerLost(run.stage)
    const ended = await db.$transaction(async (tx) => {
      const marked = await tx.run.updateMany({
        where: { id: run.id, status: 'RUNNING', heartbeatAt: run.heartbeatAt },
        data: {
          status: cancelledInDoubt ? 'CANCELLED' : 'FAILED',
          activeKey: null,
          finishedAt: new Date(),
          errorCode: error.code,
          errorMessage: error.message,
          errorRetryable: error.retryable,
        },
      })
      return marked.count === 1
        ? writeRunLine(tx, run, { level: 'error', stage: run.stage, message: error.message, data: { code: error.code } })
        : null
    })
    if (!ended) return // another process got there first, or the run came back to life
    this.deps.bus.publish(ended)
    this.deps.observer?.runEnded({
      status: cancelledInDoubt ? 'CANCELLED' : 'FAILED',
      errorCode: error.code,
      mode: run.extractionMode,
      startedAt: run.startedAt,
      ...NOTHING_WRITTEN,
    })
    this.publish({ ...run, status: cancelledInDoubt ? 'CANCELLED' : 'FAILED' })
    log.warn({ runId: run.id, pipelineId: run.pipelineId, code: error.code }, 'run lost by its worker')
    if (error.retryable) await this.retryIfWorthIt({ ...run, errorCode: error.code }, 0)
  }

  /** Whether this process is executing the run right now. */
  isRunningHere(runId: string): boolean {
    return this.#running.has(runId)
  }

  private async execute(runId: string): Promise<Handled> {
    const controller = new AbortController()
    this.#running.set(runId, controller)
    let handled: Handled = 'done'
    try {
      const outcome = await executeRun(
        {
          ...this.deps,
          sources: this.#sources,
          stagingDir: this.#stagingDir,
          timing: this.#timing,
          workerId: this.workerId,
          staleAfterMs: this.#staleAfterMs,
          maxConcurrentRuns: this.opts.maxConcurrentRuns ?? null,
          partitionQueue: this.opts.partitionQueue,
          lakeMaintenance: this.opts.lakeMaintenance ?? DEFAULT_LAKE_MAINTENANCE,
        },
        runId,
        controller.signal,
      )
      if (!outcome) await this.logNotTaken(runId)
      if (outcome === 'no-slot') handled = 'no-slot'
      else if (outcome?.status === 'FAILED' && outcome.error?.retryable)
        await this.retryIfWorthIt(
          { id: runId, pipelineId: outcome.pipelineId, attempt: outcome.attempt, errorCode: outcome.error.code },
          this.backoffMs(outcome.attempt),
        )
    } catch (err) {
      this.deps.log.error({ err, runId }, 'run execution crashed')
    } finally {
      this.#running.delete(runId)
    }
    return handled
  }

  /** Reads one partition attempt of any worker's run (queue mode); the row records how it ended. */
  private async readPartition(job: PartitionJob): Promise<void> {
    try {
      await readPartition(
        {
          ...this.deps,
          sources: this.#sources,
          stagingDir: this.#stagingDir,
          workerId: this.workerId,
          queue: this.opts.partitionQueue!,
        },
        job,
        this.#partitionReads.signal,
      )
    } catch (err) {
      this.deps.log.error({ err, ...job }, 'partition read crashed')
    }
  }

  /**
   * A run handed over but no longer QUEUED: cancelled meanwhile, or a job delivered again (a stalled
   * one, or a duplicate) for a run another worker already holds. Dropping it is the whole answer.
   */
  private async logNotTaken(runId: string): Promise<void> {
    const run = await this.deps.db.run.findUnique({ where: { id: runId }, select: { status: true, workerId: true } })
    this.deps.log.info({ runId, status: run?.status ?? 'gone', heldBy: run?.workerId ?? null }, 'run not taken: it is not QUEUED any more')
  }

  private publish(run: Run): void {
    this.deps.bus.publish({ kind: 'status', ...snapshotOf(run) })
  }
}
