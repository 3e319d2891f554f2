/**
 * A run's world is fixed when it starts: what it reads (the selection), where it writes (the
 * destination), and the SAP subscription it continues. Each race the issue names is reproduced here
 * at the moment it would do harm: a selection change while the first DELTA_INIT reads, a destination
 * changed while a run's leftovers or manifest are still out, a run started while resetDelta or
 * deletePipeline is ending the SAP subscription, and a subscription that another deployment holds.
 */
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import { graphql } from '../gql/index.js'
import { FaultProxy } from '../helpers/fault-proxy.js'
import { Harness } from '../helpers/harness.js'
import { readRun } from '../helpers/lake.js'

const RunPipeline = graphql(`mutation PinnedRun($id: ID!) { runPipeline(id: $id) { id } }`)
const CancelRun = graphql(`mutation PinnedCancel($id: ID!) { cancelRun(id: $id) { id status } }`)
const UpdatePipeline = graphql(`
  mutation PinnedUpdatePipeline($id: ID!, $input: UpdatePipelineInput!) { updatePipeline(id: $id, input: $input) { id source { filter } } }
`)
const UpdateDestination = graphql(`
  mutation PinnedUpdateDestination($id: ID!, $input: UpdateDestinationInput!) { updateDestination(id: $id, input: $input) { id uri } }
`)
const UpdateConnection = graphql(
  `mutation PinnedUpdateConnection($id: ID!, $input: UpdateConnectionInput!) { updateConnection(id: $id, input: $input) { id } }`,
)
const CreateDestination = graphql(
  `mutation PinnedCreateDestination($input: CreateDestinationInput!) { createDestination(input: $input) { id } }`,
)
const ResetDelta = graphql(
  `mutation PinnedResetDelta($id: ID!, $force: Boolean) { resetDelta(pipelineId: $id, force: $force) { id deltaState { token } } }`,
)
const DeletePipeline = graphql(`mutation PinnedDeletePipeline($id: ID!) { deletePipeline(id: $id) }`)
const Progress = graphql(`subscription PinnedProgress($runId: ID!) { runProgress(runId: $runId) { status stage rowsExtracted } }`)

let h: Harness | undefined
let h2: Harness | undefined
let proxy: FaultProxy | undefined
afterEach(async () => {
  await h2?.stop()
  await h?.stop()
  await proxy?.close()
  h = h2 = proxy = undefined
})

const keysOf = (rows: Array<Record<string, unknown>>) => rows.map((r) => `${r.VBELN}/${r.POSNR}/${r.ODQ_CHANGEMODE ?? ''}`)

/** Waits on the run's own progress stream until it has rows in hand and is extracting. */
async function untilExtracting(harness: Harness, runId: string): Promise<void> {
  for await (const msg of harness.subscribe(Progress, { runId })) {
    const p = msg.data!.runProgress
    if (p.status !== 'RUNNING' && p.status !== 'QUEUED') throw new Error(`run ended early: ${p.status}`)
    if (p.stage === 'EXTRACTING' && Number(p.rowsExtracted) > 0) return
  }
}

describe('the selection of a DELTA pipeline', () => {
  it('cannot change while its first DELTA_INIT is reading, nor afterwards while SAP holds that subscription', async () => {
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 60 } } })
    const filter = "VBELN le '0000000006'"
    const { pipelineId } = await h.createPipeline({ name: 'sel', pageSize: 10, filter })
    h.sim.admin.injectFault({ kind: 'slow', page: 2, read: 'init', delayMs: 60_000 })
    const runId = (await h.gql(RunPipeline, { id: pipelineId })).runPipeline.id
    await untilExtracting(h, runId)

    const removeFilter = { source: { kind: 'ODP_ODATA' as const, entitySet: SALES_ITEMS, pageSize: 10 } }
    const during = await h.gqlError(UpdatePipeline, { id: pipelineId, input: removeFilter })
    expect(during.extensions).toMatchObject({ code: 'CONFLICT', field: 'source' })
    expect(during.message).toMatch(/active run/)
    expect((await h.gql(CancelRun, { id: runId })).cancelRun.status).toBe('CANCELLED')

    // The init was cancelled, but SAP opened the subscription with the filter: still not changeable.
    const after = await h.gqlError(UpdatePipeline, { id: pipelineId, input: removeFilter })
    expect(after.extensions?.code).toBe('CONFLICT')
    expect(after.message).toMatch(/resetDelta/)
    h.sim.admin.clearFaults()
    const init = await h.run(pipelineId)
    expect(init).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '30' })
    expect((await readRun(init.manifestUri!)).manifest.source.filter).toBe(filter)

    // resetDelta ends it; then the selection may change, and the next init reads what it says.
    await h.gql(ResetDelta, { id: pipelineId })
    expect((await h.gql(UpdatePipeline, { id: pipelineId, input: removeFilter })).updatePipeline.source.filter).toBeNull()
    const reinit = await h.run(pipelineId)
    expect(reinit).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '60' })
    expect((await readRun(reinit.manifestUri!)).manifest.source.filter).toBeNull()
  })
})

