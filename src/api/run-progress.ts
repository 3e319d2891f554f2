import { notFound } from '../errors.js'
import type { RunSnapshot } from '../orchestrator/progress.js'
import { isTerminal, STAGE_ORDER } from '../orchestrator/status.js'
import { snapshotOf, withoutKind } from '../orchestrator/progress.js'
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
  const events = app.bus.subscribe({ runId, kinds: ['status', 'stage', 'counters', 'resync'] })
  const stored = async () => snapshotOf(await app.db.run.findUniqueOrThrow({ where: { id: runId } }))
  try {
    let last = await stored()
    yield last
    if (isTerminal(last)) return
    for await (const e of events) {
      // Events may have been lost while Redis was away (the run may even have ended): the database says
      // where the run is now (docs/architecture.md#progress).
      const now = e.kind === 'resync' ? await stored() : withoutKind(e)
      if (isTerminal(now)) return yield now
      // The database snapshot may be newer or older than events buffered while it was read; never
      // send a subscriber backwards.
      if (now.rowsExtracted < last.rowsExtracted || STAGE_ORDER.indexOf(now.stage) < STAGE_ORDER.indexOf(last.stage)) continue
      yield (last = now)
    }
  } finally {
    await events.return?.()
  }
}
