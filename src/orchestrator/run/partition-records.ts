/**
 * The `RunPartition` rows of a partitioned FULL run: one per attempt at one key range, saying who read
 * it, when, and what it wrote or why it failed (docs/architecture.md#partitions). They are the
 * record a run's owner commits from when partitions are read by other workers; in one process they
 * record what the owner's own reads did. A row never commits anything: only the manifest does.
 */
import { SourceError } from '../../sap/errors.js'
import type { RunContext } from './context.js'
import { writtenOf, type PartitionFailure, type PartitionWritten } from './partition-result.js'
import type { Partition } from './partitions.js'
import type { Extracted } from './stream.js'

export interface AttemptRecord {
  succeeded(x: Extracted): Promise<void>
  failed(e: unknown): Promise<void>
}

/** Records that this worker starts reading the partition's attempt, and returns how to record its end. */
export async function startAttempt(ctx: RunContext, p: Partition, attempt: number): Promise<AttemptRecord> {
  const { db, workerId } = ctx.deps
  const { id } = await db.runPartition.create({
    data: {
      runId: ctx.run.id,
      index: p.index,
      rangeField: p.range.field,
      rangeFrom: p.range.from ?? null,
      rangeTo: p.range.to ?? null,
      attempt,
      workerId,
    },
    select: { id: true },
  })
  const end = (status: 'SUCCEEDED' | 'FAILED', result: PartitionWritten | PartitionFailure) =>
    db.runPartition.update({
      where: { id },
      data: { status, result: JSON.stringify(result), finishedAt: new Date(), heartbeatAt: new Date() },
    })
  return {
    succeeded: (x) => end('SUCCEEDED', writtenOf(x)).then(() => {}),
    failed: async (e) => {
      const error =
        e instanceof SourceError
          ? { code: e.code, message: e.message, retryable: e.retryable }
          : { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e), retryable: false }
      await end('FAILED', { error })
    },
  }
}
