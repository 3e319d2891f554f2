/**
 * node-rfc connects natively (SAP's NW RFC SDK opens the socket), so no JavaScript hook sees the
 * connection. What can be done is done before every logon: the host this process connects to is
 * resolved and checked against the outbound policy, and the driver is handed the checked address
 * instead of the name, so a name that resolves elsewhere a moment later (DNS rebinding) is not
 * followed.
 *
 * What this cannot cover: with a SAProuter string only the first router is reached from here (the
 * application server is resolved by the last router); with a message server (mshost), the
 * application servers it hands out are connected to by the SDK without a check.
 */
import { OutboundRefused, type OutboundPolicy } from '../../net/outbound-policy.js'
import { SourceError } from '../errors.js'
import type { RfcClient, RfcClientFactory, RfcConnectionParameters } from './rfc-client.js'

/** Checks where a logon goes and returns the parameters to hand the driver (hosts replaced by checked addresses). */
export type RfcConnectGuard = (params: RfcConnectionParameters) => Promise<RfcConnectionParameters>

export function rfcConnectGuard(policy: OutboundPolicy): RfcConnectGuard {
  const check = async (host: string, port: number): Promise<string> => {
    try {
      return (await policy.resolve(host, port)).address
    } catch (e) {
      if (e instanceof OutboundRefused) throw new SourceError('OUTBOUND_REFUSED', e.message)
      throw new SourceError(
        'SOURCE_UNAVAILABLE',
        `cannot resolve the RFC host ${host} (${(e as { code?: string }).code ?? 'lookup failed'})`,
      )
    }
  }
  return async (p) => {
    const hop = firstRouterHop(p.saprouter)
    if (hop) return { ...p, saprouter: hop.replace(await check(hop.host, hop.port)) }
    // The gateway of instance NN listens on 33NN; the message server on msserv (a number, or a
    // service name only the SDK's /etc/services knows: then no port is known here).
    if (p.ashost) return { ...p, ashost: await check(p.ashost, 3300 + Number(p.sysnr ?? 0)) }
    if (p.mshost) return { ...p, mshost: await check(p.mshost, /^\d+$/.test(p.msserv ?? '') ? Number(p.msserv) : 0) }
    return p
  }
}

/** The first `/H/host[/S/port]` of a SAProuter string: the only host this process connects to itself. */
function firstRouterHop(route: string | undefined): { host: string; port: number; replace(address: string): string } | undefined {
  const m = route ? /^(\/H\/)([^/]+)((?:\/S\/(\d+))?)/i.exec(route) : null
  if (!m || !route) return undefined
  return {
    host: m[2],
    port: m[4] ? Number(m[4]) : 3299,
    replace: (address) => `${m[1]}${address}${m[3]}${route.slice(m[0].length)}`,
  }
}

/** The driver's factory with every logon checked first. */
export function guardedClientFactory(factory: RfcClientFactory, guard: RfcConnectGuard): RfcClientFactory {
  return (params) => new GuardedRfcClient(factory, params, guard)
}

/** Creates the driver's client only at open(), with the checked parameters. */
class GuardedRfcClient implements RfcClient {
  #inner: RfcClient | undefined

  constructor(
    private readonly factory: RfcClientFactory,
    private readonly params: RfcConnectionParameters,
    private readonly guard: RfcConnectGuard,
  ) {}

  get alive(): boolean {
    return this.#inner?.alive ?? false
  }

  get id(): number {
    return this.#inner?.id ?? 0
  }

  async open(): Promise<RfcClient> {
    this.#inner ??= this.factory(await this.guard(this.params))
    await this.#inner.open()
    return this
  }

  close(): Promise<void> {
    return this.#inner?.close() ?? Promise.resolve()
  }

  ping(): Promise<boolean> {
    return this.#inner?.ping() ?? Promise.resolve(false)
  }

  call(functionModule: string, params: Record<string, unknown>, options?: { timeout?: number }): Promise<Record<string, unknown>> {
    if (!this.#inner) return Promise.reject(new SourceError('SOURCE_UNAVAILABLE', 'the RFC connection is not open'))
    return this.#inner.call(functionModule, params, options)
  }

  cancel(): Promise<void> {
    return this.#inner?.cancel() ?? Promise.resolve()
  }

  toJSON(): Record<string, unknown> {
    return { id: this.id, alive: this.alive }
  }
}
