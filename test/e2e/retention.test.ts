import { readdir } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunStatus } from '../../src/db/client.js'
import { pruneRuns } from '../../src/orchestrator/retention.js'
import { Harness } from '../helpers/harness.js'

const DAY = 24 * 60 * 60 * 1000
const daysAgo = (n: number) => new Date(Date.now() - n * DAY)

describe('run retention', () => {
  let h: Harness
  const ids: Record<string, string> = {}
  let lakeBefore: string[]

  const lakeFiles = async () => (await readdir(h.lakeDir, { recursive: true })).sort()
  /** A run as an earlier release would have left it, with three log lines. */
  async function oldRun(pipelineId: string, status: RunStatus, finishedDaysAgo: number | null): Promise<string> {
    const db = h.app.services.db
    const run = await db.run.create({
      data: {
        pipelineId,
        status,
        extractionMode: 'DELTA',
        trigger: 'SCHEDULE',
        activeKey: status === 'QUEUED' || status === 'RUNNING' ? pipelineId : null,
        queuedAt: daysAgo((finishedDaysAgo ?? 200) + 1),
        finishedAt: finishedDaysAgo === null ? null : daysAgo(finishedDaysAgo),
      },
    })
    await db.runEvent.createMany({ data: [1, 2, 3].map((i) => ({ runId: run.id, level: 'info', stage: 'QUEUED', message: `line ${i}` })) })
    return run.id
  }

  beforeAll(async () => {
    h = await Harness.start({ orchestrator: { sweepEveryMs: 0 } })
    const db = h.app.services.db
    const a = await h.createPipeline({ name: 'a', mode: 'DELTA' })
    const b = await h.createPipeline({ name: 'b', mode: 'FULL' })
    // a: DELTA_INIT, DELTA (the delta state's last committed run), then a one-off FULL (its newest success)
    ids.a1 = (await h.run(a.pipelineId)).id
    ids.a2 = (await h.run(a.pipelineId)).id
    ids.a3 = (await h.run(a.pipelineId, 'FULL')).id
    // b: two FULL runs, the second its newest success
    ids.b1 = (await h.run(b.pipelineId)).id
    ids.b2 = (await h.run(b.pipelineId)).id
    await db.run.updateMany({ data: { finishedAt: daysAgo(200) } })
    ids.aFailed1 = await oldRun(a.pipelineId, 'FAILED', 150)
    ids.aFailed2 = await oldRun(a.pipelineId, 'CANCELLED', 120)
    ids.aPending = await oldRun(a.pipelineId, 'FAILED', 100) // its delta was fetched, not committed: the next run recovers it
    await db.deltaState.update({ where: { pipelineId: a.pipelineId }, data: { pendingRunId: ids.aPending } })
    ids.bRunning = await oldRun(b.pipelineId, 'RUNNING', 300) // active (a stray finishedAt does not make it old)
    ids.bRecent = await oldRun(b.pipelineId, 'FAILED', 10)
    lakeBefore = await lakeFiles()
  })
  afterAll(() => h?.stop())

  it('deletes old ended runs with their events, in batches, keeping active runs, each pipeline’s last success and the runs the delta state points to; lake files stay', async () => {
    const db = h.app.services.db
    const deltaState = await db.deltaState.findFirstOrThrow()
    expect(deltaState.lastCommittedRunId).toBe(ids.a2)
    const eventsOf = (runIds: string[]) => db.runEvent.count({ where: { runId: { in: runIds } } })
    const pruned = ['a1', 'b1', 'aFailed1', 'aFailed2'].map((k) => ids[k])
    expect(await eventsOf(pruned)).toBeGreaterThan(4 * 3)

    expect(await pruneRuns(db, { days: 0 })).toEqual({ runs: 0, batches: 0 }) // 0 = keep forever
    expect(await pruneRuns(db, { days: 90, batchSize: 2 })).toEqual({ runs: 4, batches: 2 })

    const left = (await db.run.findMany({ select: { id: true } })).map((r) => r.id).sort()
    const kept = ['a2', 'a3', 'b2', 'aPending', 'bRunning', 'bRecent'].map((k) => ids[k])
    expect(left).toEqual([...kept].sort())
    expect(await eventsOf(pruned)).toBe(0)
    expect(await eventsOf(kept)).toBeGreaterThan(0)
    expect(await db.deltaState.findFirstOrThrow()).toMatchObject({ lastCommittedRunId: ids.a2, pendingRunId: ids.aPending })
    expect(await lakeFiles()).toEqual(lakeBefore)
    expect(lakeBefore.filter((f) => f.endsWith('manifest.json'))).toHaveLength(5)

    expect(await pruneRuns(db, { days: 90, batchSize: 2 })).toEqual({ runs: 0, batches: 0 })
  })

  it('two instances pruning at once delete each run once and fail nothing', async () => {
    const db = h.app.services.db
    const pipelineId = (await db.pipeline.findFirstOrThrow({ where: { name: 'b' } })).id
    const old = await Promise.all(Array.from({ length: 7 }, () => oldRun(pipelineId, 'FAILED', 365)))
    const [one, two] = await Promise.all([pruneRuns(db, { days: 90, batchSize: 2 }), pruneRuns(db, { days: 90, batchSize: 2 })])
    expect(one.runs + two.runs).toBe(old.length)
    expect(await db.run.count({ where: { id: { in: old } } })).toBe(0)
    expect(await db.runEvent.count({ where: { runId: { in: old } } })).toBe(0)
  })
})
