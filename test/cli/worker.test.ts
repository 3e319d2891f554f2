/**
 * `delta-extractor worker` as an operator meets it: without REDIS_URL it refuses and says why; with
 * it, it starts (no API) and says it is ready, without writing the Redis password anywhere; with
 * METRICS_PORT it serves the metrics of the runs it executed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { SALES_ITEMS, type SapSimulator, startSapSimulator } from '../../src/simulator/index.js'
import { sample } from '../helpers/prom-text.js'
import { deleteRedisKeys, TEST_REDIS_URL, testRedisPrefix } from '../helpers/redis.js'
import { ServiceProcess } from '../helpers/service-process.js'

const prefix = testRedisPrefix('worker-cli')
let dataDir: string | undefined
let sim: SapSimulator | undefined
afterEach(async () => {
  await ServiceProcess.killAll()
  await sim?.close()
  sim = undefined
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

it('with METRICS_PORT it serves its own /metrics: a run it executed is counted there, with its rows, stages, SAP requests and uploads', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'de-worker-'))
  sim = await startSapSimulator({ rows: { [SALES_ITEMS]: 1_200 } })
  const metricsToken = 'worker-scrape-0123456789'
  const env = {
    DATA_DIR: dataDir,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: prefix,
    ALLOW_LOOPBACK: 'true',
    SAP_PASSWORD: 'Welcome1!',
    METRICS_TOKEN: metricsToken,
  }
  const file = join(dataDir, 'pipelines.yaml')
  await writeFile(
    file,
    `connections:
  - name: sim
    protocol: ODATA
    odataConfig:
      serviceUrl: ${sim.serviceUrl}
      sapClient: "100"
      user: DEMO
      password: \${SAP_PASSWORD}
destinations:
  - name: lake
    kind: LOCAL
    local: { path: ${join(dataDir, 'lake')} }
pipelines:
  - name: items
    connection: sim
    destination: lake
    mode: FULL
    source: { kind: ODP_ODATA, entitySet: ${SALES_ITEMS}, fields: [VBELN, POSNR, NETWR], pageSize: 500 }
`,
  )
  const applied = await ServiceProcess.once(['apply', file], env)
  expect(applied.code, applied.err).toBe(0)
  const worker = await ServiceProcess.start(['worker'], { ...env, METRICS_PORT: '0', LOG_LEVEL: 'info' }, 'worker ready')
  const { url } = (await worker.waitForLog((l) => l.msg === 'metrics and health listening')) as { url: string }
  const scrape = async () => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${metricsToken}` } })
    expect(res.status).toBe(200)
    return res.text()
  }
  expect((await fetch(url)).status).toBe(401) // the run metrics name connections and destinations: a token is needed
  expect((await fetch(url.replace('/metrics', '/healthz'))).status).toBe(200)
  const before = await scrape()

  // `run` in queue mode queues the run and this worker executes it (the command only follows).
  const ran = await ServiceProcess.once(['run', 'items'], env)
  expect(ran.code, ran.err).toBe(0)
  const after = await scrape()

  const succeeded = { status: 'SUCCEEDED', error_code: '', mode: 'FULL' }
  expect(sample(before, 'delta_extractor_runs_total', succeeded)).toBe(0)
  expect(sample(after, 'delta_extractor_runs_total', succeeded)).toBe(1)
  expect(sample(after, 'delta_extractor_rows_written_total')).toBe(1_200)
  expect(sample(after, 'delta_extractor_run_duration_seconds_count', { status: 'SUCCEEDED', mode: 'FULL' })).toBe(1)
  expect(sample(after, 'delta_extractor_stage_duration_seconds_count', { stage: 'EXTRACTING' })).toBe(1)
  // Three pages of 500 (and the metadata): by the connection's name, never its URL.
  expect(sample(after, 'delta_extractor_sap_request_duration_seconds_count', { connection: 'sim' })).toBeGreaterThanOrEqual(3)
  expect(after).not.toContain(sim.serviceUrl)
  const files = Number(/committed 1200 rows in (\d+) file\(s\)/.exec(ran.out)?.[1])
  expect(files).toBeGreaterThan(0)
  expect(sample(after, 'delta_extractor_upload_duration_seconds_count', { destination: 'lake' })).toBeGreaterThanOrEqual(files + 1) // + manifest
})
