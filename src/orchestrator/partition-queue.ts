/**
 * Queue mode's second queue (docs/architecture.md#partitions): one job per attempt at one key range
 * of a partitioned FULL run or split DELTA_INIT, taken by any working process, the run's owner
 * included. Separate from the run queue so a worker's run concurrency (WORKER_CONCURRENCY) and partition concurrency
 * (PARTITION_CONCURRENCY) are separate: an owner waiting for its partitions holds a run slot, never
 * a partition slot, so partitions can always be read.
 */

/** A job names the run and the `RunPartition` row (one attempt) and nothing else: the database is the truth. */
export interface PartitionJob {
  runId: string
  partitionId: number
}

/**
 * What a partition worker tells the run's owner (Redis `:partition`): how many rows this attempt has
 * read from SAP so far (a running total, so a lost message costs nothing once a later one arrives),
 * and whether it has ended (a doorbell: the owner reads the row). The rows stay the source of truth;
 * the owner polls them too.
 */
export interface PartitionMessage {
  runId: string
  partitionId: number
  rowsExtracted: number
  ended: boolean
}

export interface PartitionTiming {
  /** How often a partition worker renews its row's heartbeat (and checks the run is still RUNNING). */
  heartbeatMs: number
  /** A RUNNING row whose heartbeat is older than this is taken back by the owner and queued again. */
  staleAfterMs: number
}

export const DEFAULT_PARTITION_TIMING: PartitionTiming = { heartbeatMs: 5_000, staleAfterMs: 30_000 }
export const DEFAULT_PARTITION_CONCURRENCY = 4

export interface PartitionQueue {
  readonly timing: PartitionTiming
  /** Queues one attempt under `jobId` (`<runId>:p02:a1`); queueing it again while its job exists adds nothing. */
  enqueue(jobId: string, job: PartitionJob): Promise<void>
  /** Starts reading partitions: `handler` resolves when the attempt has ended (its row says how). */
  start(handler: (job: PartitionJob) => Promise<void>): void
  /** Stops taking jobs and waits for the handlers in flight. */
  stop(): Promise<void>
  publish(message: PartitionMessage): void
  /** The messages about one run's partitions; returns the stop function. */
  listen(runId: string, listener: (message: PartitionMessage) => void): () => void
}

/** The job id of one attempt: `<runId>:p02:a1` (BullMQ takes a `:` in a custom id only in three parts, as here). */
export const partitionJobId = (runId: string, index: number, attempt: number): string =>
  `${runId}:p${String(index).padStart(2, '0')}:a${attempt}`
