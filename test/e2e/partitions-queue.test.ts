/**
 * Partitions read by other workers in queue mode (docs/architecture.md#partitions), with real OS
 * processes: one `serve` (API only) and two `worker`s on one PostgreSQL database and one Redis, the
 * SAP simulator in this process. The run's owner queues its partitions; any worker reads them; the
 * owner verifies, publishes and commits once. What happened is read from the `RunPartition` rows, the
 * manifest and the lake's Parquet files (DuckDB), held against the simulator's own table.
 *
 * A split TABLE_RFC DELTA_INIT (docs/sap-protocols.md §C.7) is tested one level lower: the RFC
 * simulator answers only clients made in its own process (`createClient`, standing in for node-rfc;
 * it has no network listener), so a `worker` process cannot reach it. There two app instances in
 * this process share one PostgreSQL database and one Redis, both working (queue mode), each with
 * its own worker id, BullMQ workers and Redis connections — everything but the OS process is real.
 */
import { readdir } from 'node:fs/promises'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import type { Db } from '../../src/db/client.js'
import { sapSourceFactory } from '../../src/orchestrator/sources.js'
import { SALES_ITEMS, type SapSimulatorOptions } from '../../src/simulator/index.js'
import { startRfcSimulator, type ChangeRef, type RfcSimulator } from '../../src/simulator/rfc/index.js'
import { graphql } from '../gql/index.js'
import { Deployment } from '../helpers/deployment.js'
import { until } from '../helpers/until.js'
import { TEST_DB } from '../helpers/database.js'
import { Harness, SAP_PASSWORD, SAP_USER } from '../helpers/harness.js'
import { expectedLakeRow, keyOf, pick, readRun, type LakeRow } from '../helpers/lake.js'
import { TEST_OUTBOUND } from '../helpers/outbound.js'
import { deleteRedisKeys, TEST_REDIS_URL, testRedisPrefix } from '../helpers/redis.js'

const BUSINESS = ['VBELN', 'POSNR', 'MATNR', 'ARKTX', 'KUNNR', 'ERDAT', 'ERZET', 'NETWR', 'WAERK', 'KWMENG', 'VRKME']
const filePrefix = testRedisPrefix('partitions-queue')
let tests = 0

/** A partitioned run over two processes on two shared cores: more time than one run needs. */
const PARTITIONED_RUN_MS = 90_000

/**
 * Two workers of one partition at a time each, so four partitions can only be read by both. FULL reads
 * hold no subscription, so nothing waits for an idle read to lapse; a short window would only fail
 * pages that a loaded machine serves late (SAP's own limit is minutes).
 */
function deploy(opts: { sim: SapSimulatorOptions; workerEnv?: Record<string, string> }): Promise<Deployment> {
  return Deployment.start({
    redisPrefix: `${filePrefix}:t${++tests}`,
    sim: { openRequestIdleMs: 30_000, ...opts.sim },
    workers: 2,
    workerEnv: { PARTITION_CONCURRENCY: '1', ...opts.workerEnv },
  })
}

/** A FULL pipeline of SALES_ITEMS split into `partitions` key ranges; returns its id. */
async function partitionedPipeline(d: Deployment, partitions: number, pageSize: number, maxConcurrentRuns?: number) {
  const [id] = await d.createPipelines(['parts'], 'FULL', pageSize, maxConcurrentRuns, partitions)
  return id
}

const partitionRows = (d: Deployment, runId: string) =>
  d.prisma.runPartition.findMany({ where: { runId }, orderBy: [{ index: 'asc' }, { attempt: 'asc' }] })

async function simulatorRows(d: Deployment): Promise<LakeRow[]> {
  const rows: LakeRow[] = []
  for await (const r of d.sim.admin.rows(SALES_ITEMS)) rows.push(expectedLakeRow(r))
  return rows
}

