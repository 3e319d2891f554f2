/**
 * The API under load, from a process of its own against the service in another (bench/scenarios/
 * server.ts) and the SAP simulator in a third:
 *  1. 200 graphql-ws clients subscribe to one run's progress; delivery latency = receipt time − the
 *     event's `at` (same machine clock), over every update after the first snapshot.
 *  2. 50 concurrent clients (bench/http-load.ts) repeat each of the dashboard's queries for a while:
 *     requests/s, p50/p99 and the SQL statements one request costs; `runs(first: 50)` with nested
 *     pipeline and connection also against a bare node:http reference over the same database
 *     (bare-runs.ts, a process of its own), alternating, ROUNDS times each, after one unrecorded
 *     warm-up of each side.
 *   args: <serviceUrl> <subscribers> <clients> <seconds>
 */
import { spawn } from 'node:child_process'
import { loadavg } from 'node:os'
import { createInterface } from 'node:readline'
import { createClient } from 'graphql-ws'
import WebSocket from 'ws'
import { GraphQLHttpClient } from '../../src/cli/graphql-client.js'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import { type LoadFigures, type LoadRequest, measureLoad } from '../http-load.js'
import { benchScript, percentile, report, ROOT, SERVICE_NODE_FLAGS } from '../lib.js'

/** The dashboard's history: runs spread over its pipelines (and the one run of part 1). */
const PIPELINES = 10
const RUNS_SEEDED = 500
const ROUNDS = 3
const WARM_UP_SECONDS = 3
const RUNS = `{ runs(first: 50) { totalCount edges { node { id status rowsWritten pipeline { name connection { name protocol } } } } } }`
/** The dashboard's overview: every pipeline with its schedule's next run and its last run. */
const PIPELINES_QUERY = `{ pipelines { id name enabled schedule nextRunAt connection { name }
  lastRun { id status stage queuePosition rowsWritten startedAt finishedAt error { code message } } } }`
/** A run opened from the list: its figures and the first page of its log. */
const RUN_QUERY = `query($id: ID!) { run(id: $id) { id status stage rowsExtracted rowsWritten startedAt finishedAt error { code message }
  pipeline { name } events(first: 50) { totalCount edges { node { id at level stage message } } } } }`

/** What the checks look at in the dashboard's answers. */
type Answer = { runs?: { totalCount: number; edges: unknown[] }; pipelines?: unknown[]; run?: { events: { edges: unknown[] } } | null }

