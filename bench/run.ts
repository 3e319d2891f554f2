/**
 * npm run bench [-- --rows 1000000 --big 5000000 --quick --only e2e,memory,partitions --sources]
 *
 * Measures whether the extractor keeps up with SAP, each figure against a reference measured in
 * the same run on the same machine (absolute numbers on a shared 2-core box are noise; ratios are
 * not). Prints a table and writes bench/results.json. Not part of npm test.
 *
 *  a. end to end: simulator (own process) → OData → Parquet → local folder, pages of 50,000
 *  b. the source alone and the Parquet stage alone; end to end as a ratio to the slower one
 *  c. our Parquet writer against DuckDB's on the same rows
 *  d. idle RSS of `npm start` (compiled, and from the sources through tsx); peak RSS of the service
 *     process at --rows and at --big rows
 *  e. 200 graphql-ws subscribers on one run; the dashboard's queries under 50 concurrent clients,
 *     runs(first: 50) against a bare node:http server with hand-written SQL over the same database
 *  f. the RFC path: table read and ODP full load through the RFC simulator → Parquet
 *  g. partitioned loads: a FULL load in 4 key-range partitions against 1, the simulator serving each
 *     extraction request at a fixed rate (as one SAP work process would), so only parallel reads gain
 *  h. lake tables: a DELTA pipeline's DELTA_INIT and its deltas (1 % of the rows each: creates, updates,
 *     deletes through the simulator's admin API) with output.table NONE (the reference), ICEBERG (the
 *     change log) and ICEBERG + currentState, each against NONE; peak RSS of a current-state delta
 *
 * Service processes run the compiled JavaScript, as `npm start` does; `--sources` runs them from the
 * TypeScript sources through the tsx loader instead (how the service ran before, for comparison).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { SALES_ITEMS } from '../src/simulator/index.js'
import { buildBench, idleServiceRss, ROOT, runScenario, startSimulatorProcess } from './lib.js'

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    big: { type: 'string', default: '5000000' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    sources: { type: 'boolean', default: false },
  },
})
if (values.sources) process.env.BENCH_FROM_SOURCES = '1'
// Always: the idle figures compare compiled code with the sources whatever --sources says.
buildBench()
const code = values.sources ? 'sources through tsx' : 'compiled (dist/)'
const rows = values.quick ? 100_000 : Number(values.rows)
const big = values.quick ? 300_000 : Number(values.big)
const PAGE = 50_000
const RESULTS = join(ROOT, 'bench/results.json')
const only = (s: string) => !values.only || values.only.split(',').includes(s)

/** Figures of api.ts (section e): medians and spreads over its rounds, as `summary` there makes them. */
type Spread = { median: number; low: number; high: number }
type Figures = Record<'requestsPerSecond' | 'p50Ms' | 'p99Ms' | 'lastFirstAnswerMs' | 'steadyP50Ms' | 'steadyP99Ms', Spread>
type Load = { requestsPerSecond: number; p50Ms: number; p99Ms: number; statementsPerRequest: number }
type ApiFigures = {
  latencyP50Ms: number
  latencyP99Ms: number
  updatesMeasured: number
  clients: number
  seconds: number
  loadAvgBeforeRequests: number
  loadAvgAfter: number
  runs: {
    rounds: unknown[]
    ours: Figures
    unshared: Figures
    bare: Figures
    statementsPerRequest: number
  }
  pipelines: Load & { pipelines: number }
  runWithEvents: Load
}
type Timed = { seconds: number; rows: number; peakRssMiB: number; parquetBytes?: number }
// With --only, the sections not run keep their figures from the last full run.
const previous: Record<string, unknown> = values.only && existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, 'utf8')) : {}
const results: Record<string, unknown> = {
  ...previous,
  machine: {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadAvgAtStart: loadavg()[0],
  },
  code,
  at: new Date().toISOString(),
  rows,
}
/** Each section carries the time it was measured: with --only, others keep an older run's figures. */
const measured = <T extends object>(r: T) => ({ ...r, measuredAt: new Date().toISOString() })
const table: Array<[string, string, string]> = []
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
/** The target is in MB (10^6 bytes); RSS is measured in MiB. Both, so nobody has to convert. */
const rss = (mib: number) => `${fmt(mib)} MiB = ${fmt((mib * 2 ** 20) / 1e6)} MB`