/** Every Parquet file under the run's folder in the lake (what a reader listing the folder would see). */
async function parquetFilesOf(manifestDir: string): Promise<string[]> {
  return (await readdir(manifestDir)).filter((f) => f.endsWith('.parquet')).sort()
}

/** The committed run's rows, value for value and in key order, are the simulator's table: each key once. */
async function expectExactlyTheTable(d: Deployment, manifestUri: string) {
  const { manifest, rows } = await readRun(manifestUri)
  const expected = await simulatorRows(d)
  expect(rows.map((r) => pick(r, BUSINESS))).toEqual(expected.map((r) => pick(r, BUSINESS)))
  expect(new Set(rows.map(keyOf)).size).toBe(expected.length)
  // The folder holds what the manifest lists, nothing a failed or abandoned attempt wrote.
  expect(await parquetFilesOf(manifest.dir)).toEqual(manifest.files.map((f) => f.path).sort())
  return manifest
}

let d: Deployment | undefined
afterEach(async () => {
  await d?.stop()
  d = undefined
})
afterAll(() => deleteRedisKeys(filePrefix))

describe.skipIf(TEST_DB !== 'postgres')('queue mode: partitions read by other workers', { timeout: 180_000 }, () => {
  it('a partitioned FULL load is read by both workers and committed once by its owner, exactly the table', async () => {
    d = await deploy({ sim: { rows: { [SALES_ITEMS]: 1_300 }, latencyMs: 20 } })
    const pipelineId = await partitionedPipeline(d, 4, 50)
    const run = await d.endedRun(await d.runPipeline(pipelineId), PARTITIONED_RUN_MS)
    expect(run).toMatchObject({ status: 'SUCCEEDED', errorCode: null })
    expect(Number(run.rowsExtracted)).toBe(1_300)
    expect(Number(run.rowsWritten)).toBe(1_300)

    const parts = await partitionRows(d, run.id)
    expect(parts.map((p) => [p.index, p.attempt, p.status])).toEqual([0, 1, 2, 3].map((i) => [i, 1, 'SUCCEEDED']))
    // Both worker processes read partitions (the owner is one of them).
    expect(new Set(parts.map((p) => p.workerId))).toEqual(new Set(d.workers.map((w) => w.workerId)))
    expect(d.workers.map((w) => w.workerId)).toContain(run.workerId)

    const manifest = await expectExactlyTheTable(d, run.manifestUri!)
    expect(manifest.partitions?.map((p) => [p.id, p.attempts])).toEqual([
      ['p00', 1],
      ['p01', 1],
      ['p02', 1],
      ['p03', 1],
    ])
    expect(new Set(manifest.files.map((f) => f.partition))).toEqual(new Set(['p00', 'p01', 'p02', 'p03']))
    for (const f of manifest.files) expect(f.path).toMatch(new RegExp(`^part-${f.partition}-a1-\\d{5}\\.parquet$`))
    expect(manifest.rows).toBe(1_300)
    expect(run.filesWritten).toBe(manifest.files.length)
  })

  it('a partition that fails once is queued again alone; the others are read once; the run commits once', async () => {
    // The fault ends SAP's paged read at the first page 3 any partition asks for (retryable 503).
    d = await deploy({ sim: { rows: { [SALES_ITEMS]: 900 }, variants: { faultEndsRead: true } } })
    const pipelineId = await partitionedPipeline(d, 4, 50)
    d.sim.admin.injectFault({ kind: 'http-503', page: 3, read: 'full', entitySet: SALES_ITEMS })
    const run = await d.endedRun(await d.runPipeline(pipelineId), PARTITIONED_RUN_MS)
    expect(run).toMatchObject({ status: 'SUCCEEDED', errorCode: null })
    expect(d.sim.admin.stats().faultsFired).toBe(1)

    const parts = await partitionRows(d, run.id)
    const failed = parts.filter((p) => p.status === 'FAILED')
    expect(failed).toHaveLength(1)
    expect(JSON.parse(failed[0].result!)).toMatchObject({ error: { retryable: true } })
    // Only the failed partition has a second attempt; every other was read once.
    const attempts = [0, 1, 2, 3].map((i) => parts.filter((p) => p.index === i).map((p) => [p.attempt, p.status]))
    for (let i = 0; i < 4; i++)
      expect(attempts[i]).toEqual(
        i === failed[0].index
          ? [
              [1, 'FAILED'],
              [2, 'SUCCEEDED'],
            ]
          : [[1, 'SUCCEEDED']],
      )
    // The failed attempt's two pages were read from SAP (counted), and are in no file.
    expect(Number(run.rowsExtracted)).toBe(1_000)
    expect(Number(run.rowsWritten)).toBe(900)

    const manifest = await expectExactlyTheTable(d, run.manifestUri!)
    expect(manifest.partitions?.map((p) => p.attempts).sort()).toEqual([1, 1, 1, 2])
    const retried = `p${String(failed[0].index).padStart(2, '0')}`
    for (const f of manifest.files.filter((x) => x.partition === retried)) expect(f.path).toMatch(new RegExp(`^part-${retried}-a2-`))
  })

  it('a worker killed (SIGKILL) while it reads a partition: the owner takes it back when its heartbeat is stale, and commits exactly the table', async () => {
    d = await deploy({
      sim: { rows: { [SALES_ITEMS]: 1_200 } },
      workerEnv: { PARTITION_HEARTBEAT_MS: '300', PARTITION_STALE_MS: '3000' },
    })
    const pipelineId = await partitionedPipeline(d, 4, 50)
    // The first two partitions read (one per worker: one partition at a time each) hang on their second page.
    d.sim.admin.injectFault({ kind: 'slow', page: 2, read: 'full', entitySet: SALES_ITEMS, delayMs: 6_000, times: 2 })
    const runId = await d.runPipeline(pipelineId)
    const owner = await until(async () => {
      const r = await d!.prisma.run.findUniqueOrThrow({ where: { id: runId } })
      return r.status === 'RUNNING' && r.workerId
    }, 'the run to be taken')
    const victim = d.workers.find((w) => w.workerId !== owner)!
    // The victim is inside its partition's read: its row is RUNNING and SAP holds its second page.
    const reading = await until(async () => {
      const running = (await partitionRows(d!, runId)).filter((p) => p.status === 'RUNNING')
      return d!.sim.admin.stats().faultsFired === 2 && running.find((p) => p.workerId === victim.workerId)
    }, 'the other worker to be reading a partition')
    victim.process.kill('SIGKILL')
    await victim.process.exited

    const run = await d.endedRun(runId, PARTITIONED_RUN_MS)
    expect(run).toMatchObject({ status: 'SUCCEEDED', errorCode: null, workerId: owner })
    const parts = await partitionRows(d, runId)
    const lost = parts.find((p) => p.id === reading.id)!
    expect(lost).toMatchObject({ status: 'FAILED', workerId: victim.workerId, attempt: 1 })
    expect(JSON.parse(lost.result!)).toMatchObject({ error: { code: 'WORKER_LOST', retryable: true } })
    const again = parts.filter((p) => p.index === reading.index && p.attempt === 2)
    expect(again).toEqual([expect.objectContaining({ status: 'SUCCEEDED', workerId: owner })])
    expect(Number(run.rowsWritten)).toBe(1_200)

    const manifest = await expectExactlyTheTable(d, run.manifestUri!)
    expect(manifest.partitions?.find((p) => p.id === `p${String(reading.index).padStart(2, '0')}`)?.attempts).toBe(2)
    expect(manifest.rows).toBe(1_200)
  })

  it("partitions in flight stay within the connection's maxConcurrentRuns, as SAP counts requests", async () => {
    // Two workers could read four partitions at once; the connection allows SAP two requests.
    d = await deploy({ sim: { rows: { [SALES_ITEMS]: 1_200 }, latencyMs: 30 }, workerEnv: { PARTITION_CONCURRENCY: '2' } })
    const pipelineId = await partitionedPipeline(d, 4, 50, 2)
    const run = await d.endedRun(await d.runPipeline(pipelineId), PARTITIONED_RUN_MS)
    expect(run).toMatchObject({ status: 'SUCCEEDED', errorCode: null })
    await expectExactlyTheTable(d, run.manifestUri!)
    // The simulator's own count of requests served at once for the connection's user.
    const { inFlight } = d.sim.admin.stats()
    expect(inFlight.byUser[SAP_USER.toUpperCase()].max).toBeLessThanOrEqual(2)
    expect(inFlight.byUser[SAP_USER.toUpperCase()].max).toBe(2) // and the free slot was used
  })

  it('a cancel of the run stops the partition workers of both processes; nothing is committed and no file stays', async () => {
    d = await deploy({ sim: { rows: { [SALES_ITEMS]: 1_200 } } })
    const pipelineId = await partitionedPipeline(d, 4, 50)
    // Both workers' first partitions hang on their second page, long past the test's waits.
    d.sim.admin.injectFault({ kind: 'slow', page: 2, read: 'full', entitySet: SALES_ITEMS, delayMs: 60_000, times: 2 })
    const runId = await d.runPipeline(pipelineId)
    await until(async () => {
      const running = (await partitionRows(d!, runId)).filter((p) => p.status === 'RUNNING')
      return d!.sim.admin.stats().faultsFired === 2 && new Set(running.map((p) => p.workerId)).size === 2
    }, 'both workers to be reading a partition')
    await d.gql(`mutation($id: ID!) { cancelRun(id: $id) { status } }`, { id: runId })

    const run = await d.endedRun(runId, PARTITIONED_RUN_MS)
    expect(run).toMatchObject({ status: 'CANCELLED', errorCode: 'CANCELLED', manifestUri: null })
    // Every attempt ends: the two being read stopped by their workers, the queued ones closed by the owner.
    const parts = await until(async () => {
      const rows = await partitionRows(d!, runId)
      return rows.every((p) => p.status === 'FAILED') && rows
    }, 'every partition attempt to end')
    expect(parts.map((p) => JSON.parse(p.result!).error.code)).toEqual(parts.map(() => 'CANCELLED'))
    expect(
      parts
        .filter((p) => p.workerId)
        .map((p) => p.workerId)
        .sort(),
    ).toEqual(d.workers.map((w) => w.workerId).sort())
    const files = await readdir(d.lakeDir, { recursive: true }).catch(() => [] as string[])
    expect(files.filter((f) => f.endsWith('.parquet') || f.endsWith('manifest.json'))).toEqual([])
  })
})

