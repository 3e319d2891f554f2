/**
 * Limits that protect SAP (architecture.md#claim): a connection's `maxConcurrentRuns` and the
 * service's MAX_CONCURRENT_RUNS, enforced by the claim across every process on the database, runs
 * starting in queue order as slots free, and `Run.queuePosition` while they wait. Concurrency is
 * measured twice: from the runs' own start and end times in the database, and by the SAP
 * simulator's count of requests it served at once (`stats().inFlight`), never by the client's word.
 */
import { NO_SLOT_RETRY_MS } from '../../src/orchestrator/queue.js'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { startApp, type RunningApp } from '../../src/app.js'
import type { Db } from '../../src/db/client.js'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import { createLogger, silentLogger } from '../../src/util/logger.js'
import { graphql } from '../gql/index.js'
import { TEST_DB } from '../helpers/database.js'
import { Harness, OBJECT_STORE_FOR_TESTS, SAP_PASSWORD, SAP_USER } from '../helpers/harness.js'
import { TEST_OUTBOUND_OPTIONS } from '../helpers/outbound.js'
import { deleteRedisKeys, TEST_REDIS_URL, testRedisPrefix } from '../helpers/redis.js'

const OTHER_USER = 'OTHER'
const OTHER_PASSWORD = 'Other1!pass'
/** Each data page is held this long, so runs overlap (3 pages of 100 rows per run). */
const SIM = { users: { [SAP_USER]: SAP_PASSWORD, [OTHER_USER]: OTHER_PASSWORD }, latencyMs: 60 }

const CreateConnection = graphql(`
  mutation LimitsCreateConnection($input: CreateConnectionInput!) { createConnection(input: $input) { id maxConcurrentRuns } }
`)
const UpdateConnection = graphql(`
  mutation LimitsUpdateConnection($id: ID!, $input: UpdateConnectionInput!) { updateConnection(id: $id, input: $input) { id maxConcurrentRuns } }
`)
const ConnectionLimit = graphql(`query LimitsConnection($id: ID!) { connection(id: $id) { id name maxConcurrentRuns } }`)
const Connections = graphql(`query LimitsConnections { connections { id } }`)
const CreateDestination = graphql(`
  mutation LimitsCreateDestination($input: CreateDestinationInput!) { createDestination(input: $input) { id } }
`)
const CreatePipeline = graphql(`mutation LimitsCreatePipeline($input: CreatePipelineInput!) { createPipeline(input: $input) { id } }`)
const RunPipeline = graphql(`mutation LimitsRunPipeline($id: ID!) { runPipeline(id: $id) { id status queuePosition } }`)
const QueuedRuns = graphql(`query LimitsQueued { runs(status: QUEUED, first: 50) { edges { node { id queuePosition queuedAt } } } }`)
const RunPosition = graphql(`query LimitsRunPosition($id: ID!) { run(id: $id) { id status queuePosition } }`)

let h: Harness | undefined
let second: RunningApp | undefined
afterEach(async () => {
  await second?.stop()
  await h?.stop()
  h = second = undefined
})

async function connection(harness: Harness, name: string, user: string, password: string, maxConcurrentRuns?: number | null) {
  const { createConnection } = await harness.gql(CreateConnection, {
    input: {
      name,
      protocol: 'ODATA',
      maxConcurrentRuns,
      odataConfig: { serviceUrl: harness.sim.serviceUrl, sapClient: '100', user, password },
    },
  })
  return createConnection.id
}

/** `count` FULL pipelines reading SALES_ITEMS over the connection, into one LOCAL folder. */
async function pipelines(harness: Harness, connectionId: string, prefix: string, count: number): Promise<string[]> {
  const { createDestination } = await harness.gql(CreateDestination, {
    input: { name: `lake-${prefix}`, kind: 'LOCAL', local: { path: harness.lakeDir } },
  })
  const ids: string[] = []
  for (let i = 0; i < count; i++) {
    const { createPipeline } = await harness.gql(CreatePipeline, {
      input: {
        name: `${prefix}-${i}`,
        connectionId,
        destinationId: createDestination.id,
        mode: 'FULL',
        source: { kind: 'ODP_ODATA', entitySet: SALES_ITEMS, pageSize: 100 },
      },
    })
    ids.push(createPipeline.id)
  }
  return ids
}

/**
 * Watches RUNNING runs in the database until stopped: the highest count seen, in total and by the
 * connection each run pinned. A poll can miss a short peak; `maxOverlap` over the runs' own start
 * and end times cannot, and the tests check both.
 */
