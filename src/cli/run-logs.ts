import { setTimeout as sleep } from 'node:timers/promises'
import type { Config } from '../config.js'
import type { RunEvent } from '../db/client.js'
import { eventDataOf } from '../orchestrator/run-event-data.js'
import { isTerminal } from '../orchestrator/status.js'
import { printable } from '../util/control-chars.js'
import { openServiceDb } from './catalog-session.js'
import { findRun } from './runs.js'

/** How often --follow looks for new lines: the run is another process's (serve, worker, run). */
const POLL_MS = 500
/** Lines read at a time while catching up. */
const PAGE = 500

/**
 * `runs logs <id> [--follow] [--json]`: the run's own log (RunEvent rows), oldest first. With
 * --follow it goes on until the run has ended and exits 0 if it SUCCEEDED, 1 otherwise.
 *
 * It reads the database, whichever process runs the run, with or without REDIS_URL: lines after
 * the last id printed (the log's cursor is RunEvent.id), status read before the lines. A run's last
 * line is stored in the transaction that ends it (docs/architecture.md#progress), so once the
 * status read first is terminal, the lines read after it are the whole rest of the log — the rule
 * the runEvents subscription follows (src/api/run-events.ts), with a poll where it waits for a bell.
 */
export async function runLogs(config: Config, id: string, opts: { follow: boolean; json: boolean }): Promise<number> {
  const db = await openServiceDb(config)
  try {
    if (!(await findRun(db, id))) {
      console.error(`no run with id "${id}"`)
      return 1
    }
    let last = 0
    for (;;) {
      const run = await db.run.findUniqueOrThrow({ where: { id }, select: { status: true, errorCode: true, errorMessage: true } })
      const lines = await db.runEvent.findMany({ where: { runId: id, id: { gt: last } }, orderBy: { id: 'asc' }, take: PAGE })
      for (const line of lines) {
        print(line, opts.json)
        last = line.id
      }
      if (lines.length === PAGE) continue
      if (!opts.follow) return 0
      if (isTerminal(run)) {
        if (!opts.json) console.error(`run ${id} ${run.status}${run.errorCode ? `: ${run.errorCode} ${run.errorMessage}` : ''}`)
        return run.status === 'SUCCEEDED' ? 0 : 1
      }
      await sleep(POLL_MS)
    }
  } finally {
    await db.$disconnect()
  }
}

/** One line: text for people, or one JSON object per line (the GraphQL RunEvent's fields) with --json. */
function print(e: RunEvent, json: boolean) {
  if (json) {
    console.log(JSON.stringify({ id: String(e.id), at: e.at, level: e.level, stage: e.stage, message: e.message, data: eventDataOf(e) }))
    return
  }
  console.log(`${e.at.toISOString()} ${e.level.toUpperCase().padEnd(5)} ${e.stage.padEnd(12)} ${printable(e.message)}`)
}