const FIELDS = ['VBELN', 'POSNR', 'MATNR', 'ARKTX', 'NETWR', 'WAERK', 'ERDAT', 'CHANGED_AT']

const QueuedInitConnection = graphql(`
  mutation QueuedInitConnection($input: CreateConnectionInput!) { createConnection(input: $input) { id } }
`)
const QueuedInitLake = graphql(`
  mutation QueuedInitLake($input: CreateDestinationInput!) { createDestination(input: $input) { id } }
`)
const QueuedInitPipeline = graphql(`
  mutation QueuedInitPipeline($input: CreatePipelineInput!) { createPipeline(input: $input) { id } }
`)
const QueuedInitRun = graphql(`
  mutation QueuedInitRun($id: ID!) { runPipeline(id: $id) { id } }
`)

/** Two working instances of one queue-mode deployment in this process, reading SAP through the RFC simulator. */
class RfcPair {
  private constructor(
    readonly sim: RfcSimulator,
    readonly instances: Harness[],
    readonly redisPrefix: string,
  ) {}

  static async start(rows: number): Promise<RfcPair> {
    const sim = await startRfcSimulator({ tables: { ZSD_ITEMS: rows } })
    const redis = { url: TEST_REDIS_URL, prefix: `${filePrefix}:t${++tests}` }
    const orchestrator = {
      sources: sapSourceFactory({
        rfcClientFactory: (p) => sim.createClient(p),
        rfcPoolSize: 4,
        retries: 1,
        backoffMs: 5,
        outbound: TEST_OUTBOUND,
      }),
      // One partition at a time per instance: four partitions can only be read by both.
      partitions: { concurrency: 1 },
    }
    const first = await Harness.start({ redis, orchestrator })
    const second = await Harness.start({ peerOf: first, redis, orchestrator })
    return new RfcPair(sim, [first, second], redis.prefix)
  }

