import { randomUUID } from 'node:crypto'
import { SourceError } from '../sap/errors.js'
import { DestinationError } from '../storage/destination.js'

/** What a failed or cancelled run records (`Run.error` in the API). */
export interface RunError {
  code: string
  message: string
  retryable: boolean
}

/** Raised inside a run when it is cancelled; never leaves the orchestrator. */
export class RunCancelled extends Error {
  override readonly name = 'RunCancelled'
  constructor(readonly reason: string = 'cancelled by request') {
    super(reason)
  }
}

/** A run stopped because its owner lost track of it (crash, restart, stalled heartbeat). */
export const workerLost = (stage: string): RunError => ({
  code: 'WORKER_LOST',
  message: `the process running this run stopped during ${stage} (crash or restart); the next run re-reads the same delta`,
  retryable: true,
})

/**
 * One mapping from what went wrong to how the run ends. Source and destination errors carry their
 * class (their codes are the RunError codes); an error we did not expect is INTERNAL, its details go to the log under an id
 * and only the id reaches the API (messages of unexpected errors may hold anything).
 */
export function classifyRunError(e: unknown, log: (id: string, e: unknown) => void): RunError {
  if (e instanceof RunCancelled) return { code: 'CANCELLED', message: e.reason, retryable: false }
  if (e instanceof SourceError) return { code: e.code, message: e.message, retryable: e.retryable }
  if (e instanceof DestinationError) return { code: e.code, message: e.message, retryable: e.retryable }
  if ((e as Error)?.name === 'ValueConversionError')
    return { code: 'DATA_CONVERSION', message: (e as Error).message, retryable: false }
  const id = randomUUID()
  log(id, e)
  return { code: 'INTERNAL', message: `internal error (log id ${id})`, retryable: false }
}
