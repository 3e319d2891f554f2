/**
 * The one object every stage of a run takes: the claimed run, the world it pinned, its logger,
 * tracker and signal, where it stages and where it writes, and how far the commit protocol got.
 */
import { join } from 'node:path'
import type { RunObserver } from '../run-observer.js'
import type { ConnectionCatalog } from '../../catalog/connections.js'
import type { DestinationCatalog } from '../../catalog/destinations.js'
import type { Db, Prisma } from '../../db/client.js'
import type { Destination } from '../../storage/destination.js'
import { renderPathTemplate } from '../../storage/path-template.js'
import type { Logger } from '../../util/logger.js'
import type { CommitRecord } from '../commit.js'
import type { PartitionQueue } from '../partition-queue.js'
import type { ProgressBus } from '../progress.js'
import { RunCancelled } from '../run-errors.js'
import { RunTracker, type TrackerTiming } from '../run-tracker.js'
import type { SourceFactory } from '../sources.js'
import { slotFree, slotsFullAtAGlance } from '../limits/slots.js'
import { pinWorld, type PinnedWorld } from './pinned.js'
import type { LakeMaintenanceSettings } from '../lake/maintain.js'

export interface ExecuteDeps {
  db: Db
  bus: ProgressBus
  log: Logger
  connections: ConnectionCatalog
  destinations: DestinationCatalog
  sources: SourceFactory
  /** Parquet files are staged here (one folder per run) until uploaded. */
  stagingDir: string
  timing: TrackerTiming
  workerId: string
  /** After this long without a heartbeat others may declare the run lost: the lease's length. */
  staleAfterMs: number
  /** Runs RUNNING at once on this database, all processes together (MAX_CONCURRENT_RUNS); null = no limit. */
  maxConcurrentRuns: number | null
  /** The service's metrics (run ends, stage durations, object uploads); none in embedded uses. */
  observer?: RunObserver
  /**
   * Queue mode: partitions of a partitioned FULL run or split DELTA_INIT are queued here for any worker to read
   * (docs/architecture.md#partitions); without it the run's worker reads them all itself.
   */
  partitionQueue?: PartitionQueue
  /** Snapshot expiry of an ICEBERG pipeline's tables after each committed run (LAKE_SNAPSHOT_RETENTION_DAYS). */
  lakeMaintenance: LakeMaintenanceSettings
}

const RUN_INCLUDE = {
  pipeline: { include: { connection: true, destination: true, deltaState: { include: { lastCommittedRun: true } } } },
} satisfies Prisma.RunInclude
export type ClaimedRun = Prisma.RunGetPayload<{ include: typeof RUN_INCLUDE }>

/**
 * Why a run's signal was aborted: cancelled by a user, the process is shutting down, or the run is
 * no longer this worker's (another process declared it lost and has re-run the pipeline).
 */
export type AbortReason = RunCancelled | { shutdown: true } | { leaseLost: true }

/**
 * How far the run got towards its commit point. `in-doubt`: the manifest write failed in a way that
 * may still have stored it; only the lost-run sweep, reading the store later, can tell.
 */
export type Publication = 'none' | 'in-doubt' | 'published'

export interface RunContext {
  readonly deps: ExecuteDeps
  readonly run: ClaimedRun
  readonly world: PinnedWorld
  readonly log: Logger
  readonly tracker: RunTracker
  /** Aborts on cancel, shutdown or a lost lease (its reason is an {@link AbortReason}). */
  readonly signal: AbortSignal
  /** The run's own prefix under the destination root. */
  readonly prefix: string
  /** The local folder its Parquet files are staged in. */
  readonly staging: string
  destination?: Destination
  publication: Publication
  /** What the commit records, known once the manifest is published. */
  commit?: CommitRecord
}

/**
 * Takes a QUEUED run for this worker and pins its world, in one transaction: from here on the run
 * reads and writes what the pipeline said at this moment. Null when the run was not there to take
 * (cancelled while queued, or another worker has it); `no-slot` when it stays QUEUED because a
 * concurrency limit is reached or runs ahead of it in the queue take the free slots first
 * (architecture.md#claim).
 */
export async function claimRun(deps: ExecuteDeps, runId: string, signal: AbortSignal): Promise<RunContext | 'no-slot' | null> {
  const { db } = deps
  if (await slotsFullAtAGlance(db, runId, deps.maxConcurrentRuns)) return 'no-slot'
  const claimed = await db.$transaction(async (tx) => {
    if (!(await slotFree(tx, runId, deps.maxConcurrentRuns))) return 'no-slot' as const
    const taken = await tx.run.updateMany({
      where: { id: runId, status: 'QUEUED' },
      data: { status: 'RUNNING', stage: 'CONNECTING', startedAt: new Date(), heartbeatAt: new Date(), workerId: deps.workerId },
    })
    if (taken.count === 0) return null
    const run = await tx.run.findUniqueOrThrow({ where: { id: runId }, include: RUN_INCLUDE })
    const world = pinWorld(run.pipeline)
    await tx.run.update({
      where: { id: runId },
      data: { connectionId: run.pipeline.connectionId, destinationId: run.pipeline.destinationId, pinned: JSON.stringify(world) },
    })
    return { run, world }
  })
  if (!claimed || claimed === 'no-slot') return claimed
  const { run, world } = claimed
  const log = deps.log.child({ runId, pipelineId: run.pipelineId, mode: run.extractionMode })
  const fromDb = new AbortController()
  const tracker = new RunTracker({
    db,
    bus: deps.bus,
    log,
    runId,
    pipelineId: run.pipelineId,
    workerId: deps.workerId,
    stage: 'CONNECTING',
    timing: deps.timing,
    onStageEnded: (stage, seconds) => deps.observer?.stageEnded(stage, seconds),
    onHeartbeat: (state) => {
      if (fromDb.signal.aborted) return
      if (state.leaseLost) fromDb.abort({ leaseLost: true } satisfies AbortReason)
      else if (state.cancelRequested) fromDb.abort(new RunCancelled())
    },
  })
  tracker.publishStatus('RUNNING', 'CONNECTING')
  const prefix = runPrefix(world, run)
  return {
    deps,
    run,
    world,
    log,
    tracker,
    signal: AbortSignal.any([signal, fromDb.signal]),
    prefix,
    staging: join(deps.stagingDir, runId),
    publication: 'none',
  }
}

/** The reason the run's signal was aborted, if it was. */
export const abortReason = (ctx: RunContext): AbortReason | undefined =>
  ctx.signal.aborted ? (ctx.signal.reason as AbortReason) : undefined

/** A run's prefix under its destination: from what it pinned and its own row only, so it can be found again after the run (manifest-files.ts). */
export const runPrefix = (world: PinnedWorld, run: { id: string; queuedAt: Date; extractionMode: string }): string =>
  renderPathTemplate(world.output.pathTemplate, {
    pipeline: world.pipelineName,
    entity: world.selection.entitySet ?? world.selection.odpName ?? world.selection.table ?? 'data',
    at: run.queuedAt,
    runId: run.id,
    mode: run.extractionMode,
  })