if (only('e2e')) {
  const sim = await startSimulatorProcess(rows)
  try {
    const e2e = await runScenario<Timed>('e2e.ts', [sim.serviceUrl, String(PAGE)])
    const source = await runScenario<Timed>('source-only.ts', [sim.serviceUrl, String(PAGE)])
    const parquet = await runScenario<Timed>('parquet-only.ts', [sim.serviceUrl, String(PAGE), String(rows)])
    const slower = Math.max(source.seconds, parquet.seconds)
    Object.assign(results, { e2e: measured(e2e), source: measured(source), parquet: measured(parquet), overlap: slower / e2e.seconds })
    table.push(
      ['a. end to end, rows/s', fmt(e2e.rows / e2e.seconds), `${fmt(e2e.seconds, 1)} s for ${fmt(e2e.rows)} rows`],
      ['a. end to end, Parquet MB/s', fmt(e2e.parquetBytes! / 1e6 / e2e.seconds, 1), `${fmt(e2e.parquetBytes! / 1e6, 1)} MB of Parquet`],
      ['a. end to end, peak RSS', rss(e2e.peakRssMiB), 'the service process (API listening, as npm start)'],
      ['b. source alone (HTTP + JSON + types), rows/s', fmt(source.rows / source.seconds), `${fmt(source.seconds, 1)} s`],
      ['b. Parquet alone, rows/s', fmt(parquet.rows / parquet.seconds), `${fmt(parquet.seconds, 1)} s`],
      ['b. overlap: slower stage ÷ end to end', fmt(slower / e2e.seconds, 2), 'target ≥ 0.8 (1.0 = perfect overlap)'],
      ['b. end-to-end time ÷ slower stage time', fmt(e2e.seconds / slower, 2), 'the same, inverted (1.0 = perfect, ≤ 1.25 meets it)'],
    )
  } finally {
    await sim.stop()
  }
}

if (only('duckdb')) {
  type Duck = {
    rows: number
    oursSeconds: number
    oursConvertSeconds: number
    oursEncodeSeconds: number
    duckLoadSeconds: number
    duckCopySeconds: number
    oursBytes: number
    duckBytes: number
    duckThreads: number
  }
  const r = await runScenario<Duck>('parquet-vs-duckdb.ts', [String(rows)])
  const duckTotal = r.duckLoadSeconds + r.duckCopySeconds
  const ratios = {
    ratioToLoadAndCopy: duckTotal / r.oursSeconds,
    ratioToCopyAlone: r.duckCopySeconds / r.oursSeconds,
    encodeRatioToCopy: r.duckCopySeconds / r.oursEncodeSeconds,
  }
  Object.assign(results, { parquetVsDuckdb: measured({ ...r, ...ratios }) })
  table.push(
    ['c. Parquet writer rows/s: ours', fmt(r.rows / r.oursSeconds), `${fmt(r.oursBytes / 2 ** 20, 1)} MiB`],
    ['c. DuckDB appender + COPY TO parquet', fmt(r.rows / duckTotal), `${fmt(r.duckBytes / 2 ** 20, 1)} MiB, ${r.duckThreads} threads`],
    ['c. ratio ours ÷ DuckDB (JS rows → file, both)', fmt(duckTotal / r.oursSeconds, 2), 'target ≥ 0.5'],
    [
      'c. ratio ours ÷ DuckDB COPY alone (its columns already loaded)',
      fmt(r.duckCopySeconds / r.oursSeconds, 2),
      'upper bound, not like for like',
    ],
    [
      'c. … our encode half alone ÷ DuckDB COPY',
      fmt(ratios.encodeRatioToCopy, 2),
      `columns → file on both sides; our convert half ${fmt(r.oursConvertSeconds, 2)} s`,
    ],
  )
}

