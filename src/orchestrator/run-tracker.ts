import { isRecordNotFound } from '../catalog/prisma-errors.js'
import type { Db, RunStage, RunStatus } from '../db/client.js'
import type { Logger } from '../util/logger.js'
import type { ProgressBus, ProgressKind, RunSnapshot } from './progress.js'
import { appendRunLine } from './run-log.js'
import { STAGE_ORDER } from './status.js'

export interface Counters {
  rowsExtracted: bigint
  rowsWritten: bigint
  filesWritten: number
  bytesWritten: bigint
}

export interface TrackerTiming {
  /** Counter events to subscribers at most this often (about ten a second). */
  publishEveryMs: number
  /** Counters and the heartbeat to the database at most this often. */
  persistEveryMs: number
}

export interface RunTrackerOptions {
  db: Db
  bus: ProgressBus
  log: Logger
  runId: string
  pipelineId: string
  /** The worker that holds the run; every write is conditional on still holding it (a lease). */
  workerId: string
  stage: RunStage
  timing: TrackerTiming
  /** Called on each heartbeat: the database's cancel flag, or that the lease is gone. */
  onHeartbeat: (state: { cancelRequested: boolean; leaseLost: boolean }) => void
  /** Told how long each stage lasted here, once, when the next begins or the tracker stops (stage metrics). */
  onStageEnded?: (stage: RunStage, seconds: number) => void
}

/**
 * The live state of one executing run. Stage and status changes go out at once (database and bus);
 * counter changes are coalesced, so a page of 50,000 rows costs one event, not 50,000. The periodic
 * flush doubles as the run's heartbeat, by which other processes tell a live run from a lost one.
 */
export class RunTracker {
  #counters: Counters = { rowsExtracted: 0n, rowsWritten: 0n, filesWritten: 0, bytesWritten: 0n }
  #stage: RunStage
  /** When the current stage began here; undefined once the tracker stopped (its last stage is reported). */
  #stageStartedAt: number | undefined = performance.now()
  #status: RunStatus = 'RUNNING'
  #dirtyBus = false
  #dirtyDb = false
  #publishTimer?: NodeJS.Timeout
  readonly #heartbeat: NodeJS.Timeout
  readonly #o: RunTrackerOptions
  readonly runId: string
  readonly pipelineId: string

  constructor(options: RunTrackerOptions) {
    this.#o = options
    this.runId = options.runId
    this.pipelineId = options.pipelineId
    this.#stage = options.stage
    this.#heartbeat = setInterval(
      () => void this.flush().catch((e) => options.log.warn({ err: e }, 'heartbeat failed')),
      options.timing.persistEveryMs,
    )
    this.#heartbeat.unref()
  }

  get stage(): RunStage {
    return this.#stage
  }

  get counters(): Readonly<Counters> {
    return this.#counters
  }

  snapshot(): RunSnapshot {
    return { runId: this.runId, pipelineId: this.pipelineId, status: this.#status, stage: this.#stage, ...this.#counters, at: new Date() }
  }

  add(delta: Partial<Counters>): void {
    const c = this.#counters
    if (delta.rowsExtracted) c.rowsExtracted += delta.rowsExtracted
    if (delta.rowsWritten) c.rowsWritten += delta.rowsWritten
    if (delta.filesWritten) c.filesWritten += delta.filesWritten
    if (delta.bytesWritten) c.bytesWritten += delta.bytesWritten
    this.#dirtyBus = this.#dirtyDb = true
    this.#publishTimer ??= setTimeout(() => {
      this.#publishTimer = undefined
      if (this.#dirtyBus) this.publish('counters')
    }, this.#o.timing.publishEveryMs)
  }

  /** Moves to a later stage; earlier stages are ignored, so overlapping work cannot move it back. */
  async setStage(stage: RunStage): Promise<void> {
    if (STAGE_ORDER.indexOf(stage) <= STAGE_ORDER.indexOf(this.#stage)) return
    this.endStage()
    this.#stageStartedAt = performance.now()
    this.#stage = stage
    await this.flush()
    this.publish('stage')
    await this.note('info', `stage ${stage}`)
  }

  /** A line in the run's own log (`Run.events`), tagged with the current stage. */
  async note(level: 'info' | 'warn' | 'error', message: string, data?: Record<string, unknown>): Promise<void> {
    await appendRunLine(this.#o, { id: this.runId, pipelineId: this.pipelineId }, { level, stage: this.#stage, message, data })
  }

  /**
   * Persists counters and the heartbeat, and reads back the cancel flag. The write only lands while
   * the run is still RUNNING under this worker: a run that another process declared lost (and whose
   * pipeline it re-ran) finds out here and must stop. Returns whether the lease still holds.
   */
  async flush(): Promise<boolean> {
    const c = this.#counters
    const dirty = this.#dirtyDb
    this.#dirtyDb = false
    let row: { cancelRequested: boolean }
    try {
      // One statement: the write, the lease check (the filters) and the cancel flag read back.
      row = await this.#o.db.run.update({
        where: { id: this.runId, status: 'RUNNING', workerId: this.#o.workerId },
        data: { stage: this.#stage, heartbeatAt: new Date(), ...(dirty ? { ...c } : {}) },
        select: { cancelRequested: true },
      })
    } catch (e) {
      if (!isRecordNotFound(e)) throw e
      this.#o.onHeartbeat({ cancelRequested: false, leaseLost: true })
      return false
    }
    this.#o.onHeartbeat({ cancelRequested: row.cancelRequested, leaseLost: false })
    return true
  }

  /** Sends pending counters now, then stops the timers. The final status is published by the caller. */
  stop(): void {
    this.endStage()
    this.#stageStartedAt = undefined
    clearInterval(this.#heartbeat)
    if (this.#publishTimer) clearTimeout(this.#publishTimer)
    this.#publishTimer = undefined
    if (this.#dirtyBus) this.publish('counters')
  }

  publishStatus(status: RunStatus, stage: RunStage = this.#stage): void {
    this.#status = status
    this.#stage = stage
    this.publish('status')
  }

  private endStage(): void {
    if (this.#stageStartedAt !== undefined) this.#o.onStageEnded?.(this.#stage, (performance.now() - this.#stageStartedAt) / 1000)
  }

  private publish(kind: ProgressKind): void {
    this.#dirtyBus = false
    this.#o.bus.publish({ kind, ...this.snapshot() })
  }
}