  get workerIds(): string[] {
    return this.instances.map((h) => h.app.services.orchestrator.workerId)
  }

  get db(): Db {
    return this.instances[0].app.services.db
  }

  async pipeline(partitions: number): Promise<string> {
    const h = this.instances[0]
    const { createConnection } = await h.gql(QueuedInitConnection, {
      input: {
        name: 'erp',
        protocol: 'RFC',
        rfcConfig: { ashost: 'localhost', sysnr: '00', client: '100', user: SAP_USER, passwd: SAP_PASSWORD, lang: 'EN' },
      },
    })
    const { createDestination } = await h.gql(QueuedInitLake, { input: { name: 'lake', kind: 'LOCAL', local: { path: h.lakeDir } } })
    const { createPipeline } = await h.gql(QueuedInitPipeline, {
      input: {
        name: 'items',
        mode: 'DELTA',
        connectionId: createConnection.id,
        destinationId: createDestination.id,
        source: { kind: 'TABLE_RFC', table: 'ZSD_ITEMS', fields: FIELDS, watermarkField: 'CHANGED_AT', pageSize: 50, partitions },
      },
    })
    return createPipeline.id
  }

  async tableRows(): Promise<LakeRow[]> {
    const rows: LakeRow[] = []
    for await (const r of this.sim.admin.rows('ZSD_ITEMS')) rows.push(pick(expectedLakeRow(r), FIELDS))
    return rows.sort(byKey)
  }

