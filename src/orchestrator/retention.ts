import type { Db, Prisma } from '../db/client.js'
import type { Logger } from '../util/logger.js'

const DAY_MS = 24 * 60 * 60 * 1000
/** Runs deleted per statement: a short write (SQLite has one writer), whatever the backlog. */
const BATCH = 500

export interface RetentionOptions {
  /** Runs that ended more than this many days ago are deleted; 0 = keep everything. */
  days: number
  batchSize?: number
  /** How often a pass runs (default: daily). */
  everyMs?: number
}

/**
 * Deletes old runs with their log lines, in batches, and nothing else: files in the lake are never
 * touched, so a pruned run's manifest and data stay where they were. Never pruned: an active run,
 * the last successful run of each pipeline, and a run the delta state points to (the last committed
 * one, or one whose delta is pending recovery). See docs/architecture.md#retention.
 *
 * Several instances on one database may prune at the same time: each batch is one conditional
 * DELETE that re-checks every rule, so a run deleted by another instance is simply not counted.
 */
export async function pruneRuns(
  db: Db,
  { days, batchSize = BATCH }: Pick<RetentionOptions, 'days' | 'batchSize'>,
  now = new Date(),
  signal?: AbortSignal,
): Promise<{ runs: number; batches: number }> {
  if (days <= 0) return { runs: 0, batches: 0 }
  const prunable = await prunableRuns(db, new Date(now.getTime() - days * DAY_MS))
  let runs = 0
  let batches = 0
  for (;;) {
    const batch = await db.run.findMany({ where: prunable, select: { id: true }, orderBy: { id: 'asc' }, take: batchSize })
    if (!batch.length) return { runs, batches }
    // Events go with their run (RunEvent.run is onDelete: Cascade).
    const deleted = await db.run.deleteMany({ where: { AND: [prunable, { id: { in: batch.map((r) => r.id) } }] } })
    runs += deleted.count
    batches++
    if (batch.length < batchSize || signal?.aborted) return { runs, batches }
  }
}

async function prunableRuns(db: Db, endedBefore: Date): Promise<Prisma.RunWhereInput> {
  // The newest successful run of each pipeline (ids are UUIDv7: they sort by creation), and the
  // runs delta states name without a relation (pendingRunId). Computed once per pass: both only
  // ever move to newer runs, which the age rule already keeps.
  const [lastSucceeded, pending] = await Promise.all([
    db.run.groupBy({ by: ['pipelineId'], where: { status: 'SUCCEEDED' }, _max: { id: true } }),
    db.deltaState.findMany({ where: { pendingRunId: { not: null } }, select: { pendingRunId: true } }),
  ])
  const keep = [...lastSucceeded.map((g) => g._max.id), ...pending.map((d) => d.pendingRunId)].filter((id): id is string => !!id)
  return {
    status: { in: ['SUCCEEDED', 'FAILED', 'CANCELLED'] },
    finishedAt: { lt: endedBefore },
    committedDelta: { none: {} },
    id: { notIn: keep },
  }
}

/** Prunes once shortly after start, then every `everyMs` (daily), in the background. */
export class RetentionSweeper {
  #timer?: NodeJS.Timeout
  #pass?: Promise<void>
  readonly #stopping = new AbortController()

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly opts: RetentionOptions,
  ) {}

  start(): void {
    if (this.opts.days <= 0 || this.#timer) return
    const pass = () => {
      this.#pass ??= pruneRuns(this.db, this.opts, new Date(), this.#stopping.signal)
        .then(({ runs }) => {
          if (runs) this.log.info({ runs, days: this.opts.days }, 'pruned runs older than RUN_RETENTION_DAYS')
        })
        .catch((err) => this.log.warn({ err }, 'pruning old runs failed; trying again at the next pass'))
        .finally(() => (this.#pass = undefined))
    }
    pass()
    this.#timer = setInterval(pass, this.opts.everyMs ?? DAY_MS)
    this.#timer.unref()
  }

  /** Stops the timer and waits for a pass in progress to finish its current batch. */
  async stop(): Promise<void> {
    this.#stopping.abort()
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.#pass
  }
}
