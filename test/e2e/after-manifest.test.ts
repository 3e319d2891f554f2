/**
 * Once manifest.json is in the lake, the run is committed: whatever fails afterwards — the _SUCCESS
 * marker, the database commit, a cancel, the worker's lease — it is committed from that manifest,
 * never taken back. And a worker that was declared lost cannot publish a manifest late.
 *
 * A reader copies every manifest (and its files) the instant S3 accepts it, before the service
 * hears back. After each fault the pipeline runs on; across every manifest the reader ever saw,
 * each row and each change must appear exactly once.
 */
import { mkdtempSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { Orchestrator } from '../../src/orchestrator/orchestrator.js'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import { graphql } from '../gql/index.js'
import { refuseCommits } from '../helpers/db-faults.js'
import { FaultProxy, type Matcher } from '../helpers/fault-proxy.js'
import { Harness, type HarnessOptions } from '../helpers/harness.js'
import { ManifestReader } from '../helpers/manifest-reader.js'
import { S3RVER_KEY_ID, S3rverEmulator } from '../helpers/s3rver.js'

const RunPipeline = graphql(`mutation AfterManifestRun($id: ID!) { runPipeline(id: $id) { id } }`)
const CancelRun = graphql(`mutation AfterManifestCancel($id: ID!) { cancelRun(id: $id) { id status stage } }`)
const UpdateDestination = graphql(
  `mutation AfterManifestUpdateDestination($id: ID!, $input: UpdateDestinationInput!) { updateDestination(id: $id, input: $input) { id } }`,
)

const STALE_AFTER_MS = 1_500
const isPut =
  (suffix: string): Matcher =>
  (r) =>
    r.method === 'PUT' && r.path.endsWith(suffix)

let s3: S3rverEmulator
let bucket = 0
beforeAll(async () => {
  s3 = await S3rverEmulator.start()
})
afterAll(() => s3?.dispose())

let h: Harness | undefined
let proxy: FaultProxy | undefined
let reader: ManifestReader | undefined
let other: { dir: string } | undefined
afterEach(async () => {
  await h?.stop()
  await proxy?.close()
  await reader?.dispose()
  if (other) await rm(other.dir, { recursive: true, force: true })
  h = proxy = reader = other = undefined
})

/** A DELTA pipeline writing to S3 through the proxy (with _SUCCESS markers), initialised. */
async function setUp(opts: HarnessOptions['orchestrator'] = {}) {
  const name = `lake${++bucket}`
  await s3.createBucket(name)
  proxy = await FaultProxy.start(() => s3.port)
  reader = await ManifestReader.attach(proxy, s3)
  h = await Harness.start({
    sim: { rows: { [SALES_ITEMS]: 60 } },
    orchestrator: { staleAfterMs: STALE_AFTER_MS, timing: { persistEveryMs: 100 }, retry: { baseDelayMs: 50 }, ...opts },
  })
  const { pipelineId } = await h.createPipeline({
    name: 'am',
    pageSize: 20,
    destination: {
      kind: 'S3',
      s3: { bucket: name, prefix: 'raw', endpoint: proxy.url, forcePathStyle: true, accessKeyId: S3RVER_KEY_ID, secretAccessKey: 'S3RVER' },
    },
    output: { successMarker: true },
  })
  const init = await h.run(pipelineId)
  expect(init).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '60' })
  const snapshot: string[] = []
  for await (const r of h.sim.admin.rows(SALES_ITEMS)) snapshot.push(`${r.VBELN}/${r.POSNR}/`)
  return { h, proxy, reader, pipelineId, snapshot }
}

/** Starts a run without waiting for it; resolves with its id. */
async function start(pipelineId: string): Promise<string> {
  return (await h!.gql(RunPipeline, { id: pipelineId })).runPipeline.id
}

