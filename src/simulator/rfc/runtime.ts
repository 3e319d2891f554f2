/**
 * What a function-module handler gets and is (a leaf module, so the module lists can import it without
 * an import cycle).
 */
import type { FunctionInterface } from './iface.js'
import type { RfcState } from './state.js'
import type { RfcFault } from './types.js'

export interface CallContext {
  state: RfcState
  /** Logon user, upper case. */
  user: string
  /** Aborted by cancel(), the call timeout or the simulator's close(). */
  signal: AbortSignal
  /** The armed FETCH fault for the package about to be delivered, if any. */
  packageFault(pkg: number): RfcFault | undefined
}

export interface FunctionModule {
  iface: FunctionInterface
  handler(ctx: CallContext, input: Record<string, unknown>): Promise<Record<string, unknown>> | Record<string, unknown>
}

/** A delay that ends early (rejecting with the abort reason) when the call is aborted. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve()
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