if (only('memory')) {
  // Idle first, on a quiet machine: each mode twice, alternating, the lower figure kept (a shared box's
  // page cache and load move single readings by a few MiB).
  const idle = {
    compiled: [] as Array<Awaited<ReturnType<typeof idleServiceRss>>>,
    sources: [] as Array<Awaited<ReturnType<typeof idleServiceRss>>>,
  }
  for (let i = 0; i < 2; i++) {
    idle.compiled.push(await idleServiceRss(false))
    idle.sources.push(await idleServiceRss(true))
  }
  const lowest = (a: typeof idle.compiled) => a.reduce((x, y) => (y.rssMiB < x.rssMiB ? y : x))
  const [compiled, sources] = [lowest(idle.compiled), lowest(idle.sources)]
  Object.assign(results, { idle: measured({ compiled, sources }) })
  table.push(
    [
      'd. idle RSS of npm start (compiled JavaScript)',
      rss(compiled.rssMiB),
      `listening after ${fmt(compiled.startSeconds, 1)} s; peak so far ${fmt(compiled.peakRssMiB)} MiB`,
    ],
    [
      'd. idle RSS from the sources (tsx loader)',
      rss(sources.rssMiB),
      `listening after ${fmt(sources.startSeconds, 1)} s; peak so far ${fmt(sources.peakRssMiB)} MiB`,
    ],
  )
  const sim = await startSimulatorProcess(big)
  try {
    const r = await runScenario<Timed>('e2e.ts', [sim.serviceUrl, String(PAGE)])
    const small = (results.e2e as Timed | undefined)?.peakRssMiB
    Object.assign(results, { memoryBig: measured(r) })
    table.push([
      `d. peak RSS at ${fmt(big)} rows`,
      rss(r.peakRssMiB),
      small ? `${rss(small)} at ${fmt(rows)}; target ≤ 300 MB and flat` : 'target ≤ 300 MB and flat',
    ])
  } finally {
    await sim.stop()
  }
}

if (only('api')) {
  // A slow SAP (100 ms a page of 2,000 rows) keeps the run going while subscribers watch it.
  const sim = await startSimulatorProcess(60_000, 100)
  try {
    const r = await runScenario<ApiFigures>('api.ts', [sim.serviceUrl, '200', '50', values.quick ? '3' : '10'])
    const { ours, unshared, bare } = r.runs
    const ratio = ours.requestsPerSecond.median / bare.requestsPerSecond.median
    const unsharedRatio = unshared.requestsPerSecond.median / bare.requestsPerSecond.median
    // The target is per run of the bench, so each round's own p99 ÷ p50 too, not only the medians'.
    const perRound = (r.runs.rounds as Array<{ ours: { p50Ms: number; p99Ms: number } }>).map((x) => x.ours.p99Ms / x.ours.p50Ms)
    const spread = (f: { median: number; low: number; high: number }, digits = 0) =>
      `${fmt(f.median, digits)} (${fmt(f.low, digits)}–${fmt(f.high, digits)})`
    const tail = (f: { p50Ms: number; p99Ms: number }) =>
      `p50 ${fmt(f.p50Ms)} ms, p99 ${fmt(f.p99Ms)} ms (p99/p50 ${fmt(f.p99Ms / f.p50Ms, 1)})`
    Object.assign(results, {
      api: measured({ ...r, runsRatioToBare: ratio, unsharedRatioToBare: unsharedRatio, oursP99OverP50ByRound: perRound }),
    })
    table.push(
      [
        'e. 200 subscribers: delivery p50 / p99',
        `${fmt(r.latencyP50Ms)} / ${fmt(r.latencyP99Ms)} ms`,
        `${fmt(r.updatesMeasured)} updates; target p99 < 100 ms`,
      ],
      [
        `e. runs(first: 50) nested, ${r.clients} clients, the same query, req/s`,
        spread(ours.requestsPerSecond),
        `median (low–high) of ${r.runs.rounds.length} rounds of ${r.seconds} s; p50 ${spread(ours.p50Ms)} ms, p99 ${spread(ours.p99Ms)} ms; every client answered by ${spread(ours.lastFirstAnswerMs)} ms`,
      ],
      [
        'e. … every client its own operation (none shared), req/s',
        spread(unshared.requestsPerSecond),
        `p50 ${spread(unshared.p50Ms)} ms, p99 ${spread(unshared.p99Ms)} ms; ratio to bare ${fmt(unsharedRatio, 2)}, p99 ÷ p50 ${fmt(unshared.p99Ms.median / unshared.p50Ms.median, 1)}`,
      ],
      [
        'e. … bare node:http + hand-written SQL, req/s',
        spread(bare.requestsPerSecond),
        `same rows, same client, alternating; p50 ${spread(bare.p50Ms)} ms, p99 ${spread(bare.p99Ms)} ms; every client answered by ${spread(bare.lastFirstAnswerMs)} ms`,
      ],
      [
        'e. … ratio ours ÷ bare; p99 ÷ p50 (ours)',
        `${fmt(ratio, 2)}; ${fmt(ours.p99Ms.median / ours.p50Ms.median, 1)} (rounds: ${perRound.map((x) => fmt(x, 1)).join(', ')})`,
        `target ≥ 0.3; ≤ 4 (bare: ${fmt(bare.p99Ms.median / bare.p50Ms.median, 1)}); load average ${fmt(r.loadAvgBeforeRequests, 1)} before, ${fmt(r.loadAvgAfter, 1)} after`,
      ],
      [
        'e. … p99 ÷ p50 once every client had its first answer',
        `${fmt(ours.steadyP99Ms.median / ours.steadyP50Ms.median, 1)} (bare ${fmt(bare.steadyP99Ms.median / bare.steadyP50Ms.median, 1)})`,
        `ours p50 ${spread(ours.steadyP50Ms)} ms, p99 ${spread(ours.steadyP99Ms)} ms: the tail without the connections' opening`,
      ],
      ['e. SQL statements per runs(first: 50) request', fmt(r.runs.statementsPerRequest), 'whatever the page size'],
      [
        `e. pipelines (${r.pipelines.pipelines}) with next and last run, req/s`,
        fmt(r.pipelines.requestsPerSecond),
        `${tail(r.pipelines)}; ${r.pipelines.statementsPerRequest} SQL statements`,
      ],
      [
        'e. run by id with 50 of its events, req/s',
        fmt(r.runWithEvents.requestsPerSecond),
        `${tail(r.runWithEvents)}; ${r.runWithEvents.statementsPerRequest} SQL statements`,
      ],
    )
  } finally {
    await sim.stop()
  }
}

