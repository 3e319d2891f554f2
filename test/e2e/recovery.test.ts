import { afterEach, describe, expect, it } from 'vitest'
import { sapSourceFactory } from '../../src/orchestrator/sources.js'
import { SALES_ITEMS, type ChangeRef } from '../../src/simulator/index.js'
import { graphql } from '../gql/index.js'
import { Harness } from '../helpers/harness.js'
import { TEST_OUTBOUND } from '../helpers/outbound.js'
import { readRun, type LakeRow } from '../helpers/lake.js'

const PipelineToken = graphql(`
  query RecoveryPipelineToken($id: ID!) { pipeline(id: $id) { deltaState { token recoveryPending } } }
`)
const PipelineLost = graphql(`
  query RecoveryPipelineLost($id: ID!) { pipeline(id: $id) { deltaState { token recoveryPending positionLost } } }
`)
const CancelRun = graphql(`
  mutation RecoveryCancel($id: ID!) { cancelRun(id: $id) { id status stage error { code retryable } } }
`)
const RunPipeline = graphql(`
  mutation RecoveryRunPipeline($id: ID!) { runPipeline(id: $id) { id status trigger extractionMode } }
`)
const RunPipelineAs = graphql(`
  mutation RecoveryRunPipelineAs($id: ID!, $mode: ExtractionMode) { runPipeline(id: $id, mode: $mode) { id } }
`)
const Progress = graphql(`
  subscription RecoveryProgress($runId: ID!) { runProgress(runId: $runId) { status stage rowsExtracted } }
`)

/** One key per delivered change: which row, which change, which image. */
const changeKey = (r: LakeRow) => `${r.VBELN}/${r.POSNR}/${r.ODQ_CHANGEMODE}/${r.ODQ_ENTITYCNTR}`
const expectedKeys = (changes: ChangeRef[]) =>
  changes.flatMap((c) => {
    const k = `${c.key.VBELN}/${c.key.POSNR}`
    return c.mode === 'C' ? [`${k}/C/1`] : c.mode === 'U' ? [`${k}/U/-1`, `${k}/U/1`] : [`${k}/D/-1`]
  })

describe('recovery after a failed delta', () => {
  let h: Harness
  afterEach(() => h?.stop())

  it.each([
    ['the gateway keeps the read open', false],
    ['the fault ends the read in SAP (the retried __next is refused)', true],
  ])('fails on a fault at page 2 (%s), keeps the token, and the next run re-reads exactly the same changes', async (_, faultEndsRead) => {
    h = await Harness.start({
      sim: { rows: { [SALES_ITEMS]: 200 }, openRequestIdleMs: 300, variants: { faultEndsRead } },
      // few quick client retries, so the injected fault outlasts them
      orchestrator: {
        sources: sapSourceFactory({ retries: 1, backoffMs: 5, outbound: TEST_OUTBOUND }),
        retry: { attempts: 3, baseDelayMs: 60_000 },
      },
    })
    const { pipelineId } = await h.createPipeline({ pageSize: 40 })
    const init = await h.run(pipelineId)
    expect(init.status).toBe('SUCCEEDED')

    const changes = [...h.sim.admin.insert(SALES_ITEMS, 50), ...h.sim.admin.update(SALES_ITEMS, 20), ...h.sim.admin.delete(SALES_ITEMS, 10)]
    h.sim.admin.injectFault({ kind: 'http-500', page: 2, read: 'delta', times: 10 })
    const failed = await h.run(pipelineId)
    expect(failed).toMatchObject({
      status: 'FAILED',
      stage: 'EXTRACTING',
      extractionMode: 'DELTA',
      deltaTokenIn: init.deltaTokenOut,
      manifestUri: null,
    })
    expect(failed.error).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true })
    expect(Number(failed.rowsExtracted)).toBeGreaterThan(0) // page 1 had arrived: the delta was really fetched
    expect((await h.gql(PipelineToken, { id: pipelineId })).pipeline?.deltaState).toEqual({
      token: init.deltaTokenOut,
      recoveryPending: true,
    })

    // More changes happen before the recovery; they must come exactly once too.
    h.sim.admin.clearFaults()
    const later = h.sim.admin.update(SALES_ITEMS, 5)
    await until(() => h.sim.admin.openRequests() === 0) // SAP lets go of the abandoned read (idle timeout)

    // The failed run queues an automatic retry (backoff 60 s) just after it ends; asking for a run starts it now.
    await expect.poll(() => h.app.services.db.run.count({ where: { pipelineId, trigger: 'RETRY' } }), { timeout: 5_000 }).toBe(1)
    const { runPipeline } = await h.gql(RunPipeline, { id: pipelineId })
    expect(runPipeline).toMatchObject({ status: 'QUEUED', trigger: 'RETRY', extractionMode: 'RECOVERY' })
    const recovered = await h.waitForRun(runPipeline.id)
    expect(recovered).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'RECOVERY', deltaTokenIn: init.deltaTokenOut })
    expect((await h.gql(PipelineToken, { id: pipelineId })).pipeline?.deltaState).toEqual({
      token: recovered.deltaTokenOut,
      recoveryPending: false,
    })

    const { rows } = await readRun(recovered.manifestUri!)
    expect(rows.map(changeKey)).toEqual(expectedKeys([...changes, ...later]))

    // Across every committed manifest, each change appears exactly once.
    h.sim.admin.delete(SALES_ITEMS, 4)
    const next = await h.run(pipelineId)
    const delivered = [...(await readRun(recovered.manifestUri!)).rows, ...(await readRun(next.manifestUri!)).rows].map(changeKey)
    const made = expectedKeys(h.sim.admin.changeLog(SALES_ITEMS))
    expect([...delivered].sort()).toEqual([...made].sort())
    expect(new Set(delivered).size).toBe(delivered.length)
  })

  it.each([410, 400] as const)(
    'fails at once when SAP says the delta position is gone (HTTP %i), names both recoveries, refuses a plain re-run, and a DELTA_INIT starts afresh',
    async (expiredTokenStatus) => {
      h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 50 }, variants: { expiredTokenStatus } } })
      const { pipelineId } = await h.createPipeline({ pageSize: 40 })
      const init = await h.run(pipelineId)
      h.sim.admin.insert(SALES_ITEMS, 3)
      h.sim.admin.expireTokens(SALES_ITEMS)
      const run = await h.run(pipelineId)
      expect(run).toMatchObject({
        status: 'FAILED',
        error: { code: 'DELTA_POSITION_LOST', retryable: false },
        deltaTokenIn: init.deltaTokenOut,
      })
      expect(run.error?.message).toContain('resetDelta')
      expect(run.error?.message).toContain('runPipeline(mode: DELTA_INIT)')
      // never silently re-baselined: the stored position is still the old one, nothing pending, no retry queued
      expect((await h.gql(PipelineLost, { id: pipelineId })).pipeline?.deltaState).toEqual({
        token: init.deltaTokenOut,
        recoveryPending: false,
        positionLost: true,
      })
      // a plain re-run would be a RECOVERY asking for the same lost token: refused, naming the way out
      const refused = await h.gqlError(RunPipeline, { id: pipelineId })
      expect(refused.extensions?.code).toBe('CONFLICT')
      expect(refused.message).toContain('resetDelta')
      expect(refused.message).toContain('runPipeline(mode: DELTA_INIT)')
      expect((await h.gqlError(RunPipelineAs, { id: pipelineId, mode: 'RECOVERY' })).extensions?.code).toBe('CONFLICT')

      // the user's explicit choice: a fresh init with every row of the table (SAP still lists the expired
      // subscription, so it is replaced with takeover, as the message says), then plain deltas again
      const fresh = await h.run(pipelineId, 'DELTA_INIT', true)
      expect(fresh).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '53' })
      expect(new Set((await readRun(fresh.manifestUri!)).rows.map((r) => `${r.VBELN}/${r.POSNR}`)).size).toBe(53)
      const changes = h.sim.admin.insert(SALES_ITEMS, 2)
      const next = await h.run(pipelineId)
      expect(next).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', deltaTokenIn: fresh.deltaTokenOut })
      expect((await h.gql(PipelineLost, { id: pipelineId })).pipeline?.deltaState?.positionLost).toBe(false)
      expect((await readRun(next.manifestUri!)).rows.map(changeKey)).toEqual(expectedKeys(changes))
    },
  )
})

