/**
 * Queue mode with real OS processes (docs/architecture.md#queue-mode): one `serve` (API, scheduler,
 * queueing) and `worker` processes on one PostgreSQL database and one Redis, the SAP simulator in
 * this process. Runs go through the API; what happened is read from the database and from the lake's
 * Parquet files. PostgreSQL only: SQLite is a single-host database.
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { RUN_QUEUE_NAME } from '../../src/orchestrator/bull-queue.js'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import { Deployment } from '../helpers/deployment.js'
import { until } from '../helpers/until.js'
import { TEST_DB } from '../helpers/database.js'
import { SAP_USER } from '../helpers/harness.js'
import { keyOf, readRun } from '../helpers/lake.js'
import { deleteRedisKeys, TEST_REDIS_URL, testRedisPrefix } from '../helpers/redis.js'
import type { LogLine } from '../helpers/service-process.js'

const filePrefix = testRedisPrefix('scale-out')
let tests = 0

/**
 * A deployment with `rows` items in SAP. `openRequestIdleMs`: how long the simulator keeps an idle
 * paged read open. Short (500 ms) where a killed worker's open delta read must lapse soon so its
 * recovery can read the subscription again; long where only FULL reads run, since on two loaded cores
 * a worker running three runs may well take more than 500 ms between two pages, and SAP's own limit
 * is minutes. `latencyMs`: milliseconds the simulator takes per answer (runs overlap).
 */
function deploy(opts: {
  rows: number
  workers: number
  workerEnv?: Record<string, string>
  serveArgs?: string[]
  latencyMs?: number
  openRequestIdleMs?: number
}): Promise<Deployment> {
  return Deployment.start({
    redisPrefix: `${filePrefix}:t${++tests}`,
    sim: { rows: { [SALES_ITEMS]: opts.rows }, openRequestIdleMs: opts.openRequestIdleMs ?? 500, latencyMs: opts.latencyMs },
    workers: opts.workers,
    workerEnv: opts.workerEnv,
    serveArgs: opts.serveArgs,
  })
}

/** Every row of every manifest.json of the pipeline in the lake, read back with DuckDB. */
async function lakeRows(d: Deployment, pipelineId: string) {
  const rows: Array<Record<string, unknown>> = []
  const files = await readdir(d.lakeDir, { recursive: true })
  for (const f of files.filter((name) => name.endsWith('manifest.json'))) {
    const { manifest, rows: read } = await readRun(pathToFileURL(join(d.lakeDir, f)).href)
    if (manifest.pipeline.id === pipelineId) rows.push(...read)
  }
  return rows
}

const rowsOf = (n: bigint | number) => Number(n)
const counted = (keys: string[]) => keys.reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map<string, number>())

/**
 * A DELTA pipeline with its initial load done, 50 new rows in SAP, and a delta run that has read its
 * first page and hangs on the second (`delayMs`) in whichever worker took it.
 */
async function deltaRunInFlight(d: Deployment, delayMs: number) {
  const [pipelineId] = await d.createPipelines(['slow'], 'DELTA')
  const init = await d.endedRun(await d.runPipeline(pipelineId))
  expect(init).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT' })
  const inserted = d.sim.admin.insert(SALES_ITEMS, 50).map((c) => keyOf(c.key))
  d.sim.admin.injectFault({ kind: 'slow', page: 2, read: 'delta', delayMs })
  const runId = await d.runPipeline(pipelineId)
  const run = await until(async () => {
    const r = await d.prisma.run.findUniqueOrThrow({ where: { id: runId } })
    return r.status === 'RUNNING' && r.stage === 'EXTRACTING' && rowsOf(r.rowsExtracted) > 0 && r
  }, 'the delta run to read its first page')
  const holder = d.workerOf(run.workerId)
  const other = d.workers.find((w) => w !== holder)!
  return { pipelineId, runId, holder, other, inserted, initRows: rowsOf(init.rowsWritten) }
}

/** Every key of the pipeline's table in the lake exactly once, across all its manifests. */
async function expectEachKeyOnce(d: Deployment, pipelineId: string, expected: { total: number; including: string[] }) {
  const keys = counted((await lakeRows(d, pipelineId)).map((r) => keyOf(r)))
  expect([...keys.values()].filter((n) => n !== 1)).toEqual([])
  expect(keys.size).toBe(expected.total)
  for (const k of expected.including) expect(keys.has(k), k).toBe(true)
}

const notTaken = (runId: string) => (l: LogLine) => l.msg?.startsWith('run not taken') === true && l.runId === runId