if (only('rfc')) {
  type Leg = { seconds: number; rows: number; parquetBytes: number }
  const r = await runScenario<{ table: Leg; odp: Leg; peakRssMiB: number }>('rfc.ts', [String(rows), '20000'])
  Object.assign(results, { rfc: measured(r) })
  table.push(
    ['f. RFC_READ_TABLE → Parquet, rows/s', fmt(r.table.rows / r.table.seconds), `${fmt(r.table.seconds, 1)} s; RFC simulator in-process`],
    ['f. ODP over RFC → Parquet, rows/s', fmt(r.odp.rows / r.odp.seconds), `${fmt(r.odp.seconds, 1)} s; peak RSS ${fmt(r.peakRssMiB)} MiB`],
  )
}

if (only('partitions')) {
  // Each extraction request is held to this rate, as one SAP work process serves it (README,
  // Partitioned loads): low enough that four at once stay well below what one service process takes
  // in on a shared 2-core box (section a), so the gain measured is the partitions' parallelism, not the
  // extractor's own speed. At 50,000 rows/s per request the extractor, not SAP, was the limit.
  const perRead = 2_500
  const sim = await startSimulatorProcess(rows, 0, perRead)
  try {
    const one = await runScenario<Timed>('e2e.ts', [sim.serviceUrl, '10000', '1'])
    const four = await runScenario<Timed>('e2e.ts', [sim.serviceUrl, '10000', '4'])
    const ratio = four.rows / four.seconds / (one.rows / one.seconds)
    const loadAvg = loadavg()[0]
    Object.assign(results, { partitions: measured({ rowsPerSecondPerRead: perRead, one, four, ratio, loadAvgAfter: loadAvg }) })
    table.push(
      ['g. FULL load, 1 partition, rows/s', fmt(one.rows / one.seconds), `SAP simulator serves each request at ${fmt(perRead)} rows/s`],
      ['g. FULL load, 4 partitions, rows/s', fmt(four.rows / four.seconds), `${fmt(four.seconds, 1)} s for ${fmt(four.rows)} rows`],
      ['g. ratio 4 partitions ÷ 1', fmt(ratio, 2), `4 = each partition as fast as the one read; load average ${loadAvg.toFixed(1)} after`],
    )
  } finally {
    await sim.stop()
  }
}