describe('the SAP identity and the concurrent changes of a DELTA pipeline', () => {
  it("its connection's SAP user cannot change under the first DELTA_INIT, nor while SAP holds the subscription", async () => {
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 30 } } })
    const { pipelineId, connectionId } = await h.createPipeline({ name: 'who', pageSize: 10 })
    h.sim.admin.injectFault({ kind: 'slow', page: 2, read: 'init', delayMs: 60_000 })
    const runId = (await h.gql(RunPipeline, { id: pipelineId })).runPipeline.id
    await untilExtracting(h, runId)
    const otherUser = { odataConfig: { serviceUrl: h.sim.serviceUrl, sapClient: '100', user: 'OTHER', password: 'Welcome1!' } }
    const during = await h.gqlError(UpdateConnection, { id: connectionId, input: otherUser })
    expect(during.extensions).toMatchObject({ code: 'CONFLICT', pipelineId })
    expect(during.message).toMatch(/active run/)
    expect((await h.gql(CancelRun, { id: runId })).cancelRun.status).toBe('CANCELLED')
    expect((await h.gqlError(UpdateConnection, { id: connectionId, input: otherUser })).message).toMatch(/resetDelta/)
    h.sim.admin.clearFaults()
    await h.gql(ResetDelta, { id: pipelineId })
    await h.gql(UpdateConnection, { id: connectionId, input: { name: 'renamed-only' } }) // not the identity: always fine
    await h.gql(UpdateConnection, { id: connectionId, input: otherUser })
  })

  it('a change based on an outdated read of the pipeline is refused instead of undoing another one', async () => {
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 30 } } })
    proxy = await FaultProxy.start(() => Number(new URL(h!.sim.serviceUrl).port))
    const { pipelineId } = await h.createPipeline({
      name: 'stale',
      mode: 'FULL',
      pageSize: 10,
      serviceUrl: proxy.url + new URL(h.sim.serviceUrl).pathname,
    })
    // Change A (a new filter) waits for SAP's metadata to be checked; change B (a rename) lands meanwhile.
    const metadata = proxy.holdAnswer((r) => r.path.endsWith('/$metadata'))
    const a = h.request(UpdatePipeline, {
      id: pipelineId,
      input: { source: { kind: 'ODP_ODATA', entitySet: SALES_ITEMS, filter: "VBELN le '0000000002'" } },
    })
    await metadata.arrived
    await h.gql(UpdatePipeline, { id: pipelineId, input: { name: 'renamed' } })
    metadata.release()
    const refused = (await a).errors?.[0]
    expect(refused?.extensions?.code).toBe('CONFLICT')
    expect(refused?.message).toMatch(/changed by another request meanwhile \(name\)/)
    const now = await h.app.services.db.pipeline.findUniqueOrThrow({ where: { id: pipelineId } })
    expect(now).toMatchObject({ name: 'renamed', filter: null })
  })
})

