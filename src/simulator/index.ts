/**
 * SAP Gateway ODP OData v2 simulator: the stand-in for SAP in tests, the demo and the benchmark.
 *
 * It serves the service `ZDELTA_DEMO_SRV` under `/sap/opu/odata/sap/` with two delta-capable ODP entity
 * sets and follows docs/sap-protocols.md section A (metadata artefacts, verbose JSON,
 * paging, delta init/fetch, DeltaLinksOf, function imports, errors, auth, CSRF), with switches for the
 * behaviours SAP is known to vary on (`SimulatorVariants`). It imports nothing from the client side of the
 * project, so it cannot agree with a client bug.
 *
 * @example
 * const sim = await startSapSimulator({ rows: { [SALES_ITEMS]: 10_000 } })
 * const res = await fetch(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json`, { headers: { authorization: basic } })
 * await sim.close()
 */
import type { AddressInfo, Socket } from 'node:net'
import { createAdmin } from './admin.js'
import { createSimulatorServer } from './http/server.js'
import { createState } from './state.js'
import type { SapSimulator, SapSimulatorOptions } from './types.js'
import { DEMO_SERVICE } from './types.js'

export type {
  ChangeRef,
  Fault,
  FaultKind,
  RowKey,
  SapRow,
  SapSimulator,
  SapSimulatorOptions,
  SimulatorAdmin,
  SimulatorVariants,
} from './types.js'
export { DEMO_SERVICE, MATERIALS, SALES_ITEMS, TYPES_SET } from './types.js'

/** Starts a simulator on `host:port` (default 127.0.0.1 and a free port) and resolves once it listens. */
export async function startSapSimulator(opts: SapSimulatorOptions = {}): Promise<SapSimulator> {
  const state = createState(opts)
  const admin = createAdmin(state)
  const { server, origin } = createSimulatorServer(state, admin)
  const sockets = new Set<Socket>()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })

  const host = opts.host ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  origin.value = url

  let closing: Promise<void> | undefined
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      state.shutdown.abort()
      state.reads.closeAll()
      server.close(() => resolve())
      for (const socket of sockets) socket.destroy()
    }))

  return { url, serviceUrl: `${url}/sap/opu/odata/sap/${DEMO_SERVICE}`, admin, close }
}