if (only('lake')) {
  /** What lake.ts reports of one run. */
  type LakeRun = Timed & {
    mode: string
    committingSeconds: number | null
    cpuSeconds: number
    /** From the run's end until the service stopped: its after-commit lake maintenance, then the stop itself. */
    afterRunSeconds: number
    changes: { created: number; updated: number; deleted: number }
  }
  // A delta of 1 % of the rows, in the proportions of a day's changes to sales items: mostly updates.
  // Once per kind also one of 10 %: the current-state commit holds the delta's keys while it reads
  // the delta's files back, so its peak RSS is watched at a size where that would show.
  const changesOf = (n: number) => ({ insert: Math.round(n * 0.3), update: Math.round(n * 0.5), delete: Math.round(n * 0.2) })
  const perDelta = Math.max(10, Math.round(rows / 100))
  const perBigDelta = perDelta * 10
  const change = changesOf(perDelta)
  const deltas = 3
  const loadAvgBefore = loadavg()[0]
  // Three rounds (one with --quick), each in another order, so a change of the machine's load does not
  // favour one kind; a kind's figures are the medians of its runs, wall time and the service's CPU time.
  const rounds = values.quick ? 1 : 3
  const kinds = ['NONE', 'ICEBERG', 'CURRENT'] as const
  type Kind = (typeof kinds)[number]
  const lake = Object.fromEntries(kinds.map((k) => [k, { inits: [] as LakeRun[], deltas: [] as LakeRun[] }])) as Record<
    Kind,
    { inits: LakeRun[]; deltas: LakeRun[]; bigDelta?: LakeRun }
  >
  for (let round = 0; round < rounds; round++) {
    for (const kind of kinds.map((_, j, all) => all[(round + j) % all.length]!)) {
      // A simulator of its own for each: the same seed, so the same rows and the same changes for all three.
      const sim = await startSimulatorProcess(rows)
      const dir = await mkdtemp(join(tmpdir(), 'de-bench-lake-'))
      const admin = (what: string, count: number) =>
        fetch(`${new URL(sim.serviceUrl).origin}/sim/admin/entity-sets/${SALES_ITEMS}/${what}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ count }),
        }).then(async (r) => {
          if (!r.ok) throw new Error(`simulator ${what}: ${r.status} ${await r.text()}`)
          await r.arrayBuffer()
        })
      try {
        const run = (phase: 'init' | 'delta') => runScenario<LakeRun>('lake.ts', [sim.serviceUrl, String(PAGE), kind, phase, dir])
        /** Changes the simulator's rows, runs the delta, and checks it read exactly those changes. */
        const delta = async (made: ReturnType<typeof changesOf>) => {
          for (const [what, count] of Object.entries(made)) await admin(what, count)
          const d = await run('delta')
          const c = d.changes
          if (c.created !== made.insert || c.updated !== made.update || c.deleted !== made.delete)
            throw new Error(`${kind}: the delta read ${JSON.stringify(c)}, the simulator changed ${JSON.stringify(made)}`)
          return d
        }
        lake[kind].inits.push(await run('init'))
        for (let i = 0; i < deltas; i++) lake[kind].deltas.push(await delta(change))
        if (round === 0) lake[kind].bigDelta = await delta(changesOf(perBigDelta))
      } finally {
        await sim.stop()
        await rm(dir, { recursive: true, force: true })
      }
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  type Figure = 'seconds' | 'cpuSeconds' | 'committingSeconds' | 'afterRunSeconds' | 'peakRssMiB'
  const of = (k: Kind, phase: 'inits' | 'deltas', f: Figure) => median(lake[k][phase].map((r) => r[f] ?? NaN))
  const ratio = (k: Kind, phase: 'inits' | 'deltas', f: Figure) => of(k, phase, f) / of('NONE', phase, f)
  const ratios = {
    icebergInit: ratio('ICEBERG', 'inits', 'seconds'),
    currentInit: ratio('CURRENT', 'inits', 'seconds'),
    icebergDelta: ratio('ICEBERG', 'deltas', 'seconds'),
    currentDelta: ratio('CURRENT', 'deltas', 'seconds'),
    icebergInitCpu: ratio('ICEBERG', 'inits', 'cpuSeconds'),
    currentInitCpu: ratio('CURRENT', 'inits', 'cpuSeconds'),
    icebergDeltaCpu: ratio('ICEBERG', 'deltas', 'cpuSeconds'),
    currentDeltaCpu: ratio('CURRENT', 'deltas', 'cpuSeconds'),
  }
  const loadAvg = loadavg()[0]
  Object.assign(results, {
    lake: measured({
      rows,
      deltaChanges: change,
      bigDeltaChanges: changesOf(perBigDelta),
      ...lake,
      ratios,
      loadAvgBefore,
      loadAvgAfter: loadAvg,
    }),
  })
  const label = { NONE: 'NONE', ICEBERG: 'ICEBERG change log', CURRENT: 'ICEBERG + currentState' }
  const spread = (xs: number[]) => xs.map((x) => fmt(x, 2)).join(', ')
  for (const phase of ['inits', 'deltas'] as const)
    for (const k of kinds) {
      const runs = lake[k][phase]
      const vsNone = (f: Figure) => (k === 'NONE' ? '' : ` (${fmt(ratio(k, phase, f), 2)}× NONE)`)
      table.push([
        phase === 'inits' ? `h. DELTA_INIT of ${fmt(rows)} rows, ${label[k]}` : `h. delta of ${fmt(perDelta)} changes, ${label[k]}`,
        `${fmt(of(k, phase, 'seconds'), phase === 'inits' ? 1 : 2)} s`,
        `median of ${runs.length} (${spread(runs.map((x) => x.seconds))})${vsNone('seconds')}; CPU ${fmt(of(k, phase, 'cpuSeconds'), 2)} s${vsNone('cpuSeconds')}; ` +
          `COMMITTING ${fmt(of(k, phase, 'committingSeconds'), 2)} s; after the run until stopped ${fmt(of(k, phase, 'afterRunSeconds'), 2)} s; peak RSS ${fmt(Math.max(...runs.map((x) => x.peakRssMiB)))} MiB`,
      ])
    }
  for (const k of kinds) {
    const b = lake[k].bigDelta!
    const none = lake.NONE.bigDelta!
    table.push([
      `h. one delta of ${fmt(perBigDelta)} changes, ${label[k]}`,
      `${fmt(b.seconds, 2)} s`,
      (k === 'NONE' ? '' : `${fmt(b.seconds / none.seconds, 2)}× NONE; `) +
        `CPU ${fmt(b.cpuSeconds, 2)} s; COMMITTING ${fmt(b.committingSeconds ?? NaN, 2)} s; peak RSS ${fmt(b.peakRssMiB)} MiB`,
    ])
  }
  table.push(
    [
      'h. ICEBERG ÷ NONE, run time: DELTA_INIT / delta',
      `${fmt(ratios.icebergInit, 2)} / ${fmt(ratios.icebergDelta, 2)}`,
      `target ≤ 1.3; CPU time ${fmt(ratios.icebergInitCpu, 2)} / ${fmt(ratios.icebergDeltaCpu, 2)}`,
    ],
    [
      'h. currentState ÷ NONE, run time: DELTA_INIT / delta',
      `${fmt(ratios.currentInit, 2)} / ${fmt(ratios.currentDelta, 2)}`,
      `target ≤ 2 for the delta; CPU time ${fmt(ratios.currentInitCpu, 2)} / ${fmt(ratios.currentDeltaCpu, 2)}; load average ${loadAvgBefore.toFixed(1)} before, ${loadAvg.toFixed(1)} after`,
    ],
  )
}

mkdirSync(join(ROOT, 'bench'), { recursive: true })
writeFileSync(RESULTS, JSON.stringify(results, null, 2) + '\n')
const width = Math.max(...table.map((r) => r[0].length))
console.log(
  `\ndelta-extractor benchmark — ${cpus().length} cores, Node ${process.version}, ${code}, ${fmt(rows)} rows (load avg at start ${(results.machine as { loadAvgAtStart: number }).loadAvgAtStart.toFixed(1)}, at the end ${loadavg()[0].toFixed(1)})\n`,
)
for (const [what, value, note] of table) console.log(`${what.padEnd(width)}  ${value.padStart(16)}   ${note}`)
console.log('\nwritten to bench/results.json')