describe('a run finishes where it started writing', () => {
  /** A delta written to the end, then the database put back to where a worker that died mid-way left it. */
  async function lostDelta(harness: Harness, pipelineId: string, keepManifest: boolean) {
    const { db } = harness.app.services
    const before = await db.deltaState.findUniqueOrThrow({ where: { pipelineId } })
    const changes = harness.sim.admin.insert(SALES_ITEMS, 15)
    const done = await harness.run(pipelineId)
    const dir = dirname(fileURLToPath(done.manifestUri!))
    if (!keepManifest) await rm(join(dir, 'manifest.json'))
    await db.$transaction([
      db.run.update({
        where: { id: done.id },
        data: {
          status: 'RUNNING',
          stage: keepManifest ? 'COMMITTING' : 'UPLOADING',
          activeKey: pipelineId,
          finishedAt: null,
          manifestUri: null,
          uncommittedPrefix: relative(harness.lakeDir, dir),
          heartbeatAt: new Date(0),
        },
      }),
      db.deltaState.update({
        where: { pipelineId },
        data: { deltaLink: before.deltaLink, token: before.token, lastCommittedRunId: before.lastCommittedRunId, pendingRunId: done.id },
      }),
    ])
    return { run: done, dir, changes: changes.map((c) => `${c.key.VBELN}/${c.key.POSNR}/C`) }
  }

  it('leftovers of a lost run are removed from the destination it wrote to, after the pipeline moved to another', async () => {
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 30 } } })
    const { db, orchestrator } = h.app.services
    const { pipelineId } = await h.createPipeline({ name: 'moved', pageSize: 10 })
    await h.run(pipelineId)
    const lost = await lostDelta(h, pipelineId, false)
    expect(existsSync(join(lost.dir, 'part-00000.parquet'))).toBe(true)

    const { createDestination } = await h.gql(CreateDestination, {
      input: { name: 'elsewhere', kind: 'LOCAL', local: { path: join(h.db.dataDir, 'lake2') } },
    })
    await h.gql(UpdatePipeline, { id: pipelineId, input: { destinationId: createDestination.id } })
    await orchestrator.sweepLostRuns()
    const retry = await db.run.findFirstOrThrow({ where: { pipelineId, trigger: 'RETRY' } })
    const recovered = await h.waitForRun(retry.id)
    expect(recovered).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'RECOVERY' })
    expect(fileURLToPath(recovered.manifestUri!).startsWith(join(h.db.dataDir, 'lake2'))).toBe(true)
    expect(keysOf((await readRun(recovered.manifestUri!)).rows)).toEqual(lost.changes)
    // The lost run's files were removed where they are, not looked for where the pipeline writes now.
    expect(existsSync(lost.dir)).toBe(false)
    expect((await db.run.findUniqueOrThrow({ where: { id: lost.run.id } })).uncommittedPrefix).toBeNull()
  })

  it('a run lost after its manifest is committed from the manifest where it wrote it, though the destination was edited since', async () => {
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 30 } } })
    const { db, orchestrator } = h.app.services
    const { pipelineId, destinationId } = await h.createPipeline({ name: 'edited', pageSize: 10 })
    await h.run(pipelineId)
    const lost = await lostDelta(h, pipelineId, true)
    await h.gql(UpdateDestination, { id: destinationId, input: { local: { path: join(h.db.dataDir, 'lake-new') } } })

    const ended = h.waitForRun(lost.run.id)
    await orchestrator.sweepLostRuns()
    expect(await ended).toMatchObject({ status: 'SUCCEEDED', manifestUri: lost.run.manifestUri, rowsWritten: '15' })
    expect(await db.run.count({ where: { pipelineId, trigger: 'RETRY' } })).toBe(0)
    const next = h.sim.admin.insert(SALES_ITEMS, 3)
    const run = await h.run(pipelineId)
    expect(run).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', deltaTokenIn: lost.run.deltaTokenOut })
    expect(keysOf((await readRun(run.manifestUri!)).rows)).toEqual(next.map((c) => `${c.key.VBELN}/${c.key.POSNR}/C`))
    expect(fileURLToPath(run.manifestUri!).startsWith(join(h.db.dataDir, 'lake-new'))).toBe(true)
  })
})

describe('resetDelta and deletePipeline hold the pipeline while SAP ends the subscription', () => {
  async function behindProxy() {
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 30 } } })
    proxy = await FaultProxy.start(() => Number(new URL(h!.sim.serviceUrl).port))
    const serviceUrl = proxy.url + new URL(h.sim.serviceUrl).pathname
    const { pipelineId } = await h.createPipeline({ name: 'held', pageSize: 10, serviceUrl })
    expect((await h.run(pipelineId)).status).toBe('SUCCEEDED')
    const terminate = proxy.holdAnswer((r) => r.path.includes('/TerminateDeltasFor'))
    return { h, pipelineId, terminate }
  }

  it('resetDelta: no run starts and no change lands until the position is gone', async () => {
    const { h, pipelineId, terminate } = await behindProxy()
    const resetting = h.gql(ResetDelta, { id: pipelineId })
    await terminate.arrived // SAP has ended the subscription; the service has not heard yet
    const run = await h.gqlError(RunPipeline, { id: pipelineId })
    expect(run.extensions?.code).toBe('CONFLICT')
    expect(run.message).toMatch(/being reset or deleted/)
    expect((await h.gqlError(UpdatePipeline, { id: pipelineId, input: { name: 'renamed' } })).extensions?.code).toBe('CONFLICT')
    expect((await h.gqlError(ResetDelta, { id: pipelineId })).extensions?.code).toBe('CONFLICT')
    terminate.release()
    expect((await resetting).resetDelta.deltaState).toBeNull()
    expect(await h.app.services.db.run.count({ where: { pipelineId } })).toBe(1)
    // Held no longer: the next run starts a new subscription.
    expect(await h.run(pipelineId)).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '30' })
  })

  it('deletePipeline: no run starts while it ends the subscription, then the pipeline is gone', async () => {
    const { h, pipelineId, terminate } = await behindProxy()
    const deleting = h.gql(DeletePipeline, { id: pipelineId })
    await terminate.arrived
    expect((await h.gqlError(RunPipeline, { id: pipelineId })).extensions?.code).toBe('CONFLICT')
    terminate.release()
    expect((await deleting).deletePipeline).toBe(pipelineId)
    const { db } = h.app.services
    expect(await db.pipeline.count({ where: { id: pipelineId } })).toBe(0)
    expect(await db.run.count({ where: { pipelineId } })).toBe(0)
  })
})