/** Inserts rows, runs the next delta normally, and checks it continues where the last commit ended. */
async function nextDelta(pipelineId: string) {
  const changes = h!.sim.admin.insert(SALES_ITEMS, 10)
  const run = await h!.run(pipelineId)
  expect(run).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', rowsWritten: '10' })
  return changes.map((c) => `${c.key.VBELN}/${c.key.POSNR}/C`)
}

/** Across every manifest the reader ever saw, each row and each change exactly once. */
async function expectExactlyOnce(expected: string[]) {
  const seen = (await reader!.rows()).map((r) => `${r.VBELN}/${r.POSNR}/${r.ODQ_CHANGEMODE ?? ''}`)
  expect(seen.sort()).toEqual([...expected].sort())
}

const created = (changes: Array<{ key: Record<string, unknown> }>) => changes.map((c) => `${c.key.VBELN}/${c.key.POSNR}/C`)

it('a _SUCCESS marker that cannot be written does not take the commit back', async () => {
  const { h, proxy, pipelineId, snapshot } = await setUp()
  const changes = h.sim.admin.insert(SALES_ITEMS, 20)
  const refused = proxy.inject('503', isPut('/_SUCCESS'), 'every')
  const run = await h.run(pipelineId)
  expect(run).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', rowsWritten: '20', error: null })
  expect(refused.length).toBeGreaterThan(0)
  const events = await h.app.services.db.runEvent.findMany({ where: { runId: run.id, level: 'warn' } })
  expect(events.map((e) => e.message).join('\n')).toMatch(/_SUCCESS marker could not be written.*committed by manifest\.json/)
  proxy.clearFaults()
  await expectExactlyOnce([...snapshot, ...created(changes), ...(await nextDelta(pipelineId))])
})

it('a database that refuses the commit leaves the run to be committed from its manifest, not removed', async () => {
  const { h, reader, pipelineId, snapshot } = await setUp()
  const { db, orchestrator } = h.app.services
  const changes = h.sim.admin.insert(SALES_ITEMS, 20)
  const fault = await refuseCommits(db, h.db.kind)
  const runId = await start(pipelineId)
  const ended = h.waitForRun(runId, 60_000)
  await expect.poll(() => reader.copies.length, { timeout: 20_000 }).toBe(2) // its manifest is out
  // The worker tries the commit a few times, then leaves the run to the lost-run sweep.
  await expect.poll(() => orchestrator.isRunningHere(runId), { timeout: 20_000 }).toBe(false)
  expect(await db.run.findUniqueOrThrow({ where: { id: runId } })).toMatchObject({ status: 'RUNNING', stage: 'COMMITTING' })
  await fault.remove()
  expect(await ended).toMatchObject({ status: 'SUCCEEDED', stage: 'DONE', rowsWritten: '20', changeCounts: { created: '20' } })
  expect(await db.run.count({ where: { pipelineId, trigger: 'RETRY' } })).toBe(0)
  await expectExactlyOnce([...snapshot, ...created(changes), ...(await nextDelta(pipelineId))])
})

it('a cancel that arrives after the manifest does not take the commit back', async () => {
  const { h, proxy, pipelineId, snapshot } = await setUp()
  const { db } = h.app.services
  const changes = h.sim.admin.insert(SALES_ITEMS, 20)
  const marker = proxy.holdAnswer(isPut('/_SUCCESS')) // stored, but the worker waits for the answer
  const runId = await start(pipelineId)
  await marker.arrived // the manifest is stored; the marker waits
  const cancelling = h.gql(CancelRun, { id: runId })
  await expect.poll(() => db.runEvent.count({ where: { runId, message: 'cancel requested' } }), { timeout: 10_000 }).toBe(1)
  marker.release()
  expect((await cancelling).cancelRun).toMatchObject({ status: 'SUCCEEDED', stage: 'DONE' })
  expect(await h.waitForRun(runId)).toMatchObject({ status: 'SUCCEEDED', rowsWritten: '20', error: null })
  await expectExactlyOnce([...snapshot, ...created(changes), ...(await nextDelta(pipelineId))])
})

