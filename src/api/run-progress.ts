import { notFound } from '../errors.js'
import type { RunSnapshot } from '../orchestrator/progress.js'
import { isTerminal, STAGE_ORDER } from '../orchestrator/status.js'
import { snapshotOf, type ProgressEvent } from '../orchestrator/progress.js'
import type { AppServices } from './context.js'

/**
 * The runProgress stream: a snapshot from the database, then the run's events until it ends. The
 * bus is subscribed before the snapshot is read, so no event between the two is lost; events that
 * the snapshot already covers may repeat, which is harmless for counters and stages.
 */
export async function runProgress(app: AppServices, runId: string): Promise<AsyncGenerator<RunSnapshot>> {
  // Checked before the stream starts, so an unknown id is an operation error (code NOT_FOUND), not a
  // stream that breaks after it began.
  if (!(await app.db.run.count({ where: { id: runId } }))) throw notFound('run', runId)
  return stream(app, runId)
}

async function* stream(app: AppServices, runId: string): AsyncGenerator<RunSnapshot> {
  const events = app.bus.subscribe({ runId, kinds: ['status', 'stage', 'counters'] })
  try {
    const run = await app.db.run.findUniqueOrThrow({ where: { id: runId } })
    const snapshot = snapshotOf(run)
    yield snapshot
    if (isTerminal(run)) return
    let last = snapshot
    for await (const e of events) {
      if (isTerminal(e)) return yield withoutKind(e)
      // The database snapshot may be newer or older than events buffered while it was read; never
      // send a subscriber backwards.
      if (e.rowsExtracted < last.rowsExtracted || STAGE_ORDER.indexOf(e.stage) < STAGE_ORDER.indexOf(last.stage)) continue
      yield (last = withoutKind(e))
    }
  } finally {
    await events.return?.()
  }
}

const withoutKind = ({ kind: _kind, ...s }: ProgressEvent): RunSnapshot => s