/** Medians over the rounds, and the spread (lowest–highest) of each. */
function summary(figures: LoadFigures[]) {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const of = (k: keyof LoadFigures) => ({
    median: median(figures.map((f) => f[k])),
    low: Math.min(...figures.map((f) => f[k])),
    high: Math.max(...figures.map((f) => f[k])),
  })
  return {
    requestsPerSecond: of('requestsPerSecond'),
    p50Ms: of('p50Ms'),
    p99Ms: of('p99Ms'),
    lastFirstAnswerMs: of('lastFirstAnswerMs'),
    steadyP50Ms: of('steadyP50Ms'),
    steadyP99Ms: of('steadyP99Ms'),
  }
}

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
const { url, token, databaseFile } = await nextReport()
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

  // 2. The dashboard's queries under concurrent clients, runs(first: 50) against the bare reference
  // (bare-runs.ts) over the same SQLite file, alternating, ROUNDS times each.
  const pipelineIds = [p.id]
  for (let i = 1; i < PIPELINES; i++) {
    const { createPipeline: more } = await api.request(
      `mutation($c: ID!, $d: ID!, $n: String!) { createPipeline(input: { name: $n, connectionId: $c, destinationId: $d, mode: FULL,
        source: { kind: ODP_ODATA, entitySet: "${SALES_ITEMS}", pageSize: 2000 } }) { id } }`,
      { c: c.id, d: d.id, n: `bench-${i}` },
    )
    pipelineIds.push(more.id)
  }
  for (const id of pipelineIds) await ask(`seed ${id} ${RUNS_SEEDED / PIPELINES}`)
  const { runs: newest } = await api.request(`{ runs(first: 1) { edges { node { id } } } }`)
  const runId = newest.edges[0].node.id as string
  await ask(`events ${runId} 200`)

  const dashboardQueries = {
    runs: { query: RUNS, variables: {}, ok: (d: Answer) => d?.runs?.edges?.length === 50 && d.runs.totalCount === RUNS_SEEDED + 1 },
    pipelines: { query: PIPELINES_QUERY, variables: {}, ok: (d: Answer) => d?.pipelines?.length === PIPELINES },
    run: { query: RUN_QUERY, variables: { id: runId }, ok: (d: Answer) => d?.run?.events?.edges?.length === 50 },
  }
  const statements: Record<string, number> = {}
  for (const [name, { query, variables }] of Object.entries(dashboardQueries)) {
    const before = (await ask('stats')).statements
    await api.request(query, variables)
    statements[name] = (await ask('stats')).statements - before
  }
  const dashboard = Object.fromEntries(
    Object.entries(dashboardQueries).map(([name, { query, variables, ok }]): [string, LoadRequest] => [
      name,
      {
        path: '/graphql',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${token}` },
        body: () => JSON.stringify({ query, variables }),
        check: (answer) => {
          const { data, errors } = answer as { data?: unknown; errors?: unknown }
          if (errors || !ok(data as Answer)) throw new Error(`unexpected answer: ${JSON.stringify(answer).slice(0, 500)}`)
        },
      },
    ]),
  ) as Record<keyof typeof dashboardQueries, LoadRequest>

  const loadAvg = loadavg()[0]
  const bare = spawn(process.execPath, [...benchScript('scenarios/bare-runs'), databaseFile], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const bareUrl = (
    JSON.parse((await createInterface({ input: bare.stdout! })[Symbol.asyncIterator]().next()).value as string) as { url: string }
  ).url
  // Every client its own operation name: no two requests share an execution (execution-queue.ts),
  // each is run through to the database, as the reference runs each.
  const unshared: LoadRequest = {
    ...dashboard.runs,
    body: (client) => JSON.stringify({ query: `query Client${client} ${RUNS}`, variables: {} }),
  }
  const reference: LoadRequest = { ...dashboard.runs, headers: { 'content-type': 'application/json' } }
  const rounds: Array<{ ours: LoadFigures; unshared: LoadFigures; bare: LoadFigures }> = []
  try {
    // Each side once under the same load, not recorded: the first seconds of a process under load are
    // V8 compiling its hot code, which a service running for days has long done (README Performance).
    for (const side of ['ours', 'unshared', 'bare'] as const)
      await measureLoad(
        side === 'bare' ? bareUrl : url,
        { ours: dashboard.runs, unshared, bare: reference }[side],
        clients,
        WARM_UP_SECONDS,
      )
    for (let i = 0; i < ROUNDS; i++) {
      // Each round in another order, so a change of the machine's load does not favour one side.
      const order = (['ours', 'unshared', 'bare'] as const).map((_, j, all) => all[(i + j) % all.length]!)
      const round = {} as (typeof rounds)[number]
      for (const side of order)
        round[side] = await measureLoad(
          side === 'bare' ? bareUrl : url,
          { ours: dashboard.runs, unshared, bare: reference }[side],
          clients,
          seconds,
        )
      rounds.push(round)
    }
  } finally {
    bare.stdin!.end()
  }
  const pipelinesLoad = await measureLoad(url, dashboard.pipelines, clients, seconds)
  const runLoad = await measureLoad(url, dashboard.run, clients, seconds)

  const stats = await ask('stats')
  report({
    subscribers,
    messages,
    updatesMeasured: latencies.length,
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
    latencyMaxMs: latencies.at(-1),
    clients,
    seconds,
    loadAvgBeforeRequests: loadAvg,
    runs: {
      rounds,
      ours: summary(rounds.map((r) => r.ours)),
      unshared: summary(rounds.map((r) => r.unshared)),
      bare: summary(rounds.map((r) => r.bare)),
      statementsPerRequest: statements.runs,
    },
    pipelines: { ...pipelinesLoad, statementsPerRequest: statements.pipelines, pipelines: PIPELINES },
    runWithEvents: { ...runLoad, statementsPerRequest: statements.run },
    loadAvgAfter: loadavg()[0],
    serverPeakRssMiB: stats.peakRssMiB,
  })
} finally {
  await api.close()
  server.stdin!.write('stop\n')
  await new Promise((r) => server.once('exit', r))
}
