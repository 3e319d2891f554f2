/**
 * One run of a DELTA pipeline in one service process (section h): SAP simulator (another process) →
 * OData → Parquet → local folder, and, by the pipeline's `output.table`, an Iceberg change-log table
 * and a current-state table. `init` creates the pipeline in a fresh data folder and runs its
 * DELTA_INIT; `delta` starts the service again on that folder (a process of its own, so its peak RSS
 * is the delta's, not the initial load's) and runs the next delta. Reports the run's time from
 * requested to finished, the time from its COMMITTING stage to finished (the lake commits happen
 * there), the process's CPU time over the run, its counts and the process's peak RSS; and the time
 * from the run's end until the service has stopped, letting the run's worker finish first: the lake
 * maintenance after the commit (snapshot expiry) runs there, after the run is SUCCEEDED.
 *   args: <serviceUrl> <pageSize> <NONE|ICEBERG|CURRENT> <init|delta> <dataDir>
 */
import { join } from 'node:path'
import { startApp } from '../../src/app.js'
import type { OutputInput } from '../../src/catalog/pipelines.js'
import { isTerminal } from '../../src/orchestrator/status.js'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import { silentLogger } from '../../src/util/logger.js'
import { peakRssMiB, report } from '../lib.js'

const [serviceUrl, pageSize, table, phase, dir] = process.argv.slice(2) as [string, string, string, 'init' | 'delta', string]
const outputs: Record<string, OutputInput> = {
  NONE: { table: 'NONE' },
  ICEBERG: { table: 'ICEBERG' },
  CURRENT: { table: 'ICEBERG', currentState: true },
}
const output = outputs[table]
if (!output) throw new Error(`unknown table kind ${table}: NONE, ICEBERG or CURRENT`)

// Listening like `npm start` does; the simulator runs on this machine (loopback allowed).
const app = await startApp({
  dataDir: dir,
  log: silentLogger,
  listen: { host: '127.0.0.1', port: 0 },
  outbound: { allowLoopback: true, allow: [] },
})
let figures: Record<string, unknown>
try {
  const { connections, destinations, pipelines, orchestrator, bus, db } = app.services
  let pipelineId: string
  if (phase === 'init') {
    const c = await connections.create({
      name: 'sap',
      protocol: 'ODATA',
      odataConfig: { serviceUrl, sapClient: '100', user: 'DEMO', password: 'Welcome1!' },
    })
    const d = await destinations.create({ name: 'lake', kind: 'LOCAL', local: { path: join(dir, 'lake') } })
    const p = await pipelines.create({
      name: 'bench',
      connectionId: c.id,
      destinationId: d.id,
      mode: 'DELTA',
      source: { kind: 'ODP_ODATA', entitySet: SALES_ITEMS, pageSize: Number(pageSize) },
      output,
    })
    pipelineId = p.id
  } else {
    pipelineId = (await db.pipeline.findFirstOrThrow({ where: { name: 'bench' } })).id
  }
  const events = bus.subscribe({ pipelineId, kinds: ['status', 'stage'] })
  const started = performance.now()
  // CPU time of this process over the run as well: on a shared box, others' load stretches the wall
  // time of a run but hardly what it costs in CPU, so the two kinds compare better by it.
  const cpuBefore = process.cpuUsage()
  // When each stage began, as the service publishes it: where a table's cost lands.
  const began = new Map<string, number>()
  const run = await orchestrator.requestRun(pipelineId, { trigger: 'MANUAL' })
  for await (const e of events) {
    if (e.runId !== run.id) continue
    if (!began.has(e.stage)) began.set(e.stage, performance.now())
    if (isTerminal(e)) break
  }
  const finished = performance.now()
  const cpu = process.cpuUsage(cpuBefore)
  const committing = began.get('COMMITTING')
  const marks = [...began.entries(), ['END', finished] as const]
  const stages = Object.fromEntries(marks.slice(0, -1).map(([stage, at], i) => [stage, (marks[i + 1]![1] - at) / 1000]))
  const done = await db.run.findUniqueOrThrow({ where: { id: run.id } })
  if (done.status !== 'SUCCEEDED') throw new Error(`run ${done.status}: ${done.errorCode} ${done.errorMessage}`)
  const expected = phase === 'init' ? 'DELTA_INIT' : 'DELTA'
  if (done.extractionMode !== expected) throw new Error(`the run was a ${done.extractionMode}, not a ${expected}`)
  figures = {
    mode: done.extractionMode,
    seconds: (finished - started) / 1000,
    committingSeconds: committing === undefined ? null : (finished - committing) / 1000,
    stages,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    rows: Number(done.rowsWritten),
    changes: {
      created: Number(done.changesCreated ?? 0),
      updated: Number(done.changesUpdated ?? 0),
      deleted: Number(done.changesDeleted ?? 0),
    },
    parquetBytes: Number(done.bytesWritten),
    files: done.filesWritten,
    snapshotId: done.snapshotId,
  }
} catch (e) {
  await app.stop()
  throw e
}
// A grace long enough for any run: the worker ends the run's after-commit maintenance, as a service does.
const stopping = performance.now()
await app.stop({ graceMs: 600_000 })
report({ ...figures, afterRunSeconds: (performance.now() - stopping) / 1000, peakRssMiB: peakRssMiB() })
