import type { Db } from '../db/client.js'
import { DomainError } from '../errors.js'
import { nextFireTime } from '../catalog/schedule.js'
import type { Logger } from '../util/logger.js'
import type { Orchestrator } from './orchestrator.js'

/**
 * Fires cron schedules. Each pipeline's next fire time is stored (`nextRunAt`); a tick takes due
 * pipelines and advances their time with a compare-and-set, so several API processes sharing one
 * database fire each schedule once. A schedule that fires while the previous run is still active
 * is skipped (one run per pipeline), not queued up, and the skip is written in that run's log
 * (docs/architecture.md#retries).
 */
export class Scheduler {
  #timer?: NodeJS.Timeout

  constructor(
    private readonly db: Db,
    private readonly orchestrator: Orchestrator,
    private readonly log: Logger,
    private readonly tickMs = 1_000,
  ) {}

  start(): void {
    this.#timer ??= setInterval(() => void this.tick().catch((err) => this.log.warn({ err }, 'scheduler tick failed')), this.tickMs)
    this.#timer.unref()
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** Starts every due pipeline once; returns the ids of the runs it queued. */
  async tick(now = new Date()): Promise<string[]> {
    const due = await this.db.pipeline.findMany({
      where: { enabled: true, schedule: { not: null }, nextRunAt: { lte: now } },
      select: { id: true, name: true, schedule: true, timezone: true, nextRunAt: true },
    })
    const started: string[] = []
    for (const p of due) {
      const next = nextFireTime(p.schedule!, p.timezone ?? undefined, now)
      const claimed = await this.db.pipeline.updateMany({ where: { id: p.id, nextRunAt: p.nextRunAt }, data: { nextRunAt: next } })
      if (claimed.count !== 1) continue
      try {
        started.push((await this.orchestrator.requestRun(p.id, { trigger: 'SCHEDULE' })).id)
      } catch (err) {
        if (!(err instanceof DomainError)) throw err
        this.log.info({ pipelineId: p.id, reason: err.message }, 'scheduled run skipped')
        if (err.details.runId) await this.noteSkipped(String(err.details.runId), p.nextRunAt!)
      }
    }
    return started
  }

  /** In the log of the run that is still active, so whoever reads it sees why no run followed the tick. */
  private async noteSkipped(runId: string, tick: Date): Promise<void> {
    const run = await this.db.run.findUnique({ where: { id: runId }, select: { stage: true } })
    if (!run) return // ended and deleted meanwhile: nothing left to explain it to
    await this.db.runEvent.create({
      data: {
        runId,
        level: 'warn',
        stage: run.stage,
        message: `schedule tick of ${tick.toISOString()} skipped: this run was still active`,
      },
    })
  }
}
