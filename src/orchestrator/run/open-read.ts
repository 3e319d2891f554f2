import { SourceError } from '../../sap/errors.js'
import type { Source, SourceRead, SourceReadMode, SourceSpec } from '../../sap/source.js'
import { RunRefused } from '../run-errors.js'
import { LeaseLost } from './publish.js'
import type { RunContext } from './context.js'
import { planInitPartitions } from './partitioned-init.js'
import { planPartitions, type PartitionedRead } from './partitions.js'
import { sourceSpecOf } from './pinned.js'

/** The read of the whole selection, or (a partitioned FULL or DELTA_INIT run) how to read each partition. */
export type OpenedRead = { mode: SourceReadMode; deltaTokenIn: string | null } & (
  | { read: SourceRead; partitioned?: undefined }
  | { read?: undefined; partitioned: PartitionedRead }
)

/**
 * Asks SAP for what the run's extraction mode means: a snapshot, a new subscription, or the changes
 * after the stored position (which is marked as fetched-but-not-committed first, so that a run that
 * does not commit is followed by a RECOVERY of the same delta).
 */
export async function openRead(ctx: RunContext): Promise<OpenedRead> {
  const { deps, run, world } = ctx
  const source = deps.sources(deps.connections.resolve(run.pipeline.connection), ctx.log)
  const spec = sourceSpecOf(world, run.pipelineId)
  const mode: SourceReadMode = run.extractionMode === 'FULL' ? 'FULL' : run.extractionMode === 'DELTA_INIT' ? 'DELTA_INIT' : 'DELTA'
  let position: string | undefined
  let deltaTokenIn: string | null = null
  if (mode === 'DELTA') ({ position, deltaTokenIn } = await deltaPosition(ctx))
  // RFC_READ_TABLE deltas follow a watermark: SAP holds no subscription for them.
  if (mode === 'DELTA_INIT' && spec.kind !== 'TABLE_RFC') await claimSubscription(ctx, source, spec)
  // Only snapshots are split: FULL, and a DELTA_INIT whose position the source can fix before the
  // partitions read (TABLE_RFC watermarks, partitioned-init.ts); the catalogue refuses the rest (README, Partitioned loads).
  const split = world.output.partitions > 1
  const partitioned =
    split && mode === 'FULL'
      ? await planPartitions(ctx, source, spec)
      : split && mode === 'DELTA_INIT'
        ? await planInitPartitions(ctx, source, spec)
        : undefined
  if (partitioned) return { mode, deltaTokenIn, partitioned }
  const read = await source.read({ spec, mode, position, signal: ctx.signal })
  return { read, mode, deltaTokenIn }
}

async function deltaPosition(ctx: RunContext): Promise<{ position: string; deltaTokenIn: string | null }> {
  const { deps, run, world } = ctx
  const state = run.pipeline.deltaState
  if (!state?.deltaLink)
    throw new SourceError('DELTA_POSITION_LOST', 'the pipeline has no stored delta position; run it with mode DELTA_INIT')
  // The subscription was made with another selection (a change raced the run's start): its deltas
  // do not answer what this run would claim to have read.
  if (state.selectionHash && state.selectionHash !== world.selectionHash)
    throw new RunRefused(
      'SELECTION_CHANGED',
      "the pipeline's selection (connection, source, fields, filter or mode) is not the one its delta subscription was made with; call resetDelta, or run it with mode DELTA_INIT",
    )
  // An explicit RECOVERY with nothing pending repeats the last committed delta from its start token.
  const repeatFrom = run.extractionMode === 'RECOVERY' && !state.pendingRunId ? state.lastCommittedRun?.deltaTokenIn : null
  const deltaTokenIn = repeatFrom ?? state.token
  await deps.db.$transaction(async (tx) => {
    // Only while the run is still this worker's: a run declared lost must not mark the delta
    // pending after its new owner has committed it.
    const held = await tx.run.updateMany({ where: { id: run.id, status: 'RUNNING', workerId: deps.workerId }, data: { deltaTokenIn } })
    if (held.count !== 1) throw new LeaseLost(`run ${run.id} is no longer this worker's`)
    await tx.deltaState.update({ where: { pipelineId: run.pipelineId }, data: { pendingRunId: run.id } })
  })
  return { position: repeatFrom ?? state.deltaLink, deltaTokenIn }
}

/**
 * SAP keeps one delta subscription per user × service × entity set (OData) and one per subscriber
 * process (ODP over RFC); a DELTA_INIT replaces it. While the pipeline has no subscription of its own,
 * one that SAP reports is someone else's — another deployment with the same SAP user, or one a
 * forced resetDelta left behind — and replacing it would silently take its deltas away. So it is
 * refused, unless the run was started with `takeover`.
 */
async function claimSubscription(ctx: RunContext, source: Source, spec: SourceSpec): Promise<void> {
  const { deps, run } = ctx
  if (!run.pipeline.subscribedAt) {
    const holder = await source.subscription(spec, ctx.signal)
    if (holder && !run.takeover)
      throw new RunRefused(
        'SUBSCRIPTION_IN_USE',
        `${holder}, and it is not this pipeline's. A DELTA_INIT would take its deltas away from whoever reads them (another deployment using the same SAP user?). Use another SAP user, or run the pipeline with takeover: true to replace it (also when it is this pipeline's own, left behind after SAP reported its delta position lost or a forced resetDelta)`,
      )
    if (holder) {
      await ctx.tracker.note('warn', `taking over a subscription that was not this pipeline's: ${holder}`)
      await source.reset(spec, ctx.signal)
    }
  }
  // From now on SAP may hold a subscription that is this pipeline's, committed or not.
  await deps.db.pipeline.update({ where: { id: run.pipelineId }, data: { subscribedAt: new Date() } })
}
