/**
 * The API under load, from a process of its own against the service in another (bench/scenarios/
 * server.ts) and the SAP simulator in a third:
 *  1. 200 graphql-ws clients subscribe to one run's progress; delivery latency = receipt time − the
 *     event's `at` (same machine clock), over every update after the first snapshot.
 *  2. 50 concurrent clients repeat `runs(first: 50)` with nested pipeline and connection for a
 *     while: requests/s, p50/p99, and the SQL statements one such request costs.
 *   args: <serviceUrl> <subscribers> <clients> <seconds>
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { createClient } from 'graphql-ws'
import WebSocket from 'ws'
import { GraphQLHttpClient } from '../../src/cli/graphql-client.js'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import { benchScript, percentile, report, ROOT, SERVICE_NODE_FLAGS } from '../lib.js'

const [serviceUrl, subscribers, clients, seconds] = process.argv.slice(2).map((a, i) => (i === 0 ? a : Number(a))) as [
  string,
  number,
  number,
  number,
]

const server = spawn(process.execPath, [...SERVICE_NODE_FLAGS, ...benchScript('scenarios/server')], {
  cwd: ROOT,
  stdio: ['pipe', 'pipe', 'inherit'],
})
const lines = createInterface({ input: server.stdout! })[Symbol.asyncIterator]()
const nextReport = async () => JSON.parse((await lines.next()).value as string)
const ask = async (cmd: string) => (server.stdin!.write(cmd + '\n'), nextReport())
const { url, token } = await nextReport()
const endpoint = `${url}/graphql`
const api = new GraphQLHttpClient(endpoint, token)

try {
  const { createConnection: c } = await api.request(
    `mutation($u: String!) { createConnection(input: { name: "sap", protocol: ODATA, odataConfig: { serviceUrl: $u, sapClient: "100", user: "DEMO", password: "Welcome1!" } }) { id } }`,
    { u: serviceUrl },
  )
  const { createDestination: d } = await api.request(
    `mutation { createDestination(input: { name: "lake", kind: LOCAL, local: { path: "${ROOT}/bench/out/lake" } }) { id } }`,
  )
  const { createPipeline: p } = await api.request(
    `mutation($c: ID!, $d: ID!) { createPipeline(input: { name: "bench", connectionId: $c, destinationId: $d, mode: FULL,
      source: { kind: ODP_ODATA, entitySet: "${SALES_ITEMS}", pageSize: 2000 } }) { id } }`,
    { c: c.id, d: d.id },
  )

  // 1. subscribers: all connected and subscribed before the run starts moving (the simulator is slow per page)
  const { runPipeline: run } = await api.request(`mutation($id: ID!) { runPipeline(id: $id) { id } }`, { id: p.id })
  const latencies: number[] = []
  let messages = 0
  const wsClients = Array.from({ length: subscribers }, () =>
    createClient({
      url: endpoint.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
    }),
  )
  await Promise.all(
    wsClients.map(async (ws) => {
      let first = true
      for await (const msg of ws.iterate({
        query: `subscription($id: ID!) { runProgress(runId: $id) { status stage rowsExtracted at } }`,
        variables: { id: run.id },
      })) {
        const received = Date.now()
        messages++
        const progress = (msg.data as { runProgress: { at: string } } | undefined)?.runProgress
        if (!first && progress) latencies.push(received - Date.parse(progress.at))
        first = false
      }
    }),
  )
  await Promise.all(wsClients.map((ws) => ws.dispose()))
  latencies.sort((a, b) => a - b)

  // 2. runs(first: 50) with nested pipeline and connection, under concurrent clients
  await ask(`seed ${p.id} 500`)
  const RUNS = `{ runs(first: 50) { totalCount edges { node { id status rowsWritten pipeline { name connection { name protocol } } } } } }`
  const before = (await ask('stats')).statements
  await api.request(RUNS)
  const statementsPerRequest = (await ask('stats')).statements - before
  const times: number[] = []
  const deadline = performance.now() + seconds * 1000
  const startedLoad = performance.now()
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now()
        const data = await api.request<{ runs: { edges: unknown[] } }>(RUNS)
        if (data.runs.edges.length !== 50) throw new Error('short page')
        times.push(performance.now() - t)
      }
    }),
  )
  const loadSeconds = (performance.now() - startedLoad) / 1000
  times.sort((a, b) => a - b)
  const stats = await ask('stats')
  report({
    subscribers,
    messages,
    updatesMeasured: latencies.length,
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
    latencyMaxMs: latencies.at(-1),
    clients,
    requests: times.length,
    requestsPerSecond: times.length / loadSeconds,
    requestP50Ms: percentile(times, 50),
    requestP99Ms: percentile(times, 99),
    statementsPerRequest,
    serverPeakRssMiB: stats.peakRssMiB,
  })
} finally {
  await api.close()
  server.stdin!.write('stop\n')
  await new Promise((r) => server.once('exit', r))
}
