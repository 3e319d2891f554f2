import { randomUUID } from 'node:crypto'
import type { ConnectionCatalog } from '../catalog/connections.js'
import { releaseHold, takeHold } from '../catalog/pipeline-hold.js'
import { outputSettingsOf, selectionOf } from '../catalog/pipeline-world.js'
import type { Connection, Db, Pipeline } from '../db/client.js'
import { conflict, notFound } from '../errors.js'
import type { Logger } from '../util/logger.js'
import { sourceSpecOf } from './run/pinned.js'
import type { SourceFactory } from './sources.js'

type PipelineWithConnection = Pipeline & { connection: Connection }

/** How long SAP may take to end a subscription. */
const TERMINATE_TIMEOUT_MS = 60_000

/**
 * What ends a pipeline's SAP subscription: resetDelta and deletePipeline. Both hold the pipeline for
 * their whole duration (no run starts, no change lands: see pipeline-hold.ts) and refuse while a run
 * is active, so no run can commit a position for a subscription that is being ended.
 */
export class PipelineAdmin {
  constructor(private readonly deps: { db: Db; log: Logger; connections: ConnectionCatalog; sources: SourceFactory }) {}

  /**
   * Ends the pipeline's SAP delta subscription (TerminateDeltasFor…, RODPS_REPL_ODP_RESET) and forgets
   * its position; the next run is a DELTA_INIT. If SAP cannot be reached nothing changes, unless
   * `force` is set, which forgets the local position anyway (the subscription then stays in SAP, and
   * the next DELTA_INIT reports it as not this pipeline's until it is taken over).
   */
  async resetDelta(pipelineId: string, opts: { force?: boolean } = {}): Promise<string> {
    await this.withHold(pipelineId, 'resetDelta', async (pipeline) => {
      await this.endSubscription(pipeline, opts)
      const { db } = this.deps
      await db.$transaction([
        db.deltaState.deleteMany({ where: { pipelineId } }),
        db.pipeline.update({ where: { id: pipelineId }, data: { subscribedAt: null } }),
      ])
      this.deps.log.info({ pipelineId }, 'delta reset')
    })
    return pipelineId
  }

  /** Deletes the pipeline and its run history, after ending its SAP subscription as resetDelta does. */
  async deletePipeline(pipelineId: string, opts: { force?: boolean } = {}): Promise<string> {
    await this.withHold(pipelineId, 'deletePipeline', async (pipeline) => {
      await this.endSubscription(pipeline, opts)
      await this.deps.db.pipeline.delete({ where: { id: pipelineId } })
      this.deps.log.info({ pipelineId }, 'pipeline deleted')
    })
    return pipelineId
  }

  private async withHold(pipelineId: string, what: string, work: (pipeline: PipelineWithConnection) => Promise<void>): Promise<void> {
    const { db } = this.deps
    const holder = `${what}:${randomUUID()}`
    const named = await db.pipeline.findUnique({ where: { id: pipelineId }, select: { name: true } })
    if (!named) throw notFound('pipeline', pipelineId)
    if (!(await takeHold(db, pipelineId, holder))) throw conflict(`pipeline "${named.name}" is being reset or deleted by another request`)
    try {
      // Read under the hold: what it says cannot change until the work is done.
      const pipeline = await db.pipeline.findUniqueOrThrow({ where: { id: pipelineId }, include: { connection: true } })
      const active = await db.run.findUnique({ where: { activeKey: pipelineId }, select: { id: true } })
      if (active) throw conflict(`pipeline "${pipeline.name}" has an active run (${active.id}); cancel it first`, { runId: active.id })
      await work(pipeline)
    } finally {
      await releaseHold(db, pipelineId, holder)
    }
  }

  /**
   * TerminateDeltasFor… / RODPS_REPL_ODP_RESET for a DELTA pipeline that holds a subscription of its
   * own; with `force`, failures are only logged. A pipeline that never subscribed (or whose position
   * SAP reported lost: taken over or ended elsewhere) sends nothing: SAP's subscription for this
   * user is then someone else's, and ending it would take their deltas away.
   */
  private async endSubscription(pipeline: PipelineWithConnection, opts: { force?: boolean }): Promise<void> {
    if (pipeline.mode !== 'DELTA' || !pipeline.subscribedAt) return
    const { log } = this.deps
    try {
      const source = this.deps.sources(this.deps.connections.resolve(pipeline.connection), log)
      const spec = sourceSpecOf({ selection: selectionOf(pipeline), output: outputSettingsOf(pipeline) }, pipeline.id)
      await source.reset(spec, AbortSignal.timeout(TERMINATE_TIMEOUT_MS))
    } catch (e) {
      if (!opts.force) throw e
      log.warn({ err: e, pipelineId: pipeline.id }, 'could not terminate the SAP subscription; going on anyway (force)')
    }
  }
}
