/**
 * The function-module registry and one call's path through the simulated system, in the order a real
 * call takes: function lookup (FU_NOT_FOUND), client-side marshalling (node-rfc / SDK checks), network
 * (latency, injected faults), the Note 3255746 gate of the ODP modules, the module itself (or an injected
 * A/X message in its ET_RETURN instead), and the answer (which an injected fault may lose after the
 * server did the work).
 */
import { communicationFailure, dump, functionNotFound, noRfcAuthority, odpAuthorizationError, odpBlockedError } from './errors.js'
import { bapiret, buildOutput, readInput } from './iface.js'
import { CURSOR_LIST_WITHOUT_MODE, ODP_MODULES } from './odp/modules.js'
import { CATALOG_MODULES } from './odp/catalog.js'
import { FIELDINFO_MODULE } from './readTable/fieldInfo.js'
import { READ_TABLE_SIBLINGS, readTableModule } from './readTable/readTable.js'
import type { RfcState } from './state.js'
import { SYSTEM_MODULES } from './system.js'
import type { RfcFault } from './types.js'
import type { CallContext, FunctionModule } from './runtime.js'
import { sleep } from './runtime.js'

const STATIC_MODULES = new Map<string, FunctionModule>(
  [...SYSTEM_MODULES, FIELDINFO_MODULE, ...CATALOG_MODULES, ...ODP_MODULES].map((m) => [m.iface.name, m]),
)

/** The module as this system has it installed (variants decide the read-table family). */
function lookupModule(state: RfcState, name: string): FunctionModule | undefined {
  if (name === 'RFC_READ_TABLE') return readTableModule(name, 512, state.variants.s4ReadTable)
  if (name === CURSOR_LIST_WITHOUT_MODE.iface.name && !state.variants.odpCursorModes) return CURSOR_LIST_WITHOUT_MODE
  if (name === state.variants.readTableModule && name in READ_TABLE_SIBLINGS) return readTableModule(name, READ_TABLE_SIBLINGS[name], false)
  return STATIC_MODULES.get(name)
}

function faultError(fault: RfcFault): unknown {
  return fault.kind === 'dump' ? dump(fault.dumpKey ?? 'TSV_TNEW_PAGE_ALLOC_FAILED') : communicationFailure()
}

export async function dispatch(
  state: RfcState,
  user: string,
  name: string,
  params: Record<string, unknown>,
  signal: AbortSignal,
): Promise<Record<string, unknown>> {
  if (state.closed) throw communicationFailure("partner '127.0.0.1:3300' not reached")
  state.stats.calls++
  state.stats.byFunction[name] = (state.stats.byFunction[name] ?? 0) + 1
  const fm = lookupModule(state, name)
  if (!fm) throw functionNotFound(name)
  const input = readInput(fm.iface, params)

  let lostResponse: RfcFault | undefined
  let returnMessage: RfcFault | undefined
  const fault = state.faults.take(name)
  if (fault?.kind === 'slow') await sleep(fault.delayMs ?? 0, signal)
  else if (fault?.kind === 'return-message') returnMessage = fault
  else if (fault && (fault.kind === 'dump' || fault.lost === 'request')) throw faultError(fault)
  else if (fault) lostResponse = fault

  await sleep(state.callLatencyMs, signal)
  await state.holds.wait(name, input, signal)
  signal.throwIfAborted()
  // the S_RFC check runs before the module; the Note 3255746 gate belongs to the ODP modules themselves
  if (state.deniedFunctions.has(name)) throw noRfcAuthority(user, name)
  if (name.startsWith('RODPS_REPL_') && state.variants.odpBlocked) {
    throw state.variants.odpBlockedAs === 'authorization' ? odpAuthorizationError(user, name) : odpBlockedError()
  }

  // An ET_RETURN answer of type A/X: the module ends before touching the ODQ (B.8 message types)
  if (returnMessage) {
    const type = returnMessage.messageType ?? 'A'
    return buildOutput(fm.iface, input, {
      ET_RETURN: [bapiret(type, 'RODPS_REPL', '090', returnMessage.message ?? `Processing of ${name} terminated (message type ${type})`)],
    })
  }
  const ctx: CallContext = {
    state,
    user,
    signal,
    packageFault: (pkg) => state.faults.take(name, pkg),
  }
  const output = await fm.handler(ctx, input)
  if (lostResponse) throw faultError(lostResponse)
  return buildOutput(fm.iface, input, output)
}
