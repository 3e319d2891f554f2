/**
 * `delta-extractor worker` as an operator meets it: without REDIS_URL it refuses and says why; with
 * it, it starts (no API) and says it is ready, without writing the Redis password anywhere.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { deleteRedisKeys, testRedisPrefix } from '../helpers/redis.js'
import { ServiceProcess } from '../helpers/service-process.js'

const prefix = testRedisPrefix('worker-cli')
let dataDir: string | undefined
afterEach(async () => {
  await ServiceProcess.killAll()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
  await deleteRedisKeys(prefix)
})

it('refuses to start without REDIS_URL, and says what to set', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'de-worker-'))
  const refused = ServiceProcess.start(['worker'], { DATA_DIR: dataDir }, 'worker ready')
  await expect(refused).rejects.toThrow(/exited \(2\)[\s\S]*REDIS_URL is not set/)
})

it('starts with REDIS_URL, logs that it is ready, never the password; SIGTERM stops it with exit 0', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'de-worker-'))
  // The test Redis has no password: ioredis warns and goes on, which is all this needs.
  const password = 'hunter2-not-logged'
  const worker = await ServiceProcess.start(
    ['worker'],
    { DATA_DIR: dataDir, REDIS_URL: `redis://:${password}@127.0.0.1:6379`, REDIS_PREFIX: prefix, LOG_LEVEL: 'info' },
    'worker ready',
  )
  const ready = worker.logs.find((l) => l.msg?.startsWith('worker ready'))
  expect(ready).toMatchObject({ redis: 'redis://:***@127.0.0.1:6379', prefix, concurrency: 2 })
  expect(worker.logs.some((l) => l.msg?.includes('GraphQL API listening'))).toBe(false)
  worker.kill('SIGTERM')
  expect(await worker.exited, worker.stderr).toBe(0)
  expect(JSON.stringify(worker.logs) + worker.stderr).not.toContain(password)
})
