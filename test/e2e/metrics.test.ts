import { afterEach, describe, expect, it } from 'vitest'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import { TEST_DB } from '../helpers/database.js'
import { Harness } from '../helpers/harness.js'
import { adminQuery } from '../helpers/pg-template.js'
import { sample } from '../helpers/prom-text.js'

const METRICS_TOKEN = 'scrape-secret-0123456789'

describe('metrics and health', () => {
  let h: Harness
  afterEach(() => h?.stop())

  const scrape = async (token = h.adminToken) => {
    const res = await fetch(`${h.app.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })
    expect(res.status).toBe(200)
    return res.text()
  }

  it('counts a real run once, with its rows, its duration, its stages, its SAP requests and its uploads', async () => {
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 120 } } })
    const { pipelineId } = await h.createPipeline({ name: 'sales', pageSize: 50 })
    const before = await scrape()
    const run = await h.run(pipelineId)
    expect(run).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '120' })
    const after = await scrape()

    const succeeded = { status: 'SUCCEEDED', error_code: '', mode: 'DELTA_INIT' }
    expect(sample(after, 'delta_extractor_runs_total', succeeded) - sample(before, 'delta_extractor_runs_total', succeeded)).toBe(1)
    expect(sample(after, 'delta_extractor_rows_written_total')).toBe(Number(run.rowsWritten))
    expect(sample(after, 'delta_extractor_bytes_written_total')).toBe(Number(run.bytesWritten))
    expect(sample(after, 'delta_extractor_run_duration_seconds_count', { status: 'SUCCEEDED', mode: 'DELTA_INIT' })).toBe(1)
    expect(sample(after, 'delta_extractor_stage_duration_seconds_count', { stage: 'EXTRACTING' })).toBe(1)
    // The connection createPipeline made (sap-<name>), by its name; never its URL.
    expect(sample(after, 'delta_extractor_sap_request_duration_seconds_count', { connection: 'sap-sales' })).toBeGreaterThan(0)
    expect(after).not.toContain(h.sim.url)
    // One sample per Parquet file plus the manifest (and the _SUCCESS marker when configured).
    expect(sample(after, 'delta_extractor_upload_duration_seconds_count')).toBeGreaterThanOrEqual(run.filesWritten + 1)
    expect(sample(after, 'delta_extractor_runs_queued')).toBe(0)
    expect(sample(after, 'graphql_envelop_request_duration_count', { operationType: 'mutation', rootField: 'runPipeline' })).toBe(1)
    // Only the GraphQL metrics README lists: the plugin's other defaults cost every request (graphql-metrics.ts).
    expect(after.match(/^# TYPE graphql_\w+/gm)?.sort()).toEqual([
      '# TYPE graphql_envelop_error_result',
      '# TYPE graphql_envelop_phase_parse',
      '# TYPE graphql_envelop_phase_validate',
      '# TYPE graphql_envelop_request_duration',
    ])
  })

  it('refuses /metrics without a token, takes a VIEWER token or METRICS_TOKEN, keeps the Host check; health needs no token', async () => {
    h = await Harness.start({ metrics: { token: METRICS_TOKEN } })
    const viewer = (await h.app.services.tokens.create({ name: 'prometheus', role: 'VIEWER' })).token
    expect((await fetch(`${h.app.url}/metrics`)).status).toBe(401)
    expect((await fetch(`${h.app.url}/metrics`, { headers: { authorization: 'Bearer dex_not_a_token' } })).status).toBe(401)
    expect(await scrape(viewer)).toContain('delta_extractor_runs_queued 0')
    expect(await scrape(METRICS_TOKEN)).toContain('delta_extractor_graphql_subscriptions_open 0')
    const healthz = await fetch(`${h.app.url}/healthz`)
    expect([healthz.status, await healthz.json()]).toEqual([200, { status: 'ok' }])
    // DNS rebinding: a foreign Host is refused before any of these answers.
    const { status } = await rawGet(h.app.url!, '/healthz', 'evil.example')
    expect(status).toBe(421)
  })

  it('/readyz answers 200 while the database answers', async () => {
    h = await Harness.start()
    const ready = await fetch(`${h.app.url}/readyz`)
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready', database: 'ok' }])
  })

  // SQLite is a file this process holds open: there is no server to lose (a closed Prisma client
  // simply reopens it), so the outage is a PostgreSQL one.
  it.skipIf(TEST_DB === 'sqlite')('/readyz answers 503 while PostgreSQL refuses the service, and 200 once it is back', async () => {
    h = await Harness.start()
    const name = new URL(h.db.databaseUrl!).pathname.slice(1)
    // As a failover does: new connections refused, the service's own ended.
    await adminQuery(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`)
    await adminQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}' AND pid <> pg_backend_pid()`)
    try {
      const down = await fetch(`${h.app.url}/readyz`)
      expect([down.status, await down.json()]).toEqual([503, { status: 'unavailable', database: 'unreachable' }])
      // The process itself is up: liveness does not depend on the database.
      expect((await fetch(`${h.app.url}/healthz`)).status).toBe(200)
    } finally {
      await adminQuery(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`)
    }
    expect((await fetch(`${h.app.url}/readyz`)).status).toBe(200)
  })
})

/** A GET with a Host header of the test's choosing (fetch does not let one set it). */
async function rawGet(base: string, path: string, host: string): Promise<{ status: number }> {
  const { request } = await import('node:http')
  const url = new URL(base)
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, headers: { host } }, (res) => {
      res.resume()
      resolve({ status: res.statusCode ?? 0 })
    })
    req.on('error', reject)
    req.end()
  })
}
