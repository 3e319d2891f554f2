/**
 * RFC simulator at the function-call layer (docs/sap-protocols.md B.8, C.8, D.3): the RFC wire protocol is
 * proprietary, so the simulated system is reached through a node-rfc-shaped client whose `call()` runs
 * the function modules in-process — RFC_READ_TABLE (and siblings), DDIF_FIELDINFO_GET, RFC_PING,
 * RFC_SYSTEM_INFO and the ODP replication API RODPS_REPL_*. Results and errors have node-rfc's shapes.
 * It imports nothing from the client side of the project, so it cannot agree with a client bug.
 *
 * @example
 * const sim = await startRfcSimulator({ tables: { ZSD_ITEMS: 10_000 } })
 * const client = await sim.createClient({ ashost: 'sim', sysnr: '00', client: '100', user: 'DEMO', passwd: 'Welcome1!' }).open()
 * const { FIELDS, DATA } = await client.call('RFC_READ_TABLE', { QUERY_TABLE: 'ZSD_ITEMS', DELIMITER: '|', ROWCOUNT: 100 })
 * await sim.close()
 */
import { checkVariants, createRfcAdmin } from './admin.js'
import { SimClient } from './client.js'
import { communicationFailure } from './errors.js'
import { createRfcState } from './state.js'
import type { RfcSimulator, RfcSimulatorOptions } from './types.js'

export type {
  ChangeRef,
  RfcConnectionParameters,
  RfcFault,
  RfcFaultKind,
  RfcHold,
  RfcHoldMatch,
  RfcRequestInfo,
  RfcSimulator,
  RfcSimulatorAdmin,
  RfcSimulatorOptions,
  RfcSimulatorVariants,
  RfcSubscriptionInfo,
  RowKey,
  SapRow,
  SimRfcClient,
} from './types.js'
export type { AbapErrorShape, NodeRfcErrorShape, RfcLibErrorShape, RfmPath, SimRfcErrorShape } from './errors.js'
export { ODP_BLOCKED_TEXT } from './errors.js'

/** Starts a simulated SAP system reachable through `createClient(...)`. Nothing listens on a port. */
export async function startRfcSimulator(opts: RfcSimulatorOptions = {}): Promise<RfcSimulator> {
  if (opts.variants) checkVariants(opts.variants)
  const state = createRfcState(opts)
  const admin = createRfcAdmin(state)
  return {
    createClient: (params) => new SimClient(state, params),
    admin,
    close: async () => {
      state.closed = true
      state.connections.open = 0
      for (const ac of state.running) ac.abort(communicationFailure())
      state.running.clear()
    },
  }
}
