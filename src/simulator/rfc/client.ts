/**
 * One simulated RFC connection, behaving like node-rfc 3.x's Client (docs/sap-protocols.md D.2):
 * - a new client is closed; open() logs on; calls over a closed client reject with node-rfc's
 *   'nodeRfcError' "RFM client request over closed connection";
 * - calls on one client are serialised (node-rfc holds a mutex per connection);
 * - cancel() and the per-call `timeout` (seconds) abort the running call, which rejects with RFC_CANCELED;
 *   like node-rfc (connectionCheck), the client stays alive afterwards on a fresh connection, and also
 *   after communication failures, dumps and ABAP messages;
 * - argument checks of node-rfc's TypeScript wrapper reject with TypeErrors.
 */
import { canceledError, closedConnection, communicationFailure, logonFailure, missingHost } from './errors.js'
import { dispatch } from './modules.js'
import { sleep } from './runtime.js'
import type { RfcState } from './state.js'
import type { RfcConnectionParameters, SimRfcClient } from './types.js'

export class SimClient implements SimRfcClient {
  readonly id: number
  private isAlive = false
  private user = ''
  private queue: Promise<unknown> = Promise.resolve()
  private running: AbortController | undefined

  constructor(
    private readonly state: RfcState,
    private readonly params: RfcConnectionParameters,
  ) {
    if (typeof params !== 'object' || params === null) throw new TypeError('Client connection parameters missing')
    this.id = state.nextClientId++
  }

  get alive(): boolean {
    return this.isAlive && !this.state.closed
  }

  async open(): Promise<SimRfcClient> {
    if (this.alive) return this
    const p = this.params
    if (!p.ashost && !p.mshost) throw missingHost()
    const logon = new AbortController()
    await sleep(this.state.callLatencyMs, logon.signal)
    if (this.state.closed) throw communicationFailure("partner '127.0.0.1:3300' not reached")
    if (p.client !== this.state.client) throw logonFailure(`Client ${p.client} is not available in this system`)
    const user = (p.user ?? '').toUpperCase()
    const password = this.state.users.get(user)
    if (password === undefined || password !== p.passwd) throw logonFailure()
    this.user = user
    this.isAlive = true
    const c = this.state.connections
    c.logons++
    c.peak = Math.max(c.peak, ++c.open)
    return this
  }

  async close(): Promise<void> {
    this.running?.abort(canceledError())
    if (this.isAlive && !this.state.closed) this.state.connections.open--
    this.isAlive = false
  }

  async ping(): Promise<boolean> {
    if (!this.alive) throw closedConnection('ping()')
    return true
  }

  call(functionModule: string, params: Record<string, unknown>, options: { timeout?: number } = {}): Promise<Record<string, unknown>> {
    if (arguments.length < 2) return Promise.reject(new TypeError('Please provide remote function module name and parameters as arguments'))
    if (typeof functionModule !== 'string')
      return Promise.reject(new TypeError('First argument (remote function module name) must be an string'))
    if (typeof params !== 'object' || params === null) {
      return Promise.reject(new TypeError('Second argument (remote function module parameters) must be an object'))
    }
    for (const name of Object.keys(params)) {
      if (name.length === 0) return Promise.reject(new TypeError(`Empty RFM parameter name when calling "${functionModule}"`))
      if (!/^[a-zA-Z0-9_]*$/.test(name))
        return Promise.reject(new TypeError(`RFM parameter name invalid: "${name}" when calling "${functionModule}"`))
    }
    const run = this.queue.then(
      () => this.execute(functionModule, params, options.timeout ?? 0),
      () => this.execute(functionModule, params, options.timeout ?? 0),
    )
    this.queue = run.catch(() => undefined)
    return run
  }

  async cancel(): Promise<void> {
    this.running?.abort(canceledError())
  }

  private async execute(fm: string, params: Record<string, unknown>, timeoutSeconds: number): Promise<Record<string, unknown>> {
    if (this.state.closed) throw communicationFailure("partner '127.0.0.1:3300' not reached")
    if (!this.isAlive) throw closedConnection(`invoke() ${fm}`)
    const ac = new AbortController()
    this.running = ac
    this.state.running.add(ac)
    const timer = timeoutSeconds > 0 ? setTimeout(() => ac.abort(canceledError()), timeoutSeconds * 1000) : undefined
    try {
      const aborted = new Promise<never>((_, reject) => {
        if (ac.signal.aborted) reject(ac.signal.reason)
        ac.signal.addEventListener('abort', () => reject(ac.signal.reason), { once: true })
      })
      aborted.catch(() => undefined)
      return await Promise.race([dispatch(this.state, this.user, fm, structuredCloneParams(params), ac.signal), aborted])
    } finally {
      clearTimeout(timer)
      this.state.running.delete(ac)
      if (this.running === ac) this.running = undefined
    }
  }
}

/** The server must never share objects with the caller (node-rfc copies everything into the SDK). */
function structuredCloneParams(params: Record<string, unknown>): Record<string, unknown> {
  const copy = (v: unknown): unknown => {
    if (Buffer.isBuffer(v)) return Buffer.from(v)
    if (Array.isArray(v)) return v.map(copy)
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copy(x)]))
    return v
  }
  return copy(params) as Record<string, unknown>
}