describe('cancelRun', () => {
  let h: Harness
  afterEach(() => h?.stop())

  it('stops a running delta, leaves the delta state alone, and the next run recovers the changes', async () => {
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 100 }, openRequestIdleMs: 300 } })
    const { pipelineId } = await h.createPipeline({ pageSize: 20 })
    const init = await h.run(pipelineId)
    const changes = h.sim.admin.insert(SALES_ITEMS, 100)
    h.sim.admin.injectFault({ kind: 'slow', page: 2, read: 'delta', delayMs: 20_000 })

    const { runPipeline } = await h.gql(RunPipeline, { id: pipelineId })
    for await (const msg of h.subscribe(Progress, { runId: runPipeline.id })) if (Number(msg.data?.runProgress.rowsExtracted) > 0) break // page 1 is in, page 2 hangs
    const asked = performance.now()
    const { cancelRun } = await h.gql(CancelRun, { id: runPipeline.id })
    // The page it waits on takes 20 s; the promise is "within a second", and in-process it is an abort.
    expect(performance.now() - asked).toBeLessThan(1_000)
    expect(cancelRun).toMatchObject({ status: 'CANCELLED', stage: 'EXTRACTING', error: { code: 'CANCELLED', retryable: false } })
    expect((await h.gql(PipelineToken, { id: pipelineId })).pipeline?.deltaState).toEqual({
      token: init.deltaTokenOut,
      recoveryPending: true,
    })

    await until(() => h.sim.admin.openRequests() === 0)
    const next = await h.run(pipelineId)
    expect(next).toMatchObject({
      status: 'SUCCEEDED',
      extractionMode: 'RECOVERY',
      deltaTokenIn: init.deltaTokenOut,
      changeCounts: { created: '100' },
    })
    expect((await readRun(next.manifestUri!)).rows.map(changeKey)).toEqual(expectedKeys(changes))
  })

  it('cancels a queued run before it starts and refuses to cancel an ended one', async () => {
    h = await Harness.start({ orchestrator: { concurrency: 1 } })
    const a = await h.createPipeline({ name: 'a', mode: 'FULL' })
    const b = await h.createPipeline({ name: 'b', mode: 'FULL' })
    h.sim.admin.injectFault({ kind: 'slow', page: 1, delayMs: 20_000 })
    const first = (await h.gql(RunPipeline, { id: a.pipelineId })).runPipeline
    const queued = (await h.gql(RunPipeline, { id: b.pipelineId })).runPipeline // waits: concurrency 1
    const { cancelRun } = await h.gql(CancelRun, { id: queued.id })
    expect(cancelRun).toMatchObject({ status: 'CANCELLED', stage: 'QUEUED', error: { code: 'CANCELLED' } })
    await h.gql(CancelRun, { id: first.id })
    const err = await h.gqlError(CancelRun, { id: queued.id })
    expect(err.extensions?.code).toBe('CONFLICT')
  })
})

/** Waits for a condition of the simulator, failing loudly after a timeout. */
async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 25))
  }
}
