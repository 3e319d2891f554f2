/**
 * Two instances of one deployment (one database, one Redis, separate database clients and
 * processes' worth of state): progress, cancels and token revokes of runs on one instance reach
 * the other through Redis (docs/architecture.md#progress).
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { print } from 'graphql'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import { graphql } from '../gql/index.js'
import { TEST_DB } from '../helpers/database.js'
import { FaultProxy, type Matcher } from '../helpers/fault-proxy.js'
import { Harness, wsClient } from '../helpers/harness.js'
import { TcpGate } from '../helpers/tcp-gate.js'

const execFileAsync = promisify(execFile)
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
/** Its own prefix per file and per run: the sqlite and postgres projects may run this file at once. */
const PREFIX = `dex-test-bus-${randomBytes(4).toString('hex')}`
const PROGRESS_CHANNEL = `${PREFIX}:progress`

const RunPipeline = graphql(`
  mutation BusRunPipeline($id: ID!) { runPipeline(id: $id) { id status } }
`)
const CancelRun = graphql(`
  mutation BusCancelRun($id: ID!) { cancelRun(id: $id) { id status error { code } } }
`)
const RunProgress = graphql(`
  subscription BusProgress($runId: ID!) { runProgress(runId: $runId) { status stage rowsExtracted rowsWritten } }
`)
const RunUpdates = graphql(`
  subscription BusRunUpdates($pipelineId: ID) { runUpdates(pipelineId: $pipelineId) { id status stage } }
`)
const RunEventLines = graphql(`
  subscription BusRunEvents($runId: ID!) { runEvents(runId: $runId) { message } }
`)
const CreateToken = graphql(`
  mutation BusCreateToken($name: String!) { createApiToken(name: $name, role: VIEWER) { token apiToken { id } } }
`)
const RevokeToken = graphql(`
  mutation BusRevokeToken($id: ID!) { revokeApiToken(id: $id) { id revokedAt } }
`)

const STAGES = ['QUEUED', 'CONNECTING', 'EXTRACTING', 'TRANSFORMING', 'UPLOADING', 'COMMITTING', 'DONE']
/** A data page of the entity set (not $metadata). */
const isDataPage: Matcher = (r) => r.path.endsWith(`/${SALES_ITEMS}`)
/** The heartbeat (and its cancel-flag read) is kept out of these tests: only Redis can carry a cancel. */
const NO_HEARTBEAT = { staleAfterMs: 3_600_000, timing: { persistEveryMs: 600_000 } }

