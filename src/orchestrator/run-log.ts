import type { Db, Prisma, RunStage } from '../db/client.js'
import type { ProgressBus, RunLogged } from './progress.js'
import { type EventData, eventDataText } from './run-event-data.js'

/** A line of a run's own log (`RunEvent`). */
export interface RunLine {
  level: 'info' | 'warn' | 'error'
  stage: RunStage
  message: string
  data?: EventData
}

type RunRef = { id: string; pipelineId: string }

/**
 * Writes a line inside a transaction the caller commits; the caller rings the bus (`bus.publish`)
 * with the result once it has. A run's last line is written in the transaction that ends the run,
 * so "the run has ended" implies "its whole log is stored" (docs/architecture.md#progress).
 */
export async function writeRunLine(tx: Prisma.TransactionClient | Db, run: RunRef, line: RunLine): Promise<RunLogged> {
  const row = await tx.runEvent.create({
    data: { runId: run.id, level: line.level, stage: line.stage, message: line.message, data: eventDataText(line.data) },
    select: { id: true },
  })
  return { kind: 'event', runId: run.id, pipelineId: run.pipelineId, eventId: row.id }
}

/** Writes a line on its own and tells `runEvents` subscribers. */
export async function appendRunLine(deps: { db: Db; bus: ProgressBus }, run: RunRef, line: RunLine): Promise<void> {
  deps.bus.publish(await writeRunLine(deps.db, run, line))
}
