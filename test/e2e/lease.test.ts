/**
 * A run belongs to the worker that claimed it only while the database says so. When another process
 * declares it lost (its heartbeat looked stale) and re-runs the pipeline, the old worker must find
 * out and stop without touching the run's outcome, its files or the delta state.
 */
import { afterEach, expect, it } from 'vitest'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import { graphql } from '../gql/index.js'
import { Harness } from '../helpers/harness.js'

const Progress = graphql(`
  subscription LeaseProgress($runId: ID!) { runProgress(runId: $runId) { status stage rowsExtracted } }
`)
const RunPipeline = graphql(`
  mutation LeaseRunPipeline($id: ID!) { runPipeline(id: $id) { id status } }
`)

let h: Harness
afterEach(() => h?.stop())

/** Waits (on the subscription, no polling) until the run has rows in hand and is stuck on the slow page. */
async function untilExtracting(runId: string): Promise<void> {
  for await (const msg of h.subscribe(Progress, { runId })) {
    const p = msg.data!.runProgress
    if (p.status !== 'RUNNING' && p.status !== 'QUEUED') throw new Error(`run ended early: ${p.status}`)
    if (p.stage === 'EXTRACTING' && Number(p.rowsExtracted) > 0) return
  }
}

it('a worker whose run was declared lost by another process stops at its next heartbeat and leaves everything alone', async () => {
  h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 60 } }, orchestrator: { timing: { persistEveryMs: 100 } } })
  const { db, orchestrator } = h.app.services
  const { pipelineId } = await h.createPipeline({ name: 'leased', pageSize: 20 })
  const init = await h.run(pipelineId)
  h.sim.admin.insert(SALES_ITEMS, 50)
  h.sim.admin.injectFault({ kind: 'slow', page: 2, read: 'delta', delayMs: 60_000 })

  const { runPipeline } = await h.gql(RunPipeline, { id: pipelineId })
  await untilExtracting(runPipeline.id)
  expect(orchestrator.isRunningHere(runPipeline.id)).toBe(true)

  // What another process's sweep writes when it finds the heartbeat stale.
  const verdict = {
    status: 'FAILED',
    activeKey: null,
    errorCode: 'WORKER_LOST',
    errorMessage: 'declared lost by another process',
    errorRetryable: true,
  } as const
  await db.run.update({ where: { id: runPipeline.id }, data: { ...verdict, finishedAt: new Date() } })

  // The slow page would hold the run for a minute: only the lost lease can end it this soon.
  await expect.poll(() => orchestrator.isRunningHere(runPipeline.id), { timeout: 5_000, interval: 50 }).toBe(false)
  const after = await db.run.findUniqueOrThrow({ where: { id: runPipeline.id } })
  expect(after).toMatchObject({ ...verdict, manifestUri: null })
  expect(after.uncommittedPrefix).not.toBeNull() // its files are for the next run's clean-up, not this worker's
  const state = await db.deltaState.findUniqueOrThrow({ where: { pipelineId } })
  expect(state.token).toBe(init.deltaTokenOut)
  expect(state.lastCommittedRunId).toBe(init.id)
})