function watchRunning(db: Db) {
  const max = { total: 0, byConnection: new Map<string, number>() }
  let stopped = false
  const done = (async () => {
    while (!stopped) {
      const groups = await db.run.groupBy({ by: ['connectionId'], where: { status: 'RUNNING' }, _count: { _all: true } })
      max.total = Math.max(
        max.total,
        groups.reduce((n, g) => n + g._count._all, 0),
      )
      for (const g of groups) max.byConnection.set(g.connectionId!, Math.max(max.byConnection.get(g.connectionId!) ?? 0, g._count._all))
      await new Promise((r) => setTimeout(r, 20))
    }
  })()
  return async () => {
    stopped = true
    await done
    return max
  }
}

interface Interval {
  startedAt: Date | null
  finishedAt: Date | null
}
/** The most runs RUNNING at one moment, from their start and end times (an end at the same instant as a start comes first). */
function maxOverlap(runs: Interval[]): number {
  const edges = runs.flatMap((r) => [
    { at: r.startedAt!.getTime(), step: 1 },
    { at: r.finishedAt!.getTime(), step: -1 },
  ])
  edges.sort((a, b) => a.at - b.at || a.step - b.step)
  let now = 0
  let max = 0
  for (const e of edges) max = Math.max(max, (now += e.step))
  return max
}

async function endedRuns(db: Db, pipelineIds: string[]) {
  await expect
    .poll(() => db.run.count({ where: { pipelineId: { in: pipelineIds }, status: { in: ['QUEUED', 'RUNNING'] } } }), { timeout: 60_000 })
    .toBe(0)
  return db.run.findMany({ where: { pipelineId: { in: pipelineIds } }, orderBy: [{ queuedAt: 'asc' }, { id: 'asc' }] })
}

describe('a connection limit', () => {
  it('keeps 8 runs requested at once to 2 at a time, in SAP too, and starts them in queue order', async () => {
    h = await Harness.start({ sim: SIM, orchestrator: { concurrency: 8 } })
    const conn = await connection(h, 'sap-2', SAP_USER, SAP_PASSWORD, 2)
    const ids = await pipelines(h, conn, 'p', 8)
    const db = h.app.services.db
    const stopWatching = watchRunning(db)
    const requested = await Promise.all(ids.map((id) => h!.gql(RunPipeline, { id })))
    expect(requested.map((r) => r.runPipeline.status)).toEqual(Array(8).fill('QUEUED'))

    const runs = await endedRuns(db, ids)
    const watched = await stopWatching()
    expect(runs.map((r) => r.status)).toEqual(Array(8).fill('SUCCEEDED'))
    expect(runs.map((r) => r.rowsWritten)).toEqual(Array(8).fill(300n))
    expect(maxOverlap(runs)).toBe(2)
    expect(watched.total).toBeLessThanOrEqual(2)
    const inFlight = h.sim.admin.stats().inFlight
    expect(inFlight.byUser[SAP_USER].max).toBeGreaterThanOrEqual(1)
    expect(inFlight.byUser[SAP_USER].max).toBeLessThanOrEqual(2)
    // Queue order is (queuedAt, id). The runs ahead of a run fill the free slots first, so with two
    // slots no run starts before one queued two places ahead of it (two freed at once may start in
    // either order).
    const overtaken = runs.filter((r, i) => i + 2 < runs.length && r.startedAt! > runs[i + 2].startedAt!)
    expect(overtaken).toEqual([])
  })

  it('shows queued runs their place in the queue, and a raised limit lets the next ones start', async () => {
    h = await Harness.start({ sim: SIM, orchestrator: { concurrency: 8 } })
    const conn = await connection(h, 'sap-1', SAP_USER, SAP_PASSWORD, 1)
    const ids = await pipelines(h, conn, 'q', 4)
    const db = h.app.services.db
    // The first run's first page is held in SAP for a while: it stays RUNNING while the test looks.
    h.sim.admin.injectFault({ kind: 'slow', page: 1, delayMs: 10_000 })
    const first = (await h.gql(RunPipeline, { id: ids[0] })).runPipeline
    await expect.poll(() => h!.sim.admin.stats().inFlight.current).toBe(1)
    const rest = []
    for (const id of ids.slice(1)) rest.push((await h.gql(RunPipeline, { id })).runPipeline)
    expect(rest.map((r) => r.queuePosition)).toEqual([1, 2, 3])

    const queued = (await h.gql(QueuedRuns)).runs.edges.map((e) => e.node)
    expect(queued.map((r) => r.id).sort()).toEqual(rest.map((r) => r.id).sort())
    const inOrder = [...queued].sort((a, b) => a.queuePosition! - b.queuePosition!)
    expect(inOrder.map((r) => r.id)).toEqual(rest.map((r) => r.id))
    expect((await h.gql(RunPosition, { id: first.id })).run).toMatchObject({ status: 'RUNNING', queuePosition: null })

    // While the first run is still held: the next two claims see the new limit.
    await h.gql(UpdateConnection, { id: conn, input: { maxConcurrentRuns: 3 } })
    // Waiting claims retry every NO_SLOT_RETRY_MS: the poll must outlast a few of them on a loaded machine.
    await expect.poll(() => db.run.count({ where: { status: 'RUNNING' } }), { timeout: 6 * NO_SLOT_RETRY_MS }).toBe(3)
    expect((await h.gql(RunPosition, { id: first.id })).run?.status).toBe('RUNNING')
    expect((await h.gql(RunPosition, { id: rest[2].id })).run).toMatchObject({ status: 'QUEUED', queuePosition: 1 })

    const runs = await endedRuns(db, ids)
    expect(runs.map((r) => r.status)).toEqual(Array(4).fill('SUCCEEDED'))
    expect((await h.gql(RunPosition, { id: rest[2].id })).run).toMatchObject({ status: 'SUCCEEDED', queuePosition: null })
  })

  it('refuses a limit outside 1 to 64 and changes nothing', async () => {
    h = await Harness.start({ sim: SIM })
    for (const bad of [0, -1, 65]) {
      const err = await h.gqlError(CreateConnection, {
        input: { name: `bad-${bad}`, protocol: 'ODATA', maxConcurrentRuns: bad, odataConfig: { serviceUrl: h.sim.serviceUrl } },
      })
      expect(err.extensions?.code).toBe('BAD_USER_INPUT')
      expect(err.message).toMatch(/maxConcurrentRuns/)
    }
    expect((await h.gql(Connections)).connections).toEqual([])

    const conn = await connection(h, 'sap', SAP_USER, SAP_PASSWORD, 4)
    const err = await h.gqlError(UpdateConnection, { id: conn, input: { name: 'renamed', maxConcurrentRuns: 0 } })
    expect(err.extensions?.code).toBe('BAD_USER_INPUT')
    expect((await h.gql(ConnectionLimit, { id: conn })).connection).toEqual({ id: conn, name: 'sap', maxConcurrentRuns: 4 })

    // Left out: kept. null: no limit.
    expect((await h.gql(UpdateConnection, { id: conn, input: { name: 'renamed' } })).updateConnection.maxConcurrentRuns).toBe(4)
    expect((await h.gql(UpdateConnection, { id: conn, input: { maxConcurrentRuns: null } })).updateConnection.maxConcurrentRuns).toBeNull()
  })
})