it('a store that cannot be read when the run is swept: the run waits, it is neither failed nor re-read', async () => {
  const { h, proxy, reader, pipelineId, snapshot } = await setUp({ sweepEveryMs: 0 })
  const { db, orchestrator } = h.app.services
  const changes = h.sim.admin.insert(SALES_ITEMS, 20)
  const fault = await refuseCommits(db, h.db.kind)
  const runId = await start(pipelineId)
  await expect.poll(() => reader.copies.length, { timeout: 20_000 }).toBe(2)
  await expect.poll(() => orchestrator.isRunningHere(runId), { timeout: 20_000 }).toBe(false) // left to the sweep
  await fault.remove()
  // The store stops answering reads: two whole sweeps cannot tell whether the manifest is there.
  const reads = proxy.inject('503', (r) => r.method === 'GET' && r.path.endsWith('/manifest.json'), 'every')
  await orchestrator.sweepLostRuns()
  await orchestrator.sweepLostRuns()
  expect(reads.length).toBeGreaterThan(1)
  expect(await db.run.findUniqueOrThrow({ where: { id: runId } })).toMatchObject({ status: 'RUNNING', stage: 'COMMITTING' })
  proxy.clearFaults()
  const ended = h.waitForRun(runId)
  await orchestrator.sweepLostRuns()
  expect(await ended).toMatchObject({ status: 'SUCCEEDED', rowsWritten: '20' })
  expect(await db.run.count({ where: { pipelineId, trigger: 'RETRY' } })).toBe(0)
  await expectExactlyOnce([...snapshot, ...created(changes), ...(await nextDelta(pipelineId))])
})

it("a run lost after its manifest is committed from it with the destination's current sign-in, though its prefix moved since", async () => {
  const { h, pipelineId, snapshot } = await setUp()
  const { db, orchestrator } = h.app.services
  const changes = h.sim.admin.insert(SALES_ITEMS, 20)
  const fault = await refuseCommits(db, h.db.kind)
  const runId = await start(pipelineId)
  const ended = h.waitForRun(runId, 60_000)
  await expect.poll(() => orchestrator.isRunningHere(runId), { timeout: 20_000 }).toBe(false)
  const { destinationId } = await db.pipeline.findUniqueOrThrow({ where: { id: pipelineId } })
  const dest = await db.destination.findUniqueOrThrow({ where: { id: destinationId } })
  // The destination now writes under another prefix (same bucket, same key): the run's files are where they were.
  const { bucket, endpoint, forcePathStyle, accessKeyId } = JSON.parse(dest.config)
  await h.gql(UpdateDestination, {
    id: destinationId,
    input: { s3: { bucket, endpoint, forcePathStyle, accessKeyId, prefix: 'moved', secretAccessKey: 'S3RVER' } },
  })
  await fault.remove()
  expect(await ended).toMatchObject({ status: 'SUCCEEDED', rowsWritten: '20' })
  expect(await db.run.count({ where: { pipelineId, trigger: 'RETRY' } })).toBe(0)
  await expectExactlyOnce([...snapshot, ...created(changes), ...(await nextDelta(pipelineId))])
})

/**
 * A stalled worker: its heartbeat timer does not get to run (a long GC pause, a frozen VM), so it
 * cannot learn from the database that another process has taken its run over. The other process
 * here is a second orchestrator in the test's own process, which takes the worker for a previous
 * incarnation of itself (same pid, other id) and judges the run lost at once.
 */
const STALLED = { sweepEveryMs: 0, timing: { persistEveryMs: 60_000 } }

