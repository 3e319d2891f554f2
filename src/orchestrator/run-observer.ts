import type { ExtractionMode, RunStage } from '../db/client.js'

/** A run as it ended, for the service's metrics. */
export interface EndedRun {
  status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED'
  /** The RunErrorCode of a failed or cancelled run; null when it succeeded. */
  errorCode: string | null
  mode: ExtractionMode
  /** When a worker claimed it; null for a run cancelled while QUEUED. */
  startedAt: Date | null
  /** Committed rows and bytes (the manifest's); 0 for a run that did not commit. */
  rowsWritten: bigint
  bytesWritten: bigint
}

/**
 * What the orchestrator tells the service's metrics, without knowing them (docs/architecture.md#metrics).
 * `runEnded` is called exactly once per run, by the process whose transaction ended it (a commit, a
 * roll-forward, a failure, a lost-run sweep, the cancel of a queued run), after that transaction;
 * the other two where the work happens, in the process doing it.
 */
export interface RunObserver {
  runEnded(run: EndedRun): void
  /** A stage of a run executing here ended (the next stage began, or the run's work here ended). */
  stageEnded(stage: RunStage, seconds: number): void
  /** One object (a Parquet file, a manifest, a marker) was stored on the named destination in `seconds`. */
  objectStored(destinationName: string, seconds: number): void
}
