import { randomUUID } from 'node:crypto'
import { StoredRowError } from '../catalog/stored-json.js'
import { SourceError } from '../sap/errors.js'
import { DestinationError } from '../storage/destination.js'
import { ParquetSchemaError, ValueConversionError } from '../transform/index.js'
import { PartitionFailed } from './run/partition-result.js'

/** Every class of run failure (`Run.error.code`, the GraphQL enum RunErrorCode). Add, never rename. */
export const RUN_ERROR_CODES = [
  'SOURCE_UNAVAILABLE',
  'SOURCE_BUSY',
  'SOURCE_AUTH',
  'SOURCE_FORBIDDEN',
  'SOURCE_DRIVER_MISSING',
  'SOURCE_NOT_FOUND',
  'SOURCE_BAD_REQUEST',
  'SOURCE_PROTOCOL',
  'DELTA_POSITION_LOST',
  'DESTINATION_UNAVAILABLE',
  'DESTINATION_AUTH',
  'DESTINATION_NOT_FOUND',
  'DESTINATION_INTEGRITY',
  'OUTBOUND_REFUSED',
  'DATA_CONVERSION',
  'DATA_INTEGRITY',
  'SCHEMA_CHANGED',
  'CURRENT_STATE_REFUSED',
  'TABLE_IN_USE',
  'SELECTION_CHANGED',
  'SUBSCRIPTION_IN_USE',
  'CANCELLED',
  'WORKER_LOST',
  'INTERNAL',
] as const
export type RunErrorCode = (typeof RUN_ERROR_CODES)[number]

/** A code read from storage (a run row, another worker's partition row): one this version does not know is INTERNAL. */
export const knownRunErrorCode = (code: string): RunErrorCode =>
  (RUN_ERROR_CODES as readonly string[]).includes(code) ? (code as RunErrorCode) : 'INTERNAL'

/**
 * The two ways out of DELTA_POSITION_LOST, named in the run's error and in the refusal of the next
 * plain run (docs/architecture.md#position-lost). Both deliver a full snapshot again: the changes
 * since the last commit are unknown, so the user must choose it.
 */
export const POSITION_LOST_RECOVERY =
  "the changes since the last committed run are unknown. Recover with resetDelta (the next run is then a DELTA_INIT) or runPipeline(mode: DELTA_INIT); either delivers a full snapshot again, so readers that do not dedupe by key should start over from it. SAP may still list the old subscription, no longer known to be this pipeline's: then the DELTA_INIT needs takeover: true to replace it (SUBSCRIPTION_IN_USE otherwise)"

/** What a failed or cancelled run records (`Run.error` in the API). */
export interface RunError {
  code: RunErrorCode
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

/**
 * A refusal of the run engine itself: the files do not hold exactly the rows the source sent
 * (DATA_INTEGRITY), the pipeline's selection no longer matches its delta subscription
 * (SELECTION_CHANGED), SAP already holds a subscription that is not this pipeline's
 * (SUBSCRIPTION_IN_USE), or SAP's fields changed in a way the pipeline's schema policy does not
 * allow (SCHEMA_CHANGED), or the pipeline's current-state table cannot take the run (no key, a
 * delta that does not continue from the table's last run: CURRENT_STATE_REFUSED), or its lake table
 * belongs to another pipeline (TABLE_IN_USE). None is cured by running the same thing again.
 */
export class RunRefused extends Error {
  override readonly name = 'RunRefused'
  readonly retryable = false
  constructor(
    readonly code:
      | 'DATA_INTEGRITY'
      | 'SELECTION_CHANGED'
      | 'SUBSCRIPTION_IN_USE'
      | 'SCHEMA_CHANGED'
      | 'CURRENT_STATE_REFUSED'
      | 'TABLE_IN_USE',
    message: string,
  ) {
    super(message)
  }
}

/** A run stopped because its owner lost track of it (crash, restart, stalled heartbeat). */
export const workerLost = (stage: string): RunError => ({
  code: 'WORKER_LOST',
  message: `the process running this run stopped during ${stage} (crash or restart); the next run re-reads the same delta`,
  retryable: true,
})

type KnownFailure =
  | { kind: 'cancelled'; error: RunCancelled }
  | { kind: 'source'; error: SourceError }
  | { kind: 'destination'; error: DestinationError }
  | { kind: 'conversion'; error: ValueConversionError | ParquetSchemaError }
  | { kind: 'refused'; error: RunRefused }
  | { kind: 'partition'; error: PartitionFailed }
  | { kind: 'stored'; error: StoredRowError }
  | { kind: 'unexpected'; error: unknown }

function recognise(e: unknown): KnownFailure {
  if (e instanceof RunCancelled) return { kind: 'cancelled', error: e }
  if (e instanceof SourceError) return { kind: 'source', error: e }
  if (e instanceof DestinationError) return { kind: 'destination', error: e }
  if (e instanceof ValueConversionError || e instanceof ParquetSchemaError) return { kind: 'conversion', error: e }
  if (e instanceof RunRefused) return { kind: 'refused', error: e }
  if (e instanceof PartitionFailed) return { kind: 'partition', error: e }
  if (e instanceof StoredRowError) return { kind: 'stored', error: e }
  return { kind: 'unexpected', error: e }
}

/**
 * One mapping from what went wrong to how the run ends. Source and destination errors carry their
 * class (their codes are RunErrorCodes); an error we did not expect is INTERNAL, its details go to
 * the log under an id and only the id reaches the API (messages of unexpected errors may hold
 * anything). The switch is exhaustive: a new kind of failure does not compile until it is mapped.
 */
export function classifyRunError(e: unknown, log: (id: string, e: unknown) => void): RunError {
  const failure = recognise(e)
  switch (failure.kind) {
    case 'cancelled':
      return { code: 'CANCELLED', message: failure.error.reason, retryable: false }
    case 'source':
      if (failure.error.code === 'DELTA_POSITION_LOST')
        return { code: 'DELTA_POSITION_LOST', message: `${failure.error.message}; ${POSITION_LOST_RECOVERY}`, retryable: false }
      return { code: failure.error.code, message: failure.error.message, retryable: failure.error.retryable }
    case 'destination':
    case 'refused':
    // A partition read by another worker (queue mode) failed for good: its worker classified the error already.
    case 'partition':
      return { code: failure.error.code, message: failure.error.message, retryable: failure.error.retryable }
    case 'conversion':
      return { code: 'DATA_CONVERSION', message: failure.error.message, retryable: false }
    case 'stored':
      // Still INTERNAL (the service's own data is at fault), but the message names the row to save again.
      return { code: 'INTERNAL', message: failure.error.message, retryable: false }
    case 'unexpected': {
      const id = randomUUID()
      log(id, failure.error)
      return { code: 'INTERNAL', message: `internal error (log id ${id})`, retryable: false }
    }
    default:
      return assertNever(failure)
  }
}

function assertNever(x: never): never {
  throw new Error(`unmapped run failure ${JSON.stringify(x)}`)
}
