import type { Db, RunStatus } from '../db/client.js'
import { type ProgressEvent, type Resync, type RunSnapshot, snapshotOf, withoutKind } from '../orchestrator/progress.js'
import { STAGE_ORDER } from '../orchestrator/status.js'
import type { AppServices } from './context.js'

/**
 * How long before the drop a resync looks back. `finishedAt` is written with the clock of the process
 * that ended the run, and the drop is noticed with this one's (and a connection may die a little
 * before its socket says so): runs that ended in this margin before the drop and were already sent
 * are skipped by the dedupe below, so a wide margin costs a read, not a repeat.
 */
const RESYNC_LOOKBACK_MS = 30_000
/** Runs whose last sent state a stream remembers; one evicted is at worst sent once more. */
const REMEMBERED_RUNS = 10_000

/**
 * The runUpdates stream: every status and stage change of any run (or of one pipeline's), from the
 * bus; after a Redis drop (a `resync`, docs/architecture.md#progress) the runs that may have changed
 * while this process heard nothing are read from the database and sent as they stand — the active
 * ones and those that ended since the drop — unless this stream already sent that state. A run's
 * status and stage only move forwards (QUEUED → RUNNING → ended, stages in STAGE_ORDER), so a state
 * not after the last one sent for that run, live or read, is never sent.
 */
export function runUpdates(app: AppServices, pipelineId: string | undefined): AsyncIterableIterator<RunSnapshot> {
  const events = app.bus.subscribe({ pipelineId, kinds: ['status', 'stage', 'resync'] })
  const stream = updates(app, events, pipelineId)
  // A generator's return() waits for the next() it is suspended in, here the bus's next event, which
  // on a quiet pipeline may be hours away: ending the bus subscription first ends that wait at once.
  const end = async () => {
    await events.return?.()
    return stream.return(undefined)
  }
  return {
    next: () => stream.next(),
    return: end,
    throw: async (e?: unknown) => {
      await end()
      throw e
    },
    [Symbol.asyncIterator]() {
      return this
    },
  }
}

async function* updates(
  app: AppServices,
  events: AsyncIterableIterator<ProgressEvent | Resync>,
  pipelineId: string | undefined,
): AsyncGenerator<RunSnapshot> {
  const sent = new SentStates()
  try {
    for await (const e of events) {
      const runs =
        e.kind === 'resync' ? await changedSince(app.db, new Date(e.since.getTime() - RESYNC_LOOKBACK_MS), pipelineId) : [withoutKind(e)]
      for (const run of runs) if (sent.advance(run)) yield run
    }
  } finally {
    await events.return?.()
  }
}

/** Runs that may have moved since `since`: every active one, and every one that ended since. */
async function changedSince(db: Db, since: Date, pipelineId: string | undefined): Promise<RunSnapshot[]> {
  const rows = await db.run.findMany({
    where: { pipelineId, OR: [{ status: { in: ['QUEUED', 'RUNNING'] } }, { finishedAt: { gte: since } }] },
    orderBy: { id: 'asc' },
    select: {
      id: true,
      pipelineId: true,
      status: true,
      stage: true,
      rowsExtracted: true,
      rowsWritten: true,
      filesWritten: true,
      bytesWritten: true,
    },
  })
  return rows.map(snapshotOf)
}

const STATUS_RANK: Record<RunStatus, number> = { QUEUED: 0, RUNNING: 1, SUCCEEDED: 2, FAILED: 2, CANCELLED: 2 }
const rankOf = (s: Pick<RunSnapshot, 'status' | 'stage'>) => STATUS_RANK[s.status] * STAGE_ORDER.length + STAGE_ORDER.indexOf(s.stage)

/** The last state sent per run, the oldest-touched forgotten first beyond REMEMBERED_RUNS. */
class SentStates {
  readonly #rank = new Map<string, number>()

  /** Records `run` and says whether it is news: a run not sent yet, or further on than last sent. */
  advance(run: RunSnapshot): boolean {
    const rank = rankOf(run)
    const last = this.#rank.get(run.runId)
    if (last !== undefined && rank <= last) return false
    this.#rank.delete(run.runId) // re-inserted last: Map keeps insertion order
    this.#rank.set(run.runId, rank)
    if (this.#rank.size > REMEMBERED_RUNS) this.#rank.delete(this.#rank.keys().next().value!)
    return true
  }
}
