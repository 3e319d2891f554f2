import { lookup } from 'node:dns/promises'
import { BlockList, isIP } from 'node:net'
import { networkInterfaces } from 'node:os'

/**
 * Which hosts the service may connect to (SAP systems, object stores). SAP lives on private
 * networks, so private ranges are allowed; what is refused is what an attacker who can edit a
 * connection or destination would aim at from inside: cloud metadata services and link-local
 * addresses (always), the service's own machine, by loopback or by any of its interface addresses
 * (unless ALLOW_LOOPBACK), and, when OUTBOUND_ALLOW is set, anything it does not list.
 *
 * Decisions are made on the address a name resolved to, for every new connection (see
 * guarded-http.ts and the RFC guard), so a name that resolves to a harmless address at save time and
 * to 127.0.0.1 later (DNS rebinding) is refused when it matters. Numeric spellings (0x7f000001,
 * 2130706433, 127.1) and IPv4-mapped IPv6 (::ffff:127.0.0.1) resolve to the address they mean and
 * are judged as such.
 */

export interface OutboundPolicyOptions {
  /** This machine (127.0.0.0/8, ::1, its interfaces' addresses): refused unless true (the demo and the tests reach their simulators there). */
  allowLoopback: boolean
  /** When not empty, every connection must match an entry (see {@link parseAllowEntry}). */
  allow: readonly string[]
  /** Stands in for DNS (tests of rebinding); default: the operating system's resolver, as connections use it. */
  resolver?: (host: string) => Promise<Array<{ address: string; family: 4 | 6 }>>
}

export type OutboundVerdict = { allowed: true } | { allowed: false; reason: string }

/** Raised instead of connecting; the message says why without the resolved address. */
export class OutboundRefused extends Error {
  override readonly name = 'OutboundRefused'
  readonly code = 'E_OUTBOUND_REFUSED'
  constructor(
    readonly host: string,
    readonly port: number,
    readonly reason: string,
  ) {
    super(`the outbound policy refuses ${formatHostPort(host, port)}: ${reason}`)
  }
}

/** Addresses no SAP system or object store has: metadata services, link-local, unusable ranges. */
const ALWAYS_REFUSED = blockList([
  ['0.0.0.0', 8, 'ipv4'], // "this network": 0.0.0.0 reaches the local machine on Linux
  ['169.254.0.0', 16, 'ipv4'], // link-local, AWS/GCP/Azure/OCI metadata (169.254.169.254)
  ['100.100.100.200', 32, 'ipv4'], // Alibaba Cloud metadata
  ['168.63.129.16', 32, 'ipv4'], // Azure WireServer (VM agent configuration, certificates)
  ['224.0.0.0', 4, 'ipv4'], // multicast
  ['240.0.0.0', 4, 'ipv4'], // reserved, and 255.255.255.255
  ['::', 128, 'ipv6'],
  ['fe80::', 10, 'ipv6'], // link-local
  ['fd00:ec2::254', 128, 'ipv6'], // AWS metadata over IPv6
  ['ff00::', 8, 'ipv6'], // multicast
])
const LOOPBACK = blockList([
  ['127.0.0.0', 8, 'ipv4'],
  ['::1', 128, 'ipv6'],
])

type Subnet = [string, number, 'ipv4' | 'ipv6']
function blockList(subnets: Subnet[]): BlockList {
  const b = new BlockList()
  for (const [net, prefix, type] of subnets) b.addSubnet(net, prefix, type)
  return b
}

/** One OUTBOUND_ALLOW entry: a host name (`*.` for a domain), an address or a CIDR, each with an optional port. */
export type AllowEntry = { kind: 'name'; name: string; wildcard: boolean; port?: number } | { kind: 'net'; list: BlockList; port?: number }

/**
 * Reads `sap.corp.example`, `sap.corp.example:44300`, `*.corp.example`, `10.1.2.3`, `10.1.2.3:3300`,
 * `10.0.0.0/8`, `[fd00::1]:443`, `fd00::/8`. Throws with a message naming the entry.
 */
export function parseAllowEntry(raw: string): AllowEntry {
  const entry = raw.trim()
  const bad = (why: string) => new Error(`OUTBOUND_ALLOW entry "${entry}": ${why}`)
  if (!entry) throw bad('is empty')
  const cidr = /^(.+)\/(\d{1,3})$/.exec(entry)
  if (cidr) {
    const [address, prefix] = [cidr[1].replace(/^\[|\]$/g, ''), Number(cidr[2])]
    const family = isIP(address)
    if (!family) throw bad('is not a CIDR (address/prefix)')
    if (prefix > (family === 4 ? 32 : 128)) throw bad('has a prefix longer than the address')
    const list = new BlockList()
    list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6')
    return { kind: 'net', list }
  }
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry)
  const [host, portText] = bracketed ? [bracketed[1], bracketed[2]] : isIP(entry) === 6 ? [entry, undefined] : splitPort(entry)
  const port = portText === undefined ? undefined : Number(portText)
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw bad('has an invalid port')
  const family = isIP(host)
  if (family) {
    const list = new BlockList()
    list.addAddress(host, family === 4 ? 'ipv4' : 'ipv6')
    return { kind: 'net', list, port }
  }
  const wildcard = host.startsWith('*.')
  const name = (wildcard ? host.slice(2) : host).toLowerCase().replace(/\.$/, '')
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(name)) throw bad('is not a host name, address or CIDR')
  return { kind: 'name', name, wildcard, port }
}

