/**
 * Schedules across instances (docs/architecture.md#retries): two schedulers with their own database
 * clients on one database tick the same due pipelines at the same moment, again and again; each
 * tick must start exactly one run. A tick while a run is active is skipped and says so in that
 * run's log; the next fire time is stored, so it survives restarts, and moves when the schedule does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Scheduler } from '../../src/orchestrator/scheduler.js'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import { silentLogger } from '../../src/util/logger.js'
import { graphql } from '../gql/index.js'
import { TEST_DB } from '../helpers/database.js'
import { FaultProxy } from '../helpers/fault-proxy.js'
import { Harness } from '../helpers/harness.js'

const UpdatePipeline = graphql(`
  mutation SchedulerUpdatePipeline($id: ID!, $input: UpdatePipelineInput!) { updatePipeline(id: $id, input: $input) { id nextRunAt } }
`)
const RunPipeline = graphql(`
  mutation SchedulerRunPipeline($id: ID!) { runPipeline(id: $id) { id } }
`)
const CancelRun = graphql(`
  mutation SchedulerCancelRun($id: ID!) { cancelRun(id: $id) { id status } }
`)

const PIPELINES = 4
const ROUNDS = 12

// Several instances on one database is a PostgreSQL deployment. Two clients of one SQLite file in one
// process block each other (better-sqlite3 waits for the file lock synchronously, so the holder's
// transaction cannot go on), which says nothing about separate processes.
describe.skipIf(TEST_DB === 'sqlite')('the scheduler on two instances sharing one database', () => {
  let a: Harness
  let b: Harness
  let proxy: FaultProxy
  const schedulerOf = (h: Harness) => new Scheduler(h.app.services.db, h.app.services.orchestrator, silentLogger)

  beforeAll(async () => {
    a = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 20 } } })
    b = await Harness.start({ peerOf: a })
    proxy = await FaultProxy.start(() => Number(new URL(a.sim.serviceUrl).port))
  })
  afterAll(async () => {
    await b?.stop()
    await a?.stop()
    await proxy?.close()
  })

  const due = (ids: string[]) =>
    a.app.services.db.pipeline.updateMany({ where: { id: { in: ids } }, data: { nextRunAt: new Date(Date.now() - 1_000) } })
  const untilIdle = (ids: string[]) =>
    expect
      .poll(() => a.app.services.db.run.count({ where: { pipelineId: { in: ids }, activeKey: { not: null } } }), {
        timeout: 30_000,
        interval: 50,
      })
      .toBe(0)

  it('each tick of a due schedule starts exactly one run, however the two instances race for it', async () => {
    const ids: string[] = []
    for (let i = 0; i < PIPELINES; i++) {
      const { pipelineId } = await a.createPipeline({ name: `cron${i}`, mode: 'FULL' })
      await a.gql(UpdatePipeline, { id: pipelineId, input: { schedule: '* * * * *' } })
      ids.push(pipelineId)
    }
    const [sa, sb] = [schedulerOf(a), schedulerOf(b)]
    const startedBy = { a: 0, b: 0 }
    for (let round = 1; round <= ROUNDS; round++) {
      await due(ids)
      const now = new Date()
      const [byA, byB] = await Promise.all([sa.tick(now), sb.tick(now)])
      startedBy.a += byA.length
      startedBy.b += byB.length
      expect(byA.length + byB.length).toBe(PIPELINES)
      const runs = await a.app.services.db.run.groupBy({
        by: ['pipelineId'],
        where: { pipelineId: { in: ids }, trigger: 'SCHEDULE' },
        _count: true,
      })
      expect(runs.map((r) => r._count).sort()).toEqual(ids.map(() => round))
      await untilIdle(ids)
    }
    const ended = await a.app.services.db.run.groupBy({ by: ['status'], where: { pipelineId: { in: ids } }, _count: true })
    expect(ended).toEqual([{ status: 'SUCCEEDED', _count: PIPELINES * ROUNDS }])
    console.info(`${PIPELINES * ROUNDS} ticks: ${startedBy.a} runs started by A, ${startedBy.b} by B`)
  })

  it("a tick while the pipeline's run is still active is skipped, and the run's log says so", async () => {
    const { pipelineId } = await a.createPipeline({
      name: 'busy',
      mode: 'FULL',
      serviceUrl: proxy.url + new URL(a.sim.serviceUrl).pathname,
    })
    await a.gql(UpdatePipeline, { id: pipelineId, input: { schedule: '*/5 * * * *' } })
    const page = proxy.holdAnswer((r) => r.path.endsWith(`/${SALES_ITEMS}`))
    const { runPipeline: active } = await a.gql(RunPipeline, { id: pipelineId })
    try {
      await page.arrived
      await due([pipelineId])
      const now = new Date()
      const tick = (await a.app.services.db.pipeline.findUniqueOrThrow({ where: { id: pipelineId } })).nextRunAt!
      expect(await Promise.all([schedulerOf(a).tick(now), schedulerOf(b).tick(now)])).toEqual([[], []])
      const events = await a.app.services.db.runEvent.findMany({ where: { runId: active.id, message: { contains: 'schedule tick' } } })
      expect(events).toEqual([
        expect.objectContaining({ level: 'warn', message: `schedule tick of ${tick.toISOString()} skipped: this run was still active` }),
      ])
      expect(await a.app.services.db.run.count({ where: { pipelineId } })).toBe(1)
      // the tick is spent: the next one is the schedule's next time, not now again
      const after = await a.app.services.db.pipeline.findUniqueOrThrow({ where: { id: pipelineId } })
      expect(after.nextRunAt!.getTime()).toBeGreaterThan(now.getTime())
    } finally {
      await a.gql(CancelRun, { id: active.id })
      page.release()
    }
  })

  it('an edit of the schedule moves the next fire time; other edits leave it, and a restart keeps it', async () => {
    const { pipelineId } = await a.createPipeline({ name: 'edited', mode: 'FULL' })
    const first = (await a.gql(UpdatePipeline, { id: pipelineId, input: { schedule: '0 3 * * *', timezone: 'UTC' } })).updatePipeline
    expect(new Date(first.nextRunAt!).toISOString()).toMatch(/T03:00:00\.000Z$/)
    const moved = (await a.gql(UpdatePipeline, { id: pipelineId, input: { schedule: '30 4 * * *' } })).updatePipeline
    expect(new Date(moved.nextRunAt!).toISOString()).toMatch(/T04:30:00\.000Z$/)

    // A due tick not yet taken stays due through a rename (rewriting it would skip that tick) and a restart.
    await due([pipelineId])
    const pending = (await a.app.services.db.pipeline.findUniqueOrThrow({ where: { id: pipelineId } })).nextRunAt!
    const renamed = (await b.gql(UpdatePipeline, { id: pipelineId, input: { name: 'edited-renamed' } })).updatePipeline
    expect(new Date(renamed.nextRunAt!)).toEqual(pending)
    await a.restart()
    expect((await a.app.services.db.pipeline.findUniqueOrThrow({ where: { id: pipelineId } })).nextRunAt).toEqual(pending)
    const started = await schedulerOf(a).tick()
    expect(started).toHaveLength(1)
    await untilIdle([pipelineId])
  })
})
