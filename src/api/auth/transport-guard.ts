import type { IncomingMessage, ServerResponse } from 'node:http'
import { hostname, networkInterfaces } from 'node:os'
import { isLoopback } from '../../auth/bootstrap.js'

export interface Refusal {
  status: number
  code: string
  message: string
}

export interface TransportGuardOptions {
  /** Host names (no port) the Host header may carry; ['*'] accepts any. */
  allowedHosts: string[]
  /** Origins (scheme://host[:port]) allowed besides the service's own. */
  corsOrigins: string[]
}

/**
 * What a browser could abuse before any GraphQL is looked at, for HTTP requests and websocket
 * upgrades alike: a Host header that is not one of ours (DNS rebinding: a page on evil.example
 * re-pointed at 127.0.0.1), and an Origin that is neither ours nor allowed (a foreign page
 * posting to the API or opening a socket with the user's network position). Clients that are not
 * browsers send no Origin and pass.
 */
export class TransportGuard {
  readonly #hosts: Set<string> | undefined
  readonly #origins: Set<string>

  constructor(opts: TransportGuardOptions) {
    this.#hosts = opts.allowedHosts.includes('*') ? undefined : new Set(opts.allowedHosts.map(normaliseHost))
    this.#origins = new Set(opts.corsOrigins.map((o) => o.replace(/\/+$/, '').toLowerCase()))
  }

  check(req: IncomingMessage): Refusal | undefined {
    const host = req.headers.host
    const name = host ? hostOf(host) : undefined
    if (!name || (this.#hosts && !this.#hosts.has(name)))
      return { status: 421, code: 'FORBIDDEN', message: 'this Host is not served here (set ALLOWED_HOSTS to the names clients use)' }
    const origin = req.headers.origin
    if (origin === undefined) return undefined
    if (this.#origins.has(origin.toLowerCase())) return undefined
    if (sameOrigin(origin, host!)) return undefined
    return { status: 403, code: 'FORBIDDEN', message: 'cross-origin requests are refused (allow an origin with CORS_ORIGINS)' }
  }

  /** The refusal for a POST whose body is not JSON: forms and text/plain are what cross-site pages can send unasked. */
  checkBody(req: IncomingMessage): Refusal | undefined {
    if (req.method !== 'POST') return undefined
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
    if (type === 'application/json') return undefined
    return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'POST bodies must be application/json' }
  }
}

export function respondRefusal(res: ServerResponse, r: Refusal): void {
  res.writeHead(r.status, { 'content-type': 'application/json; charset=utf-8', connection: 'close' })
  res.end(JSON.stringify({ errors: [{ message: r.message, extensions: { code: r.code } }] }))
}

/**
 * The Host names a service answers to by default: the address it is bound to, plus the loopback
 * names when it is bound to loopback, or every name and address of the machine when it listens on
 * all interfaces.
 */
export function defaultAllowedHosts(bound: string): string[] {
  const names = new Set([normaliseHost(bound)])
  const loopbackNames = ['localhost', '127.0.0.1', '[::1]']
  if (isLoopback(bound)) loopbackNames.forEach((n) => names.add(n))
  if (bound === '0.0.0.0' || bound === '::' || bound === '[::]') {
    loopbackNames.forEach((n) => names.add(n))
    names.add(hostname().toLowerCase())
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.add(normaliseHost(a.address))
  }
  return [...names]
}

/** Host names as URL.hostname writes them: lower case, IPv6 in brackets. */
function normaliseHost(h: string): string {
  const bare = h
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
  return bare.includes(':') ? `[${bare}]` : bare
}

function hostOf(hostHeader: string): string | undefined {
  try {
    return new URL(`http://${hostHeader}`).hostname.toLowerCase()
  } catch {
    return undefined
  }
}

/**
 * The Origin names the host and port the request came to. The scheme is not compared on purpose:
 * behind a TLS proxy GraphiQL's page is https://api.example and the service itself speaks plain
 * HTTP with Host api.example, and one host and port serve one scheme, so no page of another scheme
 * can carry this host and port.
 */
function sameOrigin(origin: string, hostHeader: string): boolean {
  try {
    const o = new URL(origin)
    return (
      (o.protocol === 'http:' || o.protocol === 'https:') && o.host.toLowerCase() === new URL(`http://${hostHeader}`).host.toLowerCase()
    )
  } catch {
    return false
  }
}