let d: Deployment | undefined
afterEach(async () => {
  await d?.stop()
  d = undefined
})
afterAll(() => deleteRedisKeys(filePrefix))

// Several OS processes on two shared cores: more time than one in-process test needs.
describe.skipIf(TEST_DB !== 'postgres')('queue mode: serve + workers', { timeout: 120_000 }, () => {
  it('20 pipelines run once each through the API, spread over both workers, none in the API process, within the connection limit', async () => {
    // Two workers of 3 runs each could run 6 at once; the connection allows SAP 3.
    d = await deploy({ rows: 50, workers: 2, latencyMs: 30, openRequestIdleMs: 30_000, workerEnv: { WORKER_CONCURRENCY: '3' } })
    const pipelines = await d.createPipelines(
      Array.from({ length: 20 }, (_, i) => `p${String(i).padStart(2, '0')}`),
      'FULL',
      25,
      3,
    )
    const runIds = await Promise.all(pipelines.map((id) => d!.runPipeline(id)))
    const ended = await Promise.all(runIds.map((id) => d!.endedRun(id)))

    expect(ended.map((r) => r.status)).toEqual(pipelines.map(() => 'SUCCEEDED'))
    expect(ended.map((r) => rowsOf(r.rowsWritten))).toEqual(pipelines.map(() => 50))
    // Exactly once: one run per pipeline, nobody took a job twice; only the workers ran (not the API).
    expect(await d.prisma.run.count()).toBe(20)
    const byWorker = counted(ended.map((r) => r.workerId!))
    expect([...byWorker.keys()].sort()).toEqual(d.workers.map((w) => w.workerId).sort())
    for (const w of d.workers) expect(w.process.logs.filter((l) => l.msg?.startsWith('run not taken'))).toEqual([])
    // The limit, as SAP saw it: requests served at once for the connection's user (the simulator's own count).
    const { inFlight } = d.sim.admin.stats()
    expect(inFlight.byUser[SAP_USER.toUpperCase()].max).toBeLessThanOrEqual(3)
    expect(inFlight.byUser[SAP_USER.toUpperCase()].max).toBeGreaterThan(1) // and runs did overlap
  })

  it('serve --with-worker alone queues in Redis and runs the pipelines itself', async () => {
    d = await deploy({ rows: 50, workers: 0, serveArgs: ['--with-worker'], openRequestIdleMs: 30_000 })
    expect(d.api.logs.find((l) => l.msg?.startsWith('queue mode'))).toMatchObject({ work: true })
    const pipelines = await d.createPipelines(['a', 'b', 'c'], 'FULL', 25)
    const ended = await Promise.all((await Promise.all(pipelines.map((id) => d!.runPipeline(id)))).map((id) => d!.endedRun(id)))
    expect(ended.map((r) => [r.status, rowsOf(r.rowsWritten)])).toEqual(pipelines.map(() => ['SUCCEEDED', 50]))
    expect(new Set(ended.map((r) => r.workerId?.split(':')[1]))).toEqual(new Set([String(d.api.pid)]))
  })

  it('a worker killed mid-run (SIGKILL): the other worker recovers the run, and every key lands in the lake exactly once', async () => {
    d = await deploy({ rows: 60, workers: 2 })
    const { pipelineId, runId, holder, other, inserted, initRows } = await deltaRunInFlight(d, 60_000)
    holder.process.kill('SIGKILL')
    await holder.process.exited

    const lost = await d.endedRun(runId)
    expect(lost).toMatchObject({ status: 'FAILED', errorCode: 'WORKER_LOST', workerId: holder.workerId })
    const retry = await until(() => d!.prisma.run.findFirst({ where: { pipelineId, trigger: 'RETRY' } }), 'the recovery run')
    const recovered = await d.endedRun(retry.id)
    expect(recovered).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'RECOVERY', workerId: other.workerId })
    expect(rowsOf(recovered.rowsWritten)).toBe(50)
    await expectEachKeyOnce(d, pipelineId, { total: initRows + 50, including: inserted })
  })

  it('a duplicate job for a run another worker holds is dropped, and the run goes on unaffected', async () => {
    // One run at a time per worker: the duplicate can only go to the worker that does not hold the run.
    d = await deploy({ rows: 60, workers: 2, workerEnv: { WORKER_CONCURRENCY: '1' } })
    const { pipelineId, runId, holder, other, inserted, initRows } = await deltaRunInFlight(d, 3_000)
    const queue = new Queue(RUN_QUEUE_NAME, {
      connection: new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null }),
      prefix: d.redisPrefix,
    })
    try {
      // What BullMQ's stalled-job check does when a lock lapses: the job is delivered again.
      await queue.add('run', { runId }, { jobId: `${runId}-again`, removeOnComplete: true, removeOnFail: true })
    } finally {
      await queue.close()
      await queue.disconnect()
    }
    const dropped = await other.process.waitForLog(notTaken(runId))
    expect(dropped).toMatchObject({ status: 'RUNNING', heldBy: holder.workerId })

    const run = await d.endedRun(runId)
    expect(run).toMatchObject({ status: 'SUCCEEDED', attempt: 1, workerId: holder.workerId })
    expect(rowsOf(run.rowsWritten)).toBe(50)
    expect(await d.prisma.run.count({ where: { pipelineId } })).toBe(2) // the initial load and this one
    await expectEachKeyOnce(d, pipelineId, { total: initRows + 50, including: inserted })
  })

  it('a run whose job Redis lost is offered to the queue again, and runs', async () => {
    d = await deploy({ rows: 60, workers: 1, workerEnv: { WORKER_CONCURRENCY: '1' } })
    const [busy, lost] = await d.createPipelines(['busy', 'lost'], 'FULL')
    d.sim.admin.injectFault({ kind: 'slow', page: 2, read: 'any', delayMs: 3_000 })
    const busyRun = await d.runPipeline(busy)
    await until(async () => (await d!.prisma.run.findUniqueOrThrow({ where: { id: busyRun } })).status === 'RUNNING', 'the busy run')
    // The only worker is busy: the second run waits in Redis, until Redis forgets it.
    const lostRun = await d.runPipeline(lost)
    const queue = new Queue(RUN_QUEUE_NAME, {
      connection: new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null }),
      prefix: d.redisPrefix,
    })
    try {
      expect(await queue.remove(lostRun)).toBe(1)
    } finally {
      await queue.close()
      await queue.disconnect()
    }
    expect(await d.endedRun(busyRun)).toMatchObject({ status: 'SUCCEEDED' })
    const run = await d.endedRun(lostRun)
    expect(run).toMatchObject({ status: 'SUCCEEDED', attempt: 1, workerId: d.workers[0].workerId })
    expect(rowsOf(run.rowsWritten)).toBe(60)
  })

  it('SIGTERM with a long grace: the worker takes no new run, finishes the one in flight, and exits', async () => {
    d = await deploy({ rows: 60, workers: 2, workerEnv: { SHUTDOWN_GRACE_SECONDS: '120' } })
    const { pipelineId, runId, holder, other, inserted, initRows } = await deltaRunInFlight(d, 3_000)
    const [later] = await d.createPipelines(['later'], 'FULL')
    holder.process.kill('SIGTERM')
    await holder.process.waitForLog((l) => l.msg?.startsWith('draining') === true)
    // Queued while the holder drains (it has a free slot): only the other worker may take it.
    const laterRun = await d.endedRun(await d.runPipeline(later))
    expect(laterRun).toMatchObject({ status: 'SUCCEEDED', workerId: other.workerId })

    const run = await d.endedRun(runId)
    expect(run).toMatchObject({ status: 'SUCCEEDED', attempt: 1, workerId: holder.workerId })
    expect(await holder.process.exited).toBe(0)
    expect(await d.prisma.run.count({ where: { pipelineId } })).toBe(2)
    await expectEachKeyOnce(d, pipelineId, { total: initRows + 50, including: inserted })
  })

  it('SIGTERM with a short grace: the run is released, the worker exits, and the other worker recovers the run', async () => {
    d = await deploy({ rows: 60, workers: 2, workerEnv: { SHUTDOWN_GRACE_SECONDS: '1' } })
    const { pipelineId, runId, holder, other, inserted, initRows } = await deltaRunInFlight(d, 60_000)
    holder.process.kill('SIGTERM')
    expect(await holder.process.exited).toBe(0)
    expect(holder.process.logs.some((l) => l.msg === 'run released for recovery at shutdown' && l.runId === runId)).toBe(true)

    const released = await d.endedRun(runId)
    expect(released).toMatchObject({ status: 'FAILED', errorCode: 'WORKER_LOST', workerId: holder.workerId })
    const retry = await until(() => d!.prisma.run.findFirst({ where: { pipelineId, trigger: 'RETRY' } }), 'the recovery run')
    const recovered = await d.endedRun(retry.id)
    expect(recovered).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'RECOVERY', workerId: other.workerId })
    await expectEachKeyOnce(d, pipelineId, { total: initRows + 50, including: inserted })
  })
})
