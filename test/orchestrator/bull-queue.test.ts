/**
 * BullRunQueue alone against the real Redis: what the orchestrator relies on from it
 * (docs/architecture.md#queue-mode) — one job per run however often it is queued, `notBefore`,
 * removal of a run that has not started, a `no-slot` run offered again without failing, and a stop
 * that takes nothing new and waits for the runs in flight.
 */
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeEach, expect, it } from 'vitest'
import { BullRunQueue, RUN_QUEUE_NAME } from '../../src/orchestrator/bull-queue.js'
import { type Handled, NO_SLOT_RETRY_MS } from '../../src/orchestrator/queue.js'
import { silentLogger } from '../../src/util/logger.js'
import { deleteRedisKeys, TEST_REDIS_URL, testRedisPrefix } from '../helpers/redis.js'

const filePrefix = testRedisPrefix('bull-queue')
const queues: BullRunQueue[] = []
const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null })
/** Each test has a queue of its own (a prefix under the file's), read by the test through BullMQ. */
let prefix: string
let inspector: Queue
let tests = 0
beforeEach(() => {
  prefix = `${filePrefix}:t${++tests}`
  inspector = new Queue(RUN_QUEUE_NAME, { connection, prefix })
})

function newQueue(concurrency = 2): BullRunQueue {
  const q = new BullRunQueue({ redisUrl: TEST_REDIS_URL, prefix, concurrency, staleAfterMs: 30_000, log: silentLogger })
  queues.push(q)
  return q
}

/** Records each handler call (run id and time); `answer` decides what it returns, and when. */
function recorder(answer: (runId: string, call: number) => Promise<Handled> | Handled = () => 'done') {
  const calls: Array<{ runId: string; at: number }> = []
  const handler = async (runId: string) => {
    calls.push({ runId, at: Date.now() })
    return answer(runId, calls.filter((c) => c.runId === runId).length)
  }
  return { calls, handler }
}

afterEach(async () => {
  for (const q of queues.splice(0)) await q.stop()
  await inspector.close()
})
afterAll(async () => {
  connection.disconnect()
  await deleteRedisKeys(filePrefix)
})

it('queues a run once however often it is queued, and removes nothing after it ran', async () => {
  const q = newQueue()
  await q.enqueue('run-a')
  await q.enqueue('run-a')
  await q.enqueue('run-a')
  expect(await inspector.getJobCounts('wait', 'delayed', 'active')).toEqual({ wait: 1, delayed: 0, active: 0 })
  const job = await inspector.getJob('run-a')
  expect(job?.data).toEqual({ runId: 'run-a' }) // ids only: the database holds the run
  const { calls, handler } = recorder()
  q.start(handler)
  await expect.poll(() => calls.length).toBe(1)
  // Completed jobs are removed: Redis does not grow with the run history.
  await expect.poll(() => inspector.getJob('run-a')).toBeUndefined()
  expect(calls.map((c) => c.runId)).toEqual(['run-a'])
})

it('holds a run until notBefore; queueing it again without one starts it now', async () => {
  const q = newQueue()
  const { calls, handler } = recorder()
  q.start(handler)
  const notBefore = new Date(Date.now() + 800)
  await q.enqueue('later', notBefore)
  await q.enqueue('much-later', new Date(Date.now() + 600_000))
  expect(await inspector.getJobCounts('delayed')).toEqual({ delayed: 2 })
  await expect.poll(() => calls.map((c) => c.runId)).toEqual(['later'])
  expect(calls[0].at).toBeGreaterThanOrEqual(notBefore.getTime())

  await q.enqueue('much-later') // a retry waiting for its backoff, started by hand
  await expect.poll(() => calls.map((c) => c.runId)).toEqual(['later', 'much-later'])
})

it('removes a run that waits or is delayed; not one that is running, nor an unknown one', async () => {
  const q = newQueue()
  await q.enqueue('run-waiting')
  await q.enqueue('run-delayed', new Date(Date.now() + 600_000))
  expect(await q.remove('run-waiting')).toBe(true)
  expect(await q.remove('run-delayed')).toBe(true)
  expect(await q.remove('unknown')).toBe(false)
  expect(await inspector.getJobCounts('wait', 'delayed')).toEqual({ wait: 0, delayed: 0 })

  let release!: () => void
  const released = new Promise<void>((r) => (release = r))
  const { calls, handler } = recorder(async () => (await released, 'done' as const))
  q.start(handler)
  await q.enqueue('run-running')
  await expect.poll(() => calls.length).toBe(1)
  expect(await q.remove('run-running')).toBe(false)
  release()
})

it('offers a run that found no free slot again about NO_SLOT_RETRY_MS later, without failing it', async () => {
  const q = newQueue()
  const { calls, handler } = recorder((_, call) => (call < 3 ? 'no-slot' : 'done'))
  q.start(handler)
  await q.enqueue('busy')
  await expect.poll(() => calls.length, { timeout: 10_000 }).toBe(3)
  // A failure would have ended it: jobs are never retried by BullMQ (attempts: 1).
  for (let i = 1; i < calls.length; i++) expect(calls[i].at - calls[i - 1].at).toBeGreaterThanOrEqual(NO_SLOT_RETRY_MS - 50)
  await expect.poll(() => inspector.getJob('busy')).toBeUndefined()
})

it('a run whose handler throws is not retried by BullMQ', async () => {
  const q = newQueue()
  const { calls, handler } = recorder(() => {
    throw new Error('boom')
  })
  q.start(handler)
  await q.enqueue('throws')
  await expect.poll(() => inspector.getJob('throws')).toBeUndefined() // failed, and removed
  expect(calls.length).toBe(1)
})

it('stop takes no new run and waits for the runs in flight', async () => {
  const worker = newQueue(2) // a free slot: only the stop keeps it from taking the next run
  let release!: () => void
  const released = new Promise<void>((r) => (release = r))
  const { calls, handler } = recorder(async () => (await released, 'done' as const))
  worker.start(handler)
  await worker.enqueue('in-flight')
  await expect.poll(() => calls.length).toBe(1)

  let stopped = false
  const stopping = worker.stop().then(() => (stopped = true))
  const producer = newQueue()
  await producer.enqueue('after-stop')
  // The drain lasts 300 ms: time enough for a worker that still fetched to take the new run.
  await new Promise((r) => setTimeout(r, 300))
  expect(stopped).toBe(false)
  release()
  await stopping
  expect(calls.map((c) => c.runId)).toEqual(['in-flight'])
  expect(await inspector.getJobCounts('wait')).toEqual({ wait: 1 }) // left for another worker
})