  async stop(): Promise<void> {
    for (const h of [...this.instances].reverse()) await h.stop()
    await this.sim.close()
    await deleteRedisKeys(this.redisPrefix)
  }
}

const byKey = (a: LakeRow, b: LakeRow) => keyOf(a).localeCompare(keyOf(b))
const lakeRows = async (manifestUri: string) => (await readRun(manifestUri)).rows.map((r) => pick(r, FIELDS)).sort(byKey)
const rowKey = (r: LakeRow) => ({ VBELN: String(r.VBELN), POSNR: String(r.POSNR) })
const optionsOf = (input: Record<string, unknown>) =>
  ((input.OPTIONS as Array<{ TEXT: string }> | undefined) ?? []).map((l) => l.TEXT).join(' ')

let pair: RfcPair | undefined
afterEach(async () => {
  await pair?.stop()
  pair = undefined
})

describe.skipIf(TEST_DB !== 'postgres')('queue mode: a split TABLE_RFC DELTA_INIT read by other workers', { timeout: 120_000 }, () => {
  it('both instances read its partitions from the start the owner fixed; the owner joins their ends; the next DELTA delivers every change once', async () => {
    const p = (pair = await RfcPair.start(730))
    const pipelineId = await p.pipeline(4)
    // The last partition (open above) waits at its first page, not the one-row probes of the owner's
    // search, until the other three are read and the test has changed SAP.
    const last = p.sim.admin.hold(
      ({ functionModule, input }) =>
        functionModule === 'RFC_READ_TABLE' &&
        Number(input.ROWCOUNT) > 1 &&
        optionsOf(input).includes('VBELN >=') &&
        !optionsOf(input).includes('VBELN <'),
    )
    const before = await p.tableRows()
    const [owner, other] = p.instances
    const { runPipeline } = await owner.gql(QueuedInitRun, { id: pipelineId })
    await last.arrived
    await vi.waitFor(
      async () =>
        expect(
          (await p.db.runPartition.findMany({ where: { runId: runPipeline.id, status: 'SUCCEEDED' } })).map((r) => r.index).sort(),
        ).toEqual([0, 1, 2]),
      { timeout: 30_000, interval: 50 },
    )
    const lastFrom = (await p.db.runPartition.findFirstOrThrow({ where: { runId: runPipeline.id, index: 3 } })).rangeFrom!
    // While p03 is held: rows already read change (the snapshot has their old versions); two hours
    // later — beyond the one-hour overlap — rows of p03 change and rows are added (p03 reads them new).
    const readAlready = before.filter((r) => String(r.VBELN) < lastFrom)
    const during: ChangeRef[] = p.sim.admin.update('ZSD_ITEMS', [readAlready[3], readAlready.at(-2)!].map(rowKey))
    p.sim.admin.advanceClock(7_200)
    const inLast = before.filter((r) => String(r.VBELN) >= lastFrom)
    const readLater: ChangeRef[] = [
      ...p.sim.admin.update('ZSD_ITEMS', [inLast[1], inLast.at(-1)!].map(rowKey)),
      ...p.sim.admin.insert('ZSD_ITEMS', 3),
    ]
    last.release()
    const init = await other.waitForRun(runPipeline.id, 60_000)
    expect(init).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', error: null, rowsWritten: '733' })

    // one attempt per partition, every one from the same stored start, read by both instances
    const rows = await p.db.runPartition.findMany({ where: { runId: init.id }, orderBy: [{ index: 'asc' }, { attempt: 'asc' }] })
    expect(rows.map((r) => `${r.index}/a${r.attempt}/${r.status}`)).toEqual([
      '0/a1/SUCCEEDED',
      '1/a1/SUCCEEDED',
      '2/a1/SUCCEEDED',
      '3/a1/SUCCEEDED',
    ])
    expect(new Set(rows.map((r) => r.workerId))).toEqual(new Set(p.workerIds))
    const start = rows[0].initStart!
    expect(rows.map((r) => r.initStart)).toEqual(rows.map(() => start))
    // each partition stored its end: the start's watermark and the fingerprints it saw
    const ends = rows.map((r) => JSON.parse(JSON.parse(r.result!).end.position) as { watermark: string; seen: string[] })
    const startWatermark = (JSON.parse(start) as { watermark: string }).watermark
    for (const e of ends) expect(e.watermark).toBe(startWatermark)

    // the committed position is the join of the four ends: the start, with the union of their fingerprints
    const state = await p.db.deltaState.findUniqueOrThrow({ where: { pipelineId } })
    const position = JSON.parse(state.deltaLink!) as { watermark: string; seen: string[] }
    expect(position.watermark).toBe(startWatermark)
    expect(position.seen).toEqual([...new Set(ends.flatMap((e) => e.seen))].sort())
    expect(position.watermark < String(during[0].after!.CHANGED_AT)).toBe(true)
    expect(position.seen.length).toBeGreaterThanOrEqual(readLater.length)

    // the snapshot: every row once — those changed while p03 was held in their old version, the rest as p03 read them
    const duringKeys = new Set(during.map((c) => keyOf(c.key)))
    const snapshot = (await p.tableRows()).map((r) => (duringKeys.has(keyOf(r)) ? before.find((b) => keyOf(b) === keyOf(r))! : r))
    expect(await lakeRows(init.manifestUri!)).toEqual(snapshot)

    // later changes; the next DELTA delivers them and the ones made while p03 was held, each once,
    // and not again the rows p03 read in their new version
    p.sim.admin.advanceClock(60)
    const after: ChangeRef[] = [...p.sim.admin.update('ZSD_ITEMS', 4), ...p.sim.admin.insert('ZSD_ITEMS', 2)]
    const delta = await owner.run(pipelineId)
    expect(delta).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', error: null })
    const current = await p.tableRows()
    const changed = new Set([...during, ...after].map((c) => keyOf(c.key)))
    const delivered = await lakeRows(delta.manifestUri!)
    expect(delivered).toEqual(current.filter((r) => changed.has(keyOf(r))))
    expect(new Set(delivered.map(keyOf)).size).toBe(delivered.length)
    // snapshot then delta, by key: the simulator's table exactly
    const lake = new Map((await lakeRows(init.manifestUri!)).map((r) => [keyOf(r), r]))
    for (const r of delivered) lake.set(keyOf(r), r)
    expect([...lake.values()].sort(byKey)).toEqual(current)
  })

  it('a partition that fails is queued again and read from the same stored start: the position and the next DELTA are as if it had not failed', async () => {
    const p = (pair = await RfcPair.start(400))
    const pipelineId = await p.pipeline(4)
    const last = p.sim.admin.hold(
      ({ functionModule, input }) =>
        functionModule === 'RFC_READ_TABLE' &&
        Number(input.ROWCOUNT) > 1 &&
        optionsOf(input).includes('VBELN >=') &&
        !optionsOf(input).includes('VBELN <'),
    )
    const before = await p.tableRows()
    const [owner] = p.instances
    const { runPipeline } = await owner.gql(QueuedInitRun, { id: pipelineId })
    await last.arrived
    await vi.waitFor(
      async () =>
        expect(
          (await p.db.runPartition.findMany({ where: { runId: runPipeline.id, status: 'SUCCEEDED' } })).map((r) => r.index).sort(),
        ).toEqual([0, 1, 2]),
      { timeout: 30_000, interval: 50 },
    )
    const lastFrom = (await p.db.runPartition.findFirstOrThrow({ where: { runId: runPipeline.id, index: 3 } })).rangeFrom!
    // A row p00 read changes; two hours later p03's next call after the held page fails (with its one
    // retry inside the read): p03's first attempt fails, and the owner queues a second one.
    const during = p.sim.admin.update('ZSD_ITEMS', [rowKey(before[2])])
    p.sim.admin.advanceClock(7_200)
    p.sim.admin.injectFault({ kind: 'communication-failure', functionModule: 'RFC_READ_TABLE', lost: 'request', times: 2 })
    const inLast = p.sim.admin.update('ZSD_ITEMS', [rowKey(before.filter((r) => String(r.VBELN) >= lastFrom).at(-1)!)])
    last.release()
    const init = await owner.waitForRun(runPipeline.id, 60_000)
    expect(init).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', error: null, rowsWritten: '400' })
    const rows = await p.db.runPartition.findMany({ where: { runId: init.id }, orderBy: [{ index: 'asc' }, { attempt: 'asc' }] })
    expect(rows.map((r) => `${r.index}/a${r.attempt}/${r.status}`)).toEqual([
      '0/a1/SUCCEEDED',
      '1/a1/SUCCEEDED',
      '2/a1/SUCCEEDED',
      '3/a1/FAILED',
      '3/a2/SUCCEEDED',
    ])
    expect(JSON.parse(rows[3].result!)).toMatchObject({ error: { retryable: true } })
    // the second attempt read from the start every other attempt read from
    expect(new Set(rows.map((r) => r.initStart))).toEqual(new Set([rows[0].initStart]))
    const duringKey = keyOf(during[0].key)
    expect(await lakeRows(init.manifestUri!)).toEqual(
      (await p.tableRows()).map((r) => (keyOf(r) === duringKey ? before.find((b) => keyOf(b) === duringKey)! : r)),
    )

    const delta = await owner.run(pipelineId)
    expect(delta).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', error: null })
    // the change p00 missed comes; the one p03's second attempt read already does not come again
    expect(inLast).toHaveLength(1)
    expect(await lakeRows(delta.manifestUri!)).toEqual((await p.tableRows()).filter((r) => keyOf(r) === duringKey))
  })
})
