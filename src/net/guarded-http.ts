import http from 'node:http'
import https from 'node:https'
import { isIP, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { Agent, buildConnector, fetch as undiciFetch } from 'undici'
import type { OutboundPolicy } from './outbound-policy.js'

/**
 * HTTP clients whose every new connection goes through the outbound policy: the name is resolved,
 * every address it resolves to is checked, and the socket is opened to the checked address (TLS
 * still verifies the certificate against the configured name). Pooled keep-alive sockets stay on the
 * address they were checked for; a new socket is checked anew, so DNS rebinding gains nothing.
 */

export type GuardedFetch = typeof fetch & {
  /** Closes the pooled connections; the function is not used afterwards. */
  close(): Promise<void>
}

/** `fetch` (undici's) for the OData client, on a dispatcher that checks each connection. */
export function guardedFetch(policy: OutboundPolicy, opts: { connectTimeoutMs?: number } = {}): GuardedFetch {
  const dispatcher = guardedDispatcher(policy, opts)
  const f = (input: Parameters<typeof undiciFetch>[0], init?: Parameters<typeof undiciFetch>[1]) =>
    undiciFetch(input, { ...init, dispatcher })
  let closing: Promise<void> | undefined
  return Object.assign(f, { close: () => (closing ??= dispatcher.close()) }) as unknown as GuardedFetch
}

/** An undici Agent whose connector resolves and checks the host before connecting. */
function guardedDispatcher(policy: OutboundPolicy, opts: { connectTimeoutMs?: number } = {}): Agent {
  const connect = buildConnector({ timeout: opts.connectTimeoutMs ?? 10_000 })
  return new Agent({
    connect: (options, callback) => {
      const host = options.hostname.replace(/^\[|\]$/g, '')
      const port = Number(options.port) || (options.protocol === 'https:' ? 443 : 80)
      policy.resolve(host, port).then(
        // `host` (the origin) still names the server for SNI and the certificate check.
        ({ address }) => void connect({ ...options, hostname: address }, callback),
        (e: Error) => callback(e, null),
      )
    },
  })
}

type CreateCallback = (err: Error | null, socket?: Duplex) => void

/** http/https agents for the Azure and AWS SDKs; each destination gets its own pair (the SDKs destroy them on close). */
export function guardedAgents(policy: OutboundPolicy): { http: http.Agent; https: https.Agent } {
  return { http: new GuardedHttpAgent(policy, { keepAlive: true }), https: new GuardedHttpsAgent(policy, { keepAlive: true }) }
}

/**
 * Node's Agent lets createConnection answer through its callback; the socket is made once the
 * policy has resolved and checked the host, to the checked address. For https, Agent has already
 * set `servername` to the configured name, so the certificate is verified against it.
 */
function guardedCreate(policy: OutboundPolicy, create: (options: http.ClientRequestArgs) => Duplex, defaultPort: number) {
  return (options: http.ClientRequestArgs, callback: CreateCallback): undefined => {
    const host = String(options.host ?? options.hostname ?? 'localhost').replace(/^\[|\]$/g, '')
    const port = Number(options.port) || defaultPort
    policy.resolve(host, port).then(
      ({ address, family }) => {
        let socket: Duplex
        try {
          socket = create({
            ...options,
            host: address,
            hostname: address,
            family,
            lookup: undefined,
            servername: (options as { servername?: string }).servername ?? (isIP(host) ? undefined : host),
          } as http.ClientRequestArgs)
        } catch (e) {
          return callback(e as Error)
        }
        callback(null, socket)
      },
      (e: Error) => callback(e),
    )
    return undefined
  }
}

class GuardedHttpAgent extends http.Agent {
  readonly #create: ReturnType<typeof guardedCreate>
  constructor(policy: OutboundPolicy, options: http.AgentOptions) {
    super(options)
    const base = http.Agent.prototype as unknown as { createConnection(o: http.ClientRequestArgs): Socket }
    this.#create = guardedCreate(policy, (o) => base.createConnection.call(this, o), 80)
  }
  override createConnection(options: http.ClientRequestArgs, callback: CreateCallback): Duplex {
    return this.#create(options, callback) as unknown as Duplex
  }
}

class GuardedHttpsAgent extends https.Agent {
  readonly #create: ReturnType<typeof guardedCreate>
  constructor(policy: OutboundPolicy, options: https.AgentOptions) {
    super(options)
    const base = https.Agent.prototype as unknown as { createConnection(o: http.ClientRequestArgs): Socket }
    this.#create = guardedCreate(policy, (o) => base.createConnection.call(this, o), 443)
  }
  override createConnection(options: http.ClientRequestArgs, callback: CreateCallback): Duplex {
    return this.#create(options, callback) as unknown as Duplex
  }
}
