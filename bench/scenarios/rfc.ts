/**
 * The RFC path: N rows through the RFC simulator (in this process: it stands where node-rfc and SAP
 * would, at the function-call layer) → Parquet → local folder, through the orchestrator, once as a
 * table read (RFC_READ_TABLE, key-slice paging) and once as an ODP full load (RODPS_REPL_*).
 * The simulator's own CPU is counted in; the figures are an upper bound on the RFC client's cost.
 *   args: <rows> <pageSize>
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startApp } from '../../src/app.js'
import { isTerminal } from '../../src/orchestrator/status.js'
import { sapSourceFactory } from '../../src/orchestrator/sources.js'
import { startRfcSimulator } from '../../src/simulator/rfc/index.js'
import { OutboundPolicy } from '../../src/net/outbound-policy.js'
import { silentLogger } from '../../src/util/logger.js'
import { peakRssMiB, report } from '../lib.js'

const [rows, pageSize] = process.argv.slice(2).map(Number)
const rfc = await startRfcSimulator({ tables: { ZSD_ITEMS: rows }, odps: { ZSD_ITEMS_CDC: rows }, maxReadTableRows: 10_000_000 })
const dir = await mkdtemp(join(tmpdir(), 'de-bench-rfc-'))
const app = await startApp({
  dataDir: dir,
  log: silentLogger,
  orchestrator: {
    sources: sapSourceFactory({
      rfcClientFactory: (p) => rfc.createClient(p),
      outbound: new OutboundPolicy({ allowLoopback: true, allow: [] }),
    }),
  },
})
try {
  const { connections, destinations, pipelines, orchestrator, bus, db } = app.services
  const c = await connections.create({
    name: 'erp',
    protocol: 'RFC',
    rfcConfig: { ashost: 'localhost', sysnr: '00', client: '100', user: 'DEMO', passwd: 'Welcome1!' },
  })
  const d = await destinations.create({ name: 'lake', kind: 'LOCAL', local: { path: join(dir, 'lake') } })
  const timed = async (name: string, source: Parameters<typeof pipelines.create>[0]['source']) => {
    const p = await pipelines.create({ name, connectionId: c.id, destinationId: d.id, mode: 'FULL', source })
    const events = bus.subscribe({ pipelineId: p.id, kinds: ['status'] })
    const started = performance.now()
    const run = await orchestrator.requestRun(p.id, { trigger: 'MANUAL' })
    for await (const e of events) if (e.runId === run.id && isTerminal(e)) break
    const seconds = (performance.now() - started) / 1000
    const done = await db.run.findUniqueOrThrow({ where: { id: run.id } })
    if (done.status !== 'SUCCEEDED') throw new Error(`${name} ${done.status}: ${done.errorCode} ${done.errorMessage}`)
    return { seconds, rows: Number(done.rowsWritten), parquetBytes: Number(done.bytesWritten) }
  }
  // NETPR, RABAT and ANZPK overflow their RFC_READ_TABLE output slots ('*') by design of the simulator.
  const fields = ['VBELN', 'POSNR', 'MATNR', 'ARKTX', 'KUNNR', 'ERDAT', 'ERZET', 'NETWR', 'WAERK', 'KWMENG', 'VRKME', 'CHANGED_AT']
  const table = await timed('table', { kind: 'TABLE_RFC', table: 'ZSD_ITEMS', fields, pageSize })
  const odp = await timed('odp', { kind: 'ODP_RFC', odpContext: 'ABAP_CDS', odpName: 'ZSD_ITEMS_CDC', pageSize })
  report({ table, odp, peakRssMiB: peakRssMiB() })
} finally {
  await app.stop()
  await rfc.close()
  await rm(dir, { recursive: true, force: true })
}
