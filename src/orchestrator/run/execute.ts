import { rm } from 'node:fs/promises'
import type { RunError } from '../run-errors.js'
import { claimRun, type ExecuteDeps, type RunContext } from './context.js'
import { endFailed } from './fail.js'
import { checkSchema } from '../schema/check.js'
import { openRead, type OpenedRead } from './open-read.js'
import { prepare } from './prepare.js'
import { publishManifest } from './publish.js'
import { commitPublished } from './settle.js'
import { streamPartitions } from './partitions.js'
import { streamQueuedPartitions } from './partitions-queued.js'
import { streamToFiles } from './stream.js'
import { maintainAfterRun } from '../lake/maintain.js'
import { tablePathOf } from '../lake/table-paths.js'
import { verifyConservation } from './verify.js'

export type { AbortReason, ExecuteDeps } from './context.js'

/**
 * How an execution ended, for the retry decision; null when the run was not this worker's to run;
 * `no-slot` when it is still QUEUED because a concurrency limit is reached (see `claimRun`).
 */
export type RunOutcome =
  | {
      runId: string
      pipelineId: string
      attempt: number
      status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'RELEASED'
      error?: RunError
    }
  | 'no-slot'
  | null

/**
 * Executes one QUEUED run to its end. The whole protocol, in order:
 *
 *   claim (pin the world) → prepare → open the read → check the schema → stream to files → verify the rows →
 *   publish the manifest → commit → confirm the read in SAP → expire old lake snapshots (ICEBERG pipelines)
 *
 * The delta position moves only in the commit, after the manifest; on any failure before the
 * manifest it stays where it was and the pipeline's next run re-reads the same delta; after the
 * manifest the run is committed whatever fails (see `endFailed`).
 */
export async function executeRun(deps: ExecuteDeps, runId: string, signal: AbortSignal): Promise<RunOutcome> {
  const ctx = await claimRun(deps, runId, signal)
  if (!ctx || ctx === 'no-slot') return ctx
  const outcome = { runId, pipelineId: ctx.run.pipelineId, attempt: ctx.run.attempt }
  try {
    await prepare(ctx)
    const opened = await openRead(ctx)
    if (opened.read) await checkSchema(ctx, opened.read.columns)
    const extracted = opened.partitioned
      ? // Queue mode hands the partitions of a FULL run or a split DELTA_INIT to any worker, except an ICEBERG
        // pipeline's, whose files take the table plan only the owner makes (architecture.md#partitions).
        ctx.deps.partitionQueue && !tablePathOf(ctx.world)
        ? await streamQueuedPartitions(ctx, opened.partitioned, ctx.deps.partitionQueue)
        : await streamPartitions(ctx, opened.partitioned)
      : await streamToFiles(ctx, opened)
    verifyConservation(extracted)
    await publishManifest(ctx, opened, extracted)
    const status = await commitPublished(ctx)
    if (status === 'SUCCEEDED') {
      await confirmRead(ctx, opened)
      // After the commit, so it can neither delay nor fail it (lake/maintain.ts): nothing it throws reaches endFailed.
      await maintainAfterRun(ctx, deps.lakeMaintenance).catch((err) => ctx.log.warn({ err }, 'lake maintenance after the commit failed'))
    }
    return { ...outcome, status }
  } catch (e) {
    return { ...outcome, ...(await endFailed(ctx, e)) }
  } finally {
    ctx.tracker.stop()
    ctx.destination?.close?.()
    await rm(ctx.staging, { recursive: true, force: true })
  }
}

/**
 * After the commit: protocols that hold the read open until told (ODP over RFC, never partitioned) close it. A failure
 * here changes nothing committed; the next read repeats from the stored position.
 */
async function confirmRead(ctx: RunContext, { read }: OpenedRead): Promise<void> {
  await read?.confirm?.(ctx.signal).catch((err) => ctx.log.warn({ err }, 'could not confirm the read in SAP; the next run repeats it'))
}