describe('the global limit (MAX_CONCURRENT_RUNS)', () => {
  it('holds across connections, and a full connection does not hold back another one', async () => {
    h = await Harness.start({ sim: SIM, orchestrator: { concurrency: 8, maxConcurrentRuns: 2 } })
    const busy = await connection(h, 'sap-busy', SAP_USER, SAP_PASSWORD, 1)
    const free = await connection(h, 'sap-free', OTHER_USER, OTHER_PASSWORD)
    const busyIds = await pipelines(h, busy, 'busy', 3)
    const freeIds = await pipelines(h, free, 'free', 3)
    const db = h.app.services.db
    const stopWatching = watchRunning(db)
    // Queued first: the three runs of the connection that allows one at a time.
    for (const id of [...busyIds, ...freeIds]) await h.gql(RunPipeline, { id })

    const runs = await endedRuns(db, [...busyIds, ...freeIds])
    const watched = await stopWatching()
    expect(runs.map((r) => r.status)).toEqual(Array(6).fill('SUCCEEDED'))
    expect(maxOverlap(runs)).toBe(2)
    expect(maxOverlap(runs.filter((r) => r.connectionId === busy))).toBe(1)
    expect(watched.total).toBeLessThanOrEqual(2)
    expect(watched.byConnection.get(busy) ?? 0).toBeLessThanOrEqual(1)
    const inFlight = h.sim.admin.stats().inFlight
    expect(inFlight.max).toBeLessThanOrEqual(2)
    expect(inFlight.byUser[SAP_USER].max).toBeLessThanOrEqual(1)
    // No head-of-line blocking: a run of the free connection started while the first busy run still ran.
    const firstBusy = runs.find((r) => r.pipelineId === busyIds[0])!
    const firstFree = runs.find((r) => r.pipelineId === freeIds[0])!
    expect(firstFree.startedAt!.getTime()).toBeLessThan(firstBusy.finishedAt!.getTime())
  })
})

