import { rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet'
import { securityFromConfig } from '../api/security.js'
import { startApp } from '../app.js'
import type { Config } from '../config.js'
import { SALES_ITEMS, startSapSimulator } from '../simulator/index.js'
import { createLogger } from '../util/logger.js'
import { GraphQLHttpClient } from './graphql-client.js'
import { createRunBar } from './progress-bar.js'

const RUN_FIELDS = `id status stage extractionMode rowsExtracted rowsWritten filesWritten bytesWritten
  changeCounts { created updated deleted } deltaTokenIn deltaTokenOut manifestUri error { code message }`

/**
 * The whole product in one command, on embedded defaults: starts the SAP simulator and the service
 * (SQLite and a local folder under DATA_DIR/demo), creates a connection, destination and DELTA
 * pipeline through the GraphQL API, runs the initial load and, after changing rows in "SAP", a
 * delta, watching both over the runProgress subscription; then shows what landed in the lake.
 */
export async function demo(config: Config, opts: { rows: number; serve: boolean }): Promise<number> {
  const dataDir = resolve(config.DATA_DIR, 'demo')
  await rm(dataDir, { recursive: true, force: true }) // every demo starts from a clean slate
  const sim = await startSapSimulator({ rows: { [SALES_ITEMS]: opts.rows } })
  // The demo's database is new, so the service creates its first admin token; the demo drives the
  // API with it, like any client, and shows it when it keeps serving (for GraphiQL).
  let token: string | undefined
  const app = await startApp({
    dataDir,
    log: createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL),
    listen: { host: opts.serve ? config.HOST : '127.0.0.1', port: opts.serve ? config.PORT : 0 },
    scheduler: false,
    security: securityFromConfig(config),
    onFirstToken: (created) => (token = created.token),
    // Its own SAP simulator listens on this machine; the lake is DATA_DIR/demo/lake (the default root).
    outbound: { allowLoopback: true, allow: [] },
  })
  const api = new GraphQLHttpClient(`${app.url}/graphql`, token!)
  try {
    console.log(`SAP simulator: ${sim.serviceUrl} (${opts.rows.toLocaleString('en')} sales items)`)
    console.log(`GraphQL API:   ${app.url}/graphql\n`)
    const { createConnection: conn } = await api.request(
      `mutation($url: String!) { createConnection(input: { name: "demo-sap", protocol: ODATA,
        odataConfig: { serviceUrl: $url, sapClient: "100", user: "DEMO", password: "Welcome1!" } }) { id } }`,
      { url: sim.serviceUrl },
    )
    const test = (await api.request(`mutation($id: ID!) { testConnection(id: $id) { ok message latencyMs } }`, { id: conn.id }))
      .testConnection
    console.log(`testConnection: ${test.ok ? 'ok' : 'FAILED'} (${test.message}, ${test.latencyMs} ms)`)
    const { createDestination: dest } = await api.request(
      `mutation($path: String!) { createDestination(input: { name: "demo-lake", kind: LOCAL, local: { path: $path } }) { id uri } }`,
      { path: join(dataDir, 'lake') },
    )
    const { createPipeline: pipeline } = await api.request(
      `mutation($c: ID!, $d: ID!) { createPipeline(input: { name: "sales-items", connectionId: $c, destinationId: $d,
        mode: DELTA, source: { kind: ODP_ODATA, entitySet: "${SALES_ITEMS}", pageSize: 10000 } }) { id name } }`,
      { c: conn.id, d: dest.id },
    )
    console.log(`pipeline "${pipeline.name}" → ${dest.uri}\n`)

    const init = await runWithProgress(api, pipeline.id)
    const changes = [sim.admin.insert(SALES_ITEMS, 500), sim.admin.update(SALES_ITEMS, 300), sim.admin.delete(SALES_ITEMS, 100)]
    console.log(`\nchanged rows in SAP: ${changes[0].length} inserted, ${changes[1].length} updated, ${changes[2].length} deleted\n`)
    const delta = await runWithProgress(api, pipeline.id)

    for (const run of [init, delta]) {
      console.log(
        `\n${run.extractionMode}: ${run.status}, ${Number(run.rowsWritten).toLocaleString('en')} rows in ${run.filesWritten} file(s), token ${run.deltaTokenIn ?? '-'} → ${run.deltaTokenOut}`,
      )
      if (run.changeCounts)
        console.log(
          `  changes: ${run.changeCounts.created} created, ${run.changeCounts.updated} updated, ${run.changeCounts.deleted} deleted`,
        )
      console.log(`  manifest: ${run.manifestUri}`)
      if (run.error) console.log(`  error: ${run.error.code} ${run.error.message}`)
    }
    if (delta.manifestUri) await showSample(fileURLToPath(delta.manifestUri))
    if (opts.serve) {
      console.log(`\nserving: open ${app.url}/graphql in a browser (GraphiQL) and put this in its headers editor:`)
      console.log(`  { "Authorization": "Bearer ${token}" }\nCtrl-C stops.`)
      await new Promise<void>((r) => process.once('SIGINT', () => r()))
    }
    return init.status === 'SUCCEEDED' && delta.status === 'SUCCEEDED' ? 0 : 1
  } finally {
    await api.close()
    await app.stop()
    await sim.close()
  }
}

async function runWithProgress(api: GraphQLHttpClient, pipelineId: string) {
  const { runPipeline: run } = await api.request(`mutation($id: ID!) { runPipeline(id: $id) { id extractionMode } }`, { id: pipelineId })
  const bar = createRunBar(run.extractionMode.padEnd(10))
  for await (const msg of api.subscribe(
    `subscription($id: ID!) { runProgress(runId: $id) { status stage rowsExtracted rowsWritten filesWritten bytesWritten } }`,
    { id: run.id },
  ))
    if (msg.data) bar.update(msg.data.runProgress)
  bar.stop()
  return (await api.request(`query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`, { id: run.id })).run
}

async function showSample(manifestPath: string) {
  const manifest = JSON.parse(await (await import('node:fs/promises')).readFile(manifestPath, 'utf8'))
  const first = manifest.files[0]
  if (!first) return
  const file = join(manifestPath, '..', first.path)
  const rows = await parquetReadObjects({ file: await asyncBufferFromFile(file), rowEnd: 6 })
  const columns = new Map<string, { scale?: number; kind?: string }>(manifest.schema.map((c: { name: string }) => [c.name, c]))
  console.log(`\nfirst rows of ${file} (read back with hyparquet):`)
  console.table(rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, display(v, columns.get(k))]))))
  const typeOf = (c: { parquetType: string; logicalType?: string; precision?: number; scale?: number }) =>
    c.logicalType === 'DECIMAL' ? `DECIMAL(${c.precision},${c.scale})` : (c.logicalType ?? c.parquetType)
  console.log(`schema: ${manifest.schema.map((c: { name: string; parquetType: string }) => `${c.name} ${typeOf(c)}`).join(', ')}`)
}

/**
 * A value as the demo table shows it. hyparquet hands DECIMAL columns back as doubles, so they are
 * printed at their scale; the files themselves hold exact decimals (the tests read them with DuckDB).
 */
function display(v: unknown, column: { scale?: number; kind?: string } | undefined): string {
  if (v === null || v === undefined) return 'null'
  if (v instanceof Date) return v.toISOString().slice(0, 10)
  if (column?.kind === 'decimal' && typeof v === 'number') return v.toFixed(column.scale ?? 0)
  if (column?.kind === 'time') {
    const seconds = Math.floor(Number(v) / 1e6)
    return [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60, seconds % 60].map((n) => String(n).padStart(2, '0')).join(':')
  }
  return String(v)
}
