import { parsePrismaCursor } from '@pothos/plugin-prisma'
import type { RunEvent } from '../db/client.js'
import { badInput, notFound } from '../errors.js'
import { isTerminal } from '../orchestrator/status.js'
import type { AppServices } from './context.js'

/** Lines read from the database at a time while catching up. */
const PAGE = 500

/**
 * The runEvents stream: the run's stored log lines after `after`, then new ones as they are
 * written, in id order, until the run has ended. The bus only says "look again"; the lines
 * themselves always come from the database, after the last id sent, so the seam between backlog
 * and live lines has no gap and no repeat, and a lost bell delays a line instead of dropping it.
 * It ends when the run has ended: a run's last line is stored in the transaction that ends it
 * (docs/architecture.md#progress), so once its status, read before the lines, is terminal, the read
 * holds the rest of the log.
 */
export async function runEvents(app: AppServices, runId: string, after: string | null | undefined): Promise<AsyncGenerator<RunEvent>> {
  // Checked before the stream starts, so a bad id or cursor is an operation error, not a broken stream.
  const from = after ? eventIdOf(after) : 0
  if (!(await app.db.run.count({ where: { id: runId } }))) throw notFound('run', runId)
  return stream(app, runId, from)
}

async function* stream(app: AppServices, runId: string, after: number): AsyncGenerator<RunEvent> {
  // Subscribed before the first read: a line written between the read and the wait still rings.
  const bells = app.bus.subscribe({ runId, kinds: ['event', 'status', 'resync'] })
  let last = after
  try {
    for (;;) {
      const run = await app.db.run.findUnique({ where: { id: runId }, select: { status: true } })
      const lines = await app.db.runEvent.findMany({ where: { runId, id: { gt: last } }, orderBy: { id: 'asc' }, take: PAGE })
      for (const line of lines) {
        yield line
        last = line.id
      }
      if (lines.length === PAGE) continue
      if (!run || isTerminal(run)) return // deleted with its pipeline, or ended: the log is complete
      // A bell for a line already sent (read with the backlog) is no reason to look again; a status
      // change or a resync (bells may have been lost while Redis was away) always is.
      for (let bell = await bells.next(); ; bell = await bells.next()) {
        if (bell.done) return
        if (bell.value.kind !== 'event' || bell.value.eventId > last) break
      }
    }
  } finally {
    await bells.return?.()
  }
}

/** A `RunEvent` cursor (as `RunEvent.cursor` and the connections' edges give it) to the event id. */
function eventIdOf(cursor: string): number {
  try {
    const id = parsePrismaCursor(cursor)
    if (typeof id === 'number' && Number.isInteger(id) && id >= 0) return id
  } catch {
    // reported below
  }
  throw badInput(`"${cursor}" is not a run event cursor; pass a RunEvent's cursor or an edge's cursor from runEvents`)
}