// Two services on one SQLite file contend for its single write lock beyond Prisma's transaction
// timeouts under a burst of 20 requests; several processes share PostgreSQL (architecture.md#database).
describe.runIf(TEST_DB === 'postgres')('two services on one PostgreSQL database', () => {
  it('claim 20 runs concurrently without exceeding either limit, each run once', async () => {
    const limits = { concurrency: 10, maxConcurrentRuns: 4 }
    h = await Harness.start({ sim: SIM, orchestrator: limits })
    // A second process in all but name: its own database client, queue, worker id and lost-run sweep.
    second = await startApp({
      dataDir: h.db.dataDir,
      databaseUrl: h.db.databaseUrl,
      log: silentLogger,
      destinations: { objectStore: OBJECT_STORE_FOR_TESTS },
      orchestrator: { staleAfterMs: 30_000, ...limits },
      outbound: TEST_OUTBOUND_OPTIONS,
      localRoots: [h.db.dataDir],
    })
    const a = await connection(h, 'sap-a', SAP_USER, SAP_PASSWORD, 2)
    const b = await connection(h, 'sap-b', OTHER_USER, OTHER_PASSWORD, 3)
    const ids = (await Promise.all([pipelines(h, a, 'a', 10), pipelines(h, b, 'b', 10)])).flat()
    const db = h.app.services.db
    const stopWatching = watchRunning(db)
    // Requested alternately through each service: each offers its own runs, and they race for the slots.
    const services = [h.app.services.orchestrator, second.services.orchestrator]
    await Promise.all(ids.map((id, i) => services[i % 2].requestRun(id, { trigger: 'API' })))

    const runs = await endedRuns(db, ids)
    const watched = await stopWatching()
    expect(runs.map((r) => r.status)).toEqual(Array(20).fill('SUCCEEDED'))
    expect(new Set(runs.map((r) => r.pipelineId)).size).toBe(20)
    expect(new Set(runs.map((r) => r.workerId)).size).toBe(2)
    expect(maxOverlap(runs)).toBe(4)
    expect(maxOverlap(runs.filter((r) => r.connectionId === a))).toBeLessThanOrEqual(2)
    expect(maxOverlap(runs.filter((r) => r.connectionId === b))).toBeLessThanOrEqual(3)
    expect(watched.total).toBeLessThanOrEqual(4)
    expect(watched.byConnection.get(a) ?? 0).toBeLessThanOrEqual(2)
    expect(watched.byConnection.get(b) ?? 0).toBeLessThanOrEqual(3)
    const inFlight = h.sim.admin.stats().inFlight
    expect(inFlight.max).toBeLessThanOrEqual(4)
    expect(inFlight.byUser[SAP_USER].max).toBeLessThanOrEqual(2)
    expect(inFlight.byUser[OTHER_USER].max).toBeLessThanOrEqual(3)
    // Each run read its table once: 300 rows in 3 pages, nothing repeated.
    expect(h.sim.admin.stats().dataPages).toBe(20 * 3)
  })
})

// One service in queue mode: its runs go through BullMQ, where a run refused for lack of a slot
// waits NO_SLOT_RETRY_MS (1 s) as a delayed job unless a run's end promotes it (docs/architecture.md#queue-mode).
describe('queue mode (REDIS_URL)', () => {
  const prefix = testRedisPrefix('limits')
  afterAll(() => deleteRedisKeys(prefix))

  it('starts the next run as soon as one ends, not a retry delay later', async () => {
    const lines: string[] = []
    h = await Harness.start({
      sim: SIM,
      redis: { url: TEST_REDIS_URL, prefix },
      orchestrator: { concurrency: 3 },
      log: createLogger('debug', { write: (line: string) => void lines.push(line) }),
    })
    const conn = await connection(h, 'sap-1', SAP_USER, SAP_PASSWORD, 1)
    const ids = await pipelines(h, conn, 'r', 3)
    for (const id of ids) await h.gql(RunPipeline, { id })

    const runs = await endedRuns(h.app.services.db, ids)
    expect(runs.map((r) => r.status)).toEqual(Array(3).fill('SUCCEEDED'))
    expect(maxOverlap(runs)).toBe(1)
    const byStart = [...runs].sort((a, b) => a.startedAt!.getTime() - b.startedAt!.getTime())
    const gaps = byStart.slice(1).map((r, i) => r.startedAt!.getTime() - byStart[i].finishedAt!.getTime())
    console.info(`queue mode, one slot: ${gaps.join(' ms, ')} ms from a run's end to the next one's start`)
    // The mechanism: the runs after the first were each turned away, then promoted when a run ended …
    const promoted = lines.flatMap((l) => {
      const line = JSON.parse(l) as { msg: string; runIds?: string[] }
      return line.msg.startsWith('a slot freed') ? (line.runIds ?? []) : []
    })
    for (const r of byStart.slice(1)) expect(promoted).toContain(r.id)
    // … and the effect, with room for a busy machine: well inside the 1 s a delayed job would wait.
    for (const gap of gaps) expect(gap).toBeLessThan(900)
  })
})