// Several instances on one database is a PostgreSQL deployment; two clients of one SQLite file in one
// process can block each other (see test/e2e/scheduler.test.ts).
describe.skipIf(TEST_DB === 'sqlite')('two instances sharing Redis', () => {
  let a: Harness
  let b: Harness
  let proxy: FaultProxy
  let counter: Redis
  let admin: Redis
  /** Every message on the progress channel, as Redis delivered it to a third subscriber. */
  const published: Array<{ runId: string; kind: string }> = []
  let pipelineId: string

  beforeAll(async () => {
    const redis = { url: REDIS_URL, prefix: PREFIX }
    // A is the API of a queue-mode deployment (it takes no run), B its worker: every run is B's.
    a = await Harness.start({
      sim: { rows: { [SALES_ITEMS]: 2_000 }, latencyMs: 40 },
      redis,
      orchestrator: { ...NO_HEARTBEAT, work: false },
      security: { mutationsPerMinute: 0, subscriptions: { perSocket: 0, perToken: 0, socketsPerToken: 0 } },
    })
    b = await Harness.start({ peerOf: a, redis, orchestrator: NO_HEARTBEAT })
    proxy = await FaultProxy.start(() => Number(new URL(a.sim.serviceUrl).port))
    ;({ pipelineId } = await a.createPipeline({ pageSize: 100, serviceUrl: proxy.url + new URL(a.sim.serviceUrl).pathname }))
    counter = new Redis(REDIS_URL)
    admin = new Redis(REDIS_URL)
    counter.on('message', (_channel: string, text: string) => {
      const { event } = JSON.parse(text) as { event: { runId: string; kind: string } }
      published.push(event)
    })
    await counter.subscribe(PROGRESS_CHANNEL)
  })
  afterAll(async () => {
    counter?.disconnect()
    admin?.disconnect()
    await b?.stop()
    await a?.stop()
    await proxy?.close()
  })

  /** Starts a run on B and holds its first data page until the test lets it go. */
  async function heldRunOnB() {
    // The previous test's run may still be finishing after its release: one run per pipeline at a time.
    await expect.poll(() => a.app.services.db.run.count({ where: { pipelineId, activeKey: { not: null } } }), { timeout: 20_000 }).toBe(0)
    const page = proxy.holdAnswer(isDataPage)
    const { runPipeline } = await b.gql(RunPipeline, { id: pipelineId })
    await page.arrived
    return { runId: runPipeline.id, release: page.release }
  }

  it('runProgress on A follows a run B executes: snapshot first, stages in order, counters never back, the final count', async () => {
    const { runId, release } = await heldRunOnB()
    const progress = a.subscribe(RunProgress, { runId })
    const first = (await progress.next()).value!.data!.runProgress
    expect(first).toMatchObject({ status: 'RUNNING', rowsExtracted: '0' }) // the snapshot, read while the run is held
    release()
    const messages = [first]
    for await (const msg of progress) messages.push(msg.data!.runProgress)

    const run = await a.app.services.db.run.findUniqueOrThrow({ where: { id: runId } })
    expect(run.workerId).toBe(b.app.services.orchestrator.workerId)
    const last = messages.at(-1)!
    expect(last).toMatchObject({ status: 'SUCCEEDED', stage: 'DONE', rowsExtracted: '2000', rowsWritten: '2000' })
    expect(last.rowsExtracted).toBe(String(run.rowsExtracted))
    const stages = messages.map((m) => STAGES.indexOf(m.stage))
    expect(stages).toEqual([...stages].sort((x, y) => x - y))
    // nothing skipped between the snapshot and the stream: every stage after the snapshot's
    expect(new Set(messages.map((m) => m.stage))).toEqual(new Set(STAGES.slice(STAGES.indexOf(first.stage))))
    const rows = messages.map((m) => Number(m.rowsExtracted))
    expect(rows).toEqual([...rows].sort((x, y) => x - y))
    // B persists no counters meanwhile (no heartbeat): these came from B's events, through Redis
    expect(new Set(messages.filter((m) => m.stage === 'EXTRACTING').map((m) => m.rowsExtracted)).size).toBeGreaterThanOrEqual(5)
  })

  it("runUpdates on A streams the status and stage changes of B's runs", async () => {
    const updates = a.subscribe(RunUpdates, { pipelineId })
    // Live once it has carried a whole run (websocket set-up is lazy); next() by hand, a for-await exit would end it.
    const warmUp = await heldRunOnB()
    warmUp.release()
    for (let u; (u = (await updates.next()).value?.data?.runUpdates), !(u?.id === warmUp.runId && u.status === 'SUCCEEDED'); );

    const { runPipeline } = await b.gql(RunPipeline, { id: pipelineId })
    const seen: string[] = []
    for await (const msg of updates) {
      const u = msg.data!.runUpdates
      if (u.id !== runPipeline.id) continue
      seen.push(`${u.status}/${u.stage}`)
      if (u.status === 'SUCCEEDED') break
    }
    expect(seen).toEqual([
      'QUEUED/QUEUED',
      'RUNNING/CONNECTING',
      'RUNNING/EXTRACTING',
      'RUNNING/TRANSFORMING',
      'RUNNING/UPLOADING',
      'RUNNING/COMMITTING',
      'SUCCEEDED/DONE',
    ])
  })

  it('200 subscribers on A to one run of B cost one Redis message per update', async () => {
    a.sim.admin.insert(SALES_ITEMS, 1_000) // a delta with pages, so counters move too
    const { runId, release } = await heldRunOnB()
    const clients = Array.from({ length: 4 }, () => wsClient(a.app, a.adminToken))
    const streams = Array.from({ length: 200 }, (_, i) =>
      clients[i % clients.length].iterate({ query: print(RunProgress), variables: { runId } }),
    )
    // Every subscriber has its snapshot before the held page goes on, so all of them follow the whole run.
    const firsts = await Promise.all(streams.map((s) => s.next()))
    expect(firsts.every((f) => !f.done)).toBe(true)
    // Nothing is published while the page is held: what Redis carries from here on is the run's rest.
    // runProgress carries progress events; the channel also rings the run log's doorbells (runEvents').
    const progressOf = (id: string) => published.filter((e) => e.runId === id && e.kind !== 'event')
    const beforeRelease = progressOf(runId).length
    release()
    const received = await Promise.all(
      streams.map(async (s) => {
        let n = 1
        for await (const msg of s) {
          n++
          if ((msg.data?.runProgress as { status: string } | undefined)?.status === 'SUCCEEDED') break
        }
        return n
      }),
    )
    await Promise.all(clients.map((c) => c.dispose()))
    const after = progressOf(runId).slice(beforeRelease)
    expect(after.at(-1)?.kind).toBe('status') // SUCCEEDED: our subscriber had it before A's 200 did
    expect(after.length).toBeGreaterThanOrEqual(4) // EXTRACTING counters … COMMITTING, SUCCEEDED
    // One subscription per process on the channel (A, B and this test's), however many subscribers A has,
    const [, subscribers] = (await admin.pubsub('NUMSUB', PROGRESS_CHANNEL)) as [string, number]
    expect(Number(subscribers)).toBe(3)
    // and each of those messages reached all 200: each got its snapshot plus exactly one message per update.
    expect(received).toEqual(received.map(() => 1 + after.length))
    console.info(
      `200 subscribers: ${after.length} Redis messages after the snapshots, ${received.reduce((x, y) => x + y)} messages to clients`,
    )
  })

  it("cancelRun on A stops B's run through Redis, well before any heartbeat could", async () => {
    const { runId, release } = await heldRunOnB()
    try {
      expect(b.app.services.orchestrator.isRunningHere(runId)).toBe(true)
      const started = performance.now()
      const { cancelRun } = await a.gql(CancelRun, { id: runId })
      const elapsedMs = performance.now() - started
      console.info(`cancel on A → B's run CANCELLED in ${Math.round(elapsedMs)} ms`)
      // cancelRun waits for the run's terminal status on the bus (up to 5 s): CANCELLED means B stopped and said so.
      expect(cancelRun).toMatchObject({ id: runId, status: 'CANCELLED', error: { code: 'CANCELLED' } })
      // The promise is 2 s; twice that for a noisy shared machine. The heartbeat is 10 minutes away.
      expect(elapsedMs).toBeLessThan(4_000)
      await expect.poll(() => b.app.services.orchestrator.isRunningHere(runId), { timeout: 2_000, interval: 20 }).toBe(false)
    } finally {
      release()
    }
  })

  it("a token revoked on A is dropped by B at once and B's streams of it end", async () => {
    const { createApiToken } = await a.gql(CreateToken, { name: `viewer-${randomBytes(3).toString('hex')}` })
    const viewerOnB = wsClient(b.app, createApiToken.token)
    const { runId, release } = await heldRunOnB()
    try {
      const progress = viewerOnB.iterate({ query: print(RunProgress), variables: { runId } })
      expect((await progress.next()).done).toBe(false) // the snapshot: B serves the viewer's stream
      // B has the token cached (authenticated just now): only a message can make it forget within RECHECK_MS (5 s).
      expect(await b.app.services.tokens.authenticate(createApiToken.token)).toBeDefined()
      await a.gql(RevokeToken, { id: createApiToken.apiToken.id })
      await vi.waitFor(async () => expect(await b.app.services.tokens.authenticate(createApiToken.token)).toBeUndefined(), {
        timeout: 2_000,
        interval: 20,
      })
      // The run is still held: the stream ends because of the revoke, not because the run did.
      const rest = await (async () => {
        try {
          const results = []
          for await (const r of progress) results.push(r)
          return results
        } catch (e) {
          // graphql-ws ends an iterator whose socket closed by throwing the close event
          return (e as { reason?: string }).reason ?? e
        }
      })()
      expect(JSON.stringify(rest)).toMatch(/revoked/)
    } finally {
      release()
      await viewerOnB.dispose()
    }
  })

  it('`delta-extractor token revoke` in another process reaches both instances over Redis: dropped at once, streams end', async () => {
    const { createApiToken } = await a.gql(CreateToken, { name: `cli-revoked-${randomBytes(3).toString('hex')}` })
    const tokenId = createApiToken.apiToken.id
    const viewerOnB = wsClient(b.app, createApiToken.token)
    const revokes: string[] = []
    const listener = new Redis(REDIS_URL)
    listener.on('message', (_channel: string, id: string) => revokes.push(id))
    await listener.subscribe(`${PREFIX}:revoke`)
    const { runId, release } = await heldRunOnB()
    try {
      const progress = viewerOnB.iterate({ query: print(RunProgress), variables: { runId } })
      expect((await progress.next()).done).toBe(false) // B serves the viewer's stream
      // Both have the token cached: without a message neither asks the database again for RECHECK_MS (5 s).
      for (const h of [a, b]) expect(await h.app.services.tokens.authenticate(createApiToken.token)).toBeDefined()

      const cli = await execFileAsync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'token', 'revoke', tokenId], {
        cwd: join(import.meta.dirname, '../..'),
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          DATABASE_URL: a.db.databaseUrl!,
          DATA_DIR: a.db.dataDir,
          REDIS_URL,
          REDIS_PREFIX: PREFIX,
        },
      })
      expect(cli.stdout).toContain(`(id ${tokenId})`)
      // A's and B's subscriptions and this test's heard it; the test's got the token id, as revokeApiToken sends it.
      expect(cli.stderr).toContain(`told 3 running process(es) over Redis (prefix ${PREFIX})`)
      expect(cli.stderr).not.toContain('6379') // the URL is not repeated (it may carry a password)
      await vi.waitFor(() => expect(revokes).toEqual([tokenId]), { timeout: 2_000, interval: 20 })
      for (const h of [a, b])
        await vi.waitFor(async () => expect(await h.app.services.tokens.authenticate(createApiToken.token)).toBeUndefined(), {
          timeout: 2_000,
          interval: 20,
        })
      const rest = await (async () => {
        try {
          const results = []
          for await (const r of progress) results.push(r)
          return results
        } catch (e) {
          return (e as { reason?: string }).reason ?? e
        }
      })()
      expect(JSON.stringify(rest)).toMatch(/revoked/) // the run is still held: the revoke ended the stream
    } finally {
      release()
      listener.disconnect()
      await viewerOnB.dispose()
    }
  })

  it('A resubscribes after Redis drops its subscriber connection, and progress flows again', async () => {
    const list = (await admin.client('LIST')) as string
    const id = list
      .split('\n')
      .find((l) => l.includes(`name=${PREFIX}-subscriber`))
      ?.match(/^id=(\d+)/)?.[1]
    expect(id).toBeDefined()
    // Only this file's connections carry its prefix: other tests on the same Redis are not touched.
    const killed = list.split('\n').filter((l) => l.includes(`name=${PREFIX}-subscriber`))
    expect(killed).toHaveLength(2) // A's and B's
    await admin.client('KILL', 'ID', id!)
    await vi.waitFor(async () => expect(Number(((await admin.pubsub('NUMSUB', PROGRESS_CHANNEL)) as [string, number])[1])).toBe(3), {
      timeout: 10_000,
      interval: 50,
    })
    const { runId, release } = await heldRunOnB()
    const progress = a.subscribe(RunProgress, { runId })
    await progress.next()
    release()
    let last: string | undefined
    for await (const msg of progress) last = msg.data!.runProgress.status
    expect(last).toBe('SUCCEEDED')
  })

  it('runUpdates on an instance cut off from Redis while a run ends sends the run as stored once it is back, once', async () => {
    const redisAt = new URL(REDIS_URL)
    const gate = await TcpGate.start({ host: redisAt.hostname, port: Number(redisAt.port || 6379) })
    const c = await Harness.start({
      peerOf: a,
      redis: { url: `redis://127.0.0.1:${gate.port}`, prefix: PREFIX },
      orchestrator: { ...NO_HEARTBEAT, work: false },
    })
    const updates = c.subscribe(RunUpdates, { pipelineId })
    /** The next update of run `id` on C, the others skipped; fails loudly when none comes. */
    const nextOf = async (id: string) => {
      const deadline = AbortSignal.timeout(20_000)
      for (;;) {
        const next = await Promise.race([
          updates.next(),
          new Promise<never>((_, reject) => deadline.addEventListener('abort', () => reject(new Error(`no update of run ${id} on C`)))),
        ])
        const u = next.value?.data?.runUpdates
        if (next.done || !u) throw new Error(`runUpdates on C ended: ${JSON.stringify(next.value)}`)
        if (u.id === id) return `${u.status}/${u.stage}`
      }
    }
    try {
      const { runId, release } = await heldRunOnB()
      // C hears B's run up to where it is held (the subscription is live and has nothing pending), then
      // is cut off while the run goes on and ends.
      const db = a.app.services.db
      const held = await db.run.findUniqueOrThrow({ where: { id: runId } })
      expect(held.status).toBe('RUNNING')
      while ((await nextOf(runId)) !== `RUNNING/${held.stage}`);
      gate.shut()
      release()
      await expect
        .poll(async () => (await db.run.findUniqueOrThrow({ where: { id: runId } })).status, { timeout: 20_000 })
        .toBe('SUCCEEDED')
      gate.open()
      // Every event after the cut was lost to C: only the resync's read of the database can say this.
      expect(await nextOf(runId)).toBe('SUCCEEDED/DONE')

      // The stream goes on, live: the next run's changes all arrive, and the ended run is not sent again.
      const { runPipeline } = await b.gql(RunPipeline, { id: pipelineId })
      const seen: string[] = []
      for (let u = ''; !u.startsWith('SUCCEEDED'); ) {
        const next = (await updates.next()).value!.data!.runUpdates
        u = `${next.status}/${next.stage}`
        seen.push(next.id === runId ? `ended run again: ${u}` : u)
      }
      expect(seen).toEqual([
        'QUEUED/QUEUED',
        'RUNNING/CONNECTING',
        'RUNNING/EXTRACTING',
        'RUNNING/TRANSFORMING',
        'RUNNING/UPLOADING',
        'RUNNING/COMMITTING',
        'SUCCEEDED/DONE',
      ])
      expect(runPipeline.status).toBe('QUEUED')
    } finally {
      await updates.return?.()
      await c.stop()
      await gate.close()
    }
  })

  it('streams on an instance cut off from Redis while the run ends still end, with the run as stored', async () => {
    const redisAt = new URL(REDIS_URL)
    const gate = await TcpGate.start({ host: redisAt.hostname, port: Number(redisAt.port || 6379) })
    // A third instance, API only, whose every Redis connection goes through the gate.
    const c = await Harness.start({
      peerOf: a,
      redis: { url: `redis://127.0.0.1:${gate.port}`, prefix: PREFIX },
      orchestrator: { ...NO_HEARTBEAT, work: false },
    })
    try {
      a.sim.admin.insert(SALES_ITEMS, 500) // rows to count, whichever run of the pipeline this is
      const { runId, release } = await heldRunOnB()
      const progress = c.subscribe(RunProgress, { runId })
      expect((await progress.next()).value!.data!.runProgress).toMatchObject({ status: 'RUNNING', rowsExtracted: '0' })
      const lines = c.subscribe(RunEventLines, { runId })
      expect((await lines.next()).value!.data!.runEvents.message).toMatch(/^run started/)

      // C is cut off while the run goes on and ends: every event of its rest, the terminal one
      // included, is published while C cannot hear it.
      gate.shut()
      release()
      const db = a.app.services.db
      await expect
        .poll(async () => (await db.run.findUniqueOrThrow({ where: { id: runId } })).status, { timeout: 20_000 })
        .toBe('SUCCEEDED')
      gate.open()

      const rest: Array<{ status: string; stage: string; rowsExtracted: string; rowsWritten: string }> = []
      for await (const msg of progress) rest.push(msg.data!.runProgress)
      const run = await db.run.findUniqueOrThrow({ where: { id: runId } })
      expect(run.rowsWritten).toBeGreaterThan(0n)
      expect(rest.at(-1)).toEqual({
        status: 'SUCCEEDED',
        stage: 'DONE',
        rowsExtracted: String(run.rowsExtracted),
        rowsWritten: String(run.rowsWritten),
      })
      const messages: string[] = []
      for await (const msg of lines) messages.push(msg.data!.runEvents.message)
      const stored = await db.runEvent.findMany({ where: { runId }, orderBy: { id: 'asc' }, select: { message: true } })
      expect(messages).toEqual(stored.slice(1).map((e) => e.message))
    } finally {
      await c.stop()
      await gate.close()
    }
  })
})