describe("a delta subscription that is not the pipeline's", () => {
  it("another deployment with the same SAP user is refused instead of taking the first one's deltas, unless it takes over", async () => {
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 40 } } })
    h2 = await Harness.start({ sharedSim: h.sim }) // say, the test system's service against the same SAP
    const { pipelineId: prod } = await h.createPipeline({ name: 'prod', pageSize: 20 })
    const { pipelineId: test } = await h2.createPipeline({ name: 'test', pageSize: 20 })
    expect(await h.run(prod)).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT' })

    const refused = await h2.run(test)
    expect(refused).toMatchObject({
      status: 'FAILED',
      extractionMode: 'DELTA_INIT',
      manifestUri: null,
      error: { code: 'SUBSCRIPTION_IN_USE', retryable: false },
    })
    expect(refused.error!.message).toContain(`SAP user DEMO already holds a delta subscription on ${SALES_ITEMS}`)
    expect(refused.error!.message).toMatch(/takeover/)
    expect(await h2.app.services.db.run.count({ where: { pipelineId: test } })).toBe(1) // not retried

    // The first deployment's subscription is untouched: its next delta has exactly the new changes.
    const changes = h.sim.admin.insert(SALES_ITEMS, 4)
    const delta = await h.run(prod)
    expect(delta).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA' })
    expect(keysOf((await readRun(delta.manifestUri!)).rows)).toEqual(changes.map((c) => `${c.key.VBELN}/${c.key.POSNR}/C`))

    // Told to, the second one takes the subscription over (and the first one's position is gone).
    const taken = await h2.run(test, 'DELTA_INIT', true)
    expect(taken).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '44' })
    const events = await h2.app.services.db.runEvent.findMany({ where: { runId: taken.id, level: 'warn' } })
    expect(events.map((e) => e.message).join('\n')).toMatch(/taking over a subscription that was not this pipeline's/)
    expect(h.sim.admin.subscriptions().filter((s) => s.entitySet === SALES_ITEMS)).toHaveLength(1)
  })

  it("deleting or resetting a pipeline that never subscribed does not end another deployment's subscription", async () => {
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 20 } } })
    h2 = await Harness.start({ sharedSim: h.sim })
    const { pipelineId: prod } = await h.createPipeline({ name: 'prod', pageSize: 20 })
    const { pipelineId: test } = await h2.createPipeline({ name: 'test', pageSize: 20 })
    expect((await h.run(prod)).status).toBe('SUCCEEDED')
    expect((await h2.run(test)).error?.code).toBe('SUBSCRIPTION_IN_USE')
    await h2.gql(ResetDelta, { id: test })
    expect((await h2.gql(DeletePipeline, { id: test })).deletePipeline).toBe(test)
    expect(h.sim.admin.subscriptions().filter((s) => s.entitySet === SALES_ITEMS)).toHaveLength(1)
    const changes = h.sim.admin.insert(SALES_ITEMS, 2)
    const delta = await h.run(prod)
    expect(delta).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', rowsWritten: '2' })
    expect(keysOf((await readRun(delta.manifestUri!)).rows)).toEqual(changes.map((c) => `${c.key.VBELN}/${c.key.POSNR}/C`))
  })

  it('a subscription a forced resetDelta left in SAP is refused at the next DELTA_INIT until taken over', async () => {
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 20 } } })
    proxy = await FaultProxy.start(() => Number(new URL(h!.sim.serviceUrl).port))
    const { pipelineId } = await h.createPipeline({
      name: 'forced',
      pageSize: 20,
      serviceUrl: proxy.url + new URL(h.sim.serviceUrl).pathname,
    })
    expect((await h.run(pipelineId)).status).toBe('SUCCEEDED')
    proxy.inject('503', (r) => r.path.includes('/TerminateDeltasFor'), 'every') // SAP cannot be told
    expect((await h.gql(ResetDelta, { id: pipelineId, force: true })).resetDelta.deltaState).toBeNull()
    proxy.clearFaults()

    const refused = await h.run(pipelineId)
    expect(refused).toMatchObject({ status: 'FAILED', extractionMode: 'DELTA_INIT', error: { code: 'SUBSCRIPTION_IN_USE' } })
    const taken = await h.run(pipelineId, 'DELTA_INIT', true)
    expect(taken).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '20' })
    // The pipeline's own from now on: a re-initialisation needs no takeover.
    expect(await h.run(pipelineId, 'DELTA_INIT')).toMatchObject({ status: 'SUCCEEDED', rowsWritten: '20' })
  })
})