function splitPort(entry: string): [string, string | undefined] {
  const m = /^(.*):(\d+)$/.exec(entry)
  return m ? [m[1], m[2]] : [entry, undefined]
}

export class OutboundPolicy {
  readonly allowLoopback: boolean
  readonly #allow: AllowEntry[]
  readonly #resolve: NonNullable<OutboundPolicyOptions['resolver']>

  constructor(options: OutboundPolicyOptions) {
    this.allowLoopback = options.allowLoopback
    this.#allow = options.allow.map(parseAllowEntry)
    this.#resolve =
      options.resolver ?? ((host) => lookup(host, { all: true, verbatim: true }) as Promise<Array<{ address: string; family: 4 | 6 }>>)
  }

  /** Whether connecting to `address` for `host:port` is allowed. `host` is the name as configured. */
  decide(host: string, port: number, address: string): OutboundVerdict {
    const family = isIP(address)
    if (!family) return refuse('not an IP address')
    // An IPv4 address inside an IPv6 one (mapped, compatible, NAT64) is where the packets really go.
    const v4 = family === 6 ? embeddedIpv4(address) : undefined
    const [a, t] = v4 ? [v4, 'ipv4' as const] : [address, family === 4 ? ('ipv4' as const) : ('ipv6' as const)]
    if (LOOPBACK.check(a, t)) {
      if (!this.allowLoopback) return refuse('a loopback address (set ALLOW_LOOPBACK=true to allow)')
    } else if (ALWAYS_REFUSED.check(a, t)) return refuse('a link-local, cloud metadata or reserved address (always refused)')
    else if (!this.allowLoopback && ownAddresses().check(a, t))
      return refuse('an address of this machine (set ALLOW_LOOPBACK=true to allow)')
    if (this.#allow.length && !this.#allow.some((e) => matches(e, host, port, a, t))) return refuse('not listed in OUTBOUND_ALLOW')
    return { allowed: true }
  }

  /**
   * Resolves `host` (as the operating system would for a connection) and returns the address to
   * connect to, after checking every address it resolves to: a name that also resolves to a refused
   * address is refused as a whole. Connect to the returned address, not to the name, so the check
   * and the connection see the same address.
   */
  async resolve(host: string, port: number): Promise<{ address: string; family: 4 | 6 }> {
    const bare = host.replace(/^\[|\]$/g, '')
    const literal = isIP(bare)
    const addresses = literal ? [{ address: bare, family: literal as 4 | 6 }] : await this.#resolve(bare)
    if (!addresses.length) throw Object.assign(new Error(`${bare} does not resolve`), { code: 'ENOTFOUND' })
    for (const a of addresses) {
      const verdict = this.decide(bare, port, a.address)
      if (!verdict.allowed) throw new OutboundRefused(bare, port, `${literal ? 'it is' : 'it resolves to'} ${verdict.reason}`)
    }
    return addresses[0]
  }
}

/**
 * The machine's own interface addresses: a service bound to 0.0.0.0 answers on each of them as on
 * 127.0.0.1, so they are loopback by another name. Read anew for every decision (a decision precedes
 * a new connection, which costs far more), so an address gained since start counts too.
 */
function ownAddresses(): BlockList {
  const list = new BlockList()
  for (const addresses of Object.values(networkInterfaces()))
    for (const { address, family } of addresses ?? []) list.addAddress(address.split('%')[0], family === 'IPv4' ? 'ipv4' : 'ipv6')
  return list
}

function refuse(reason: string): OutboundVerdict {
  return { allowed: false, reason }
}

function matches(e: AllowEntry, host: string, port: number, address: string, type: 'ipv4' | 'ipv6'): boolean {
  if (e.port !== undefined && e.port !== port) return false
  if (e.kind === 'net') return e.list.check(address, type)
  const h = host.toLowerCase().replace(/\.$/, '')
  return e.wildcard ? h.endsWith(`.${e.name}`) : h === e.name
}

/** The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) or NAT64 (64:ff9b::a.b.c.d) address. */
function embeddedIpv4(address: string): string | undefined {
  const w = expandIpv6(address)
  const zeros = (n: number) => w.slice(0, n).every((x) => x === 0)
  const mapped = zeros(5) && w[5] === 0xffff
  const compatible = zeros(6) && (w[6] !== 0 || w[7] > 1) // not :: nor ::1
  const nat64 = w[0] === 0x64 && w[1] === 0xff9b && w.slice(2, 6).every((x) => x === 0)
  if (!mapped && !compatible && !nat64) return undefined
  return [w[6] >> 8, w[6] & 0xff, w[7] >> 8, w[7] & 0xff].join('.')
}

/** The eight 16-bit words of an IPv6 address (with or without a dotted IPv4 tail). */
function expandIpv6(address: string): number[] {
  let text = address.split('%')[0]
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (dotted) {
    const [a, b, c, d] = dotted[1].split('.').map(Number)
    text = text.slice(0, -dotted[1].length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined]
  const h = head ? head.split(':') : []
  const t = tail ? tail.split(':') : []
  const missing = tail === undefined ? 0 : 8 - h.length - t.length
  return [...h, ...Array(missing).fill('0'), ...t].map((x) => parseInt(x || '0', 16))
}

function formatHostPort(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`
}