it('a run whose worker gave its commit up after the manifest is committed from it by another process, and by nothing else', async () => {
  const { h, pipelineId, snapshot } = await setUp({ sweepEveryMs: 0 })
  const { db, orchestrator } = h.app.services
  const changes = h.sim.admin.insert(SALES_ITEMS, 20)
  const fault = await refuseCommits(db, h.db.kind)
  const runId = await start(pipelineId)
  await expect.poll(() => orchestrator.isRunningHere(runId), { timeout: 20_000 }).toBe(false)
  await fault.remove()
  expect(await sweptByAnotherProcess(h, runId)).toBe('SUCCEEDED')
  expect(await h.waitForRun(runId)).toMatchObject({ status: 'SUCCEEDED', rowsWritten: '20', changeCounts: { created: '20' } })
  const events = await db.runEvent.findMany({ where: { runId } })
  expect(events.map((e) => e.message)).toContain('its worker stopped after writing manifest.json; committed from the manifest')
  await expectExactlyOnce([...snapshot, ...created(changes), ...(await nextDelta(pipelineId))])
})

it('a stalled worker declared lost before its manifest landed cannot publish it late', async () => {
  const { h, proxy, pipelineId, snapshot } = await setUp(STALLED)
  const { db, orchestrator } = h.app.services
  const changes = h.sim.admin.insert(SALES_ITEMS, 20)
  const manifest = proxy.hold(isPut('/manifest.json')) // headers at the store, the body held back
  const runId = await start(pipelineId)
  await manifest.arrived
  expect(await sweptByAnotherProcess(h, runId)).toBe('FAILED')
  expect((await db.run.findUniqueOrThrow({ where: { id: runId } })).errorCode).toBe('WORKER_LOST')
  // The worker gave up its write at the deadline inside its lease, long before it was declared lost.
  await expect.poll(() => orchestrator.isRunningHere(runId), { timeout: 10_000 }).toBe(false)
  manifest.release()
  // The retry the other process queued runs here (this in-process queue learns of it at start).
  await h.restart()
  const retry = await h.app.services.db.run.findFirstOrThrow({ where: { pipelineId, trigger: 'RETRY' } })
  expect(await h.waitForRun(retry.id)).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'RECOVERY', rowsWritten: '20' })
  await expectExactlyOnce([...snapshot, ...created(changes), ...(await nextDelta(pipelineId))])
})

it('a live worker on the same host is not declared lost inside its lease: its manifest write finishes and commits', async () => {
  const { h, proxy, pipelineId, snapshot } = await setUp(STALLED)
  const { db } = h.app.services
  const changes = h.sim.admin.insert(SALES_ITEMS, 20)
  const manifest = proxy.hold(isPut('/manifest.json'))
  const runId = await start(pipelineId)
  await manifest.arrived
  // Another process on this host with the same pid (a container on the host network): it must not
  // take the run for its own dead incarnation while the run's lease is fresh.
  await anotherProcess(h).sweepLostRuns()
  expect((await db.run.findUniqueOrThrow({ where: { id: runId } })).status).toBe('RUNNING')
  manifest.release()
  expect(await h.waitForRun(runId)).toMatchObject({ status: 'SUCCEEDED', rowsWritten: '20' })
  await expectExactlyOnce([...snapshot, ...created(changes), ...(await nextDelta(pipelineId))])
})

/** A second service process on the same database: its own worker id, its own lost-run sweep. */
function anotherProcess(harness: Harness): Orchestrator {
  const dir = mkdtempSync(join(tmpdir(), 'de-other-'))
  other = { dir }
  const { db, bus, log, connections, destinations } = harness.app.services
  return new Orchestrator(
    { db, bus, log, connections, destinations },
    { dataDir: dir, staleAfterMs: STALE_AFTER_MS, sweepEveryMs: 0, retry: { baseDelayMs: 50 } },
  )
}

/** Another process sweeps until it has settled the run; returns the status it left it in. */
async function sweptByAnotherProcess(harness: Harness, runId: string): Promise<string> {
  const { db } = harness.app.services
  const otherProcess = anotherProcess(harness)
  const status = async () => (await db.run.findUniqueOrThrow({ where: { id: runId } })).status
  await expect
    .poll(async () => (await otherProcess.sweepLostRuns(), await status()), { timeout: 15_000, interval: 200 })
    .not.toBe('RUNNING')
  return status()
}
