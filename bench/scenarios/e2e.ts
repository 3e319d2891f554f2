/**
 * End to end in one service process: SAP simulator (another process) → OData client → Parquet →
 * local folder, through the real orchestrator, as a FULL pipeline run. Reports wall time, rows,
 * bytes and the process's peak RSS.
 *   args: <serviceUrl> <pageSize> [partitions]
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startApp } from '../../src/app.js'
import { isTerminal } from '../../src/orchestrator/status.js'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import { silentLogger } from '../../src/util/logger.js'
import { peakRssMiB, report } from '../lib.js'

const [serviceUrl, pageSize, partitions = '1'] = process.argv.slice(2)
const dir = await mkdtemp(join(tmpdir(), 'de-bench-'))
// Listening like `npm start` does: the figures are those of the service as people run it.
// The simulator runs on this machine: loopback is allowed, as ALLOW_LOOPBACK=true would.
const app = await startApp({
  dataDir: dir,
  log: silentLogger,
  listen: { host: '127.0.0.1', port: 0 },
  outbound: { allowLoopback: true, allow: [] },
})
try {
  const { connections, destinations, pipelines, orchestrator, bus, db } = app.services
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
    mode: 'FULL',
    source: { kind: 'ODP_ODATA', entitySet: SALES_ITEMS, pageSize: Number(pageSize), partitions: Number(partitions) },
  })
  const events = bus.subscribe({ pipelineId: p.id, kinds: ['status'] })
  const started = performance.now()
  const run = await orchestrator.requestRun(p.id, { trigger: 'MANUAL' })
  for await (const e of events) if (e.runId === run.id && isTerminal(e)) break
  const seconds = (performance.now() - started) / 1000
  const done = await db.run.findUniqueOrThrow({ where: { id: run.id } })
  if (done.status !== 'SUCCEEDED') throw new Error(`run ${done.status}: ${done.errorCode} ${done.errorMessage}`)
  report({
    seconds,
    rows: Number(done.rowsWritten),
    parquetBytes: Number(done.bytesWritten),
    files: done.filesWritten,
    peakRssMiB: peakRssMiB(),
  })
} finally {
  await app.stop()
  await rm(dir, { recursive: true, force: true })
}
