import { createHash } from 'node:crypto'
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Transform } from 'node:stream'

/**
 * An HTTP proxy between a destination's SDK client and a storage emulator, for tests that must see
 * (and break) single block and part requests: the emulators themselves cannot be told to fail the
 * third block, and their answers (s3rver's plain-MD5 ETags) do not show whether an upload really
 * was multipart or parallel.
 *
 * It streams each request through unchanged, recording method, path, query, the checksum headers
 * and digests of the body bytes as they passed (so a test can hold a header against the bytes it
 * came with), and the peak number of requests in flight. Rules answer the Nth request matching a
 * predicate with a 503, a cut connection or a body with one byte flipped, or hold it until released.
 */

/** The headers the integrity tests look at (lower case, as Node gives them). */
const RECORDED_HEADERS = [
  'content-length',
  'content-md5',
  'x-ms-content-crc64',
  'x-amz-checksum-sha256',
  'x-amz-checksum-algorithm',
  'x-amz-sdk-checksum-algorithm',
  'x-amz-content-sha256',
  'x-amz-trailer',
  'content-encoding',
  'transfer-encoding',
] as const

export interface ProxiedRequest {
  /** 1-based arrival order over the proxy's life. */
  seq: number
  method: string
  path: string
  query: URLSearchParams
  headers: Partial<Record<(typeof RECORDED_HEADERS)[number], string>>
  /** Bytes of the body as the proxy received it (before a flip), and their digests. */
  bodyBytes: number
  bodyMd5?: string
  bodySha256?: string
  /** The status the client got (the emulator's, or the injected one); undefined when the connection was cut. */
  status?: number
  /** What a rule did to it, if anything. */
  fault?: Fault
}

export type Fault = '503' | 'reset' | 'flip' | 'hold'

/** What a rule sees when it decides whether a request matches: everything but the body. */
export type RequestHead = Pick<ProxiedRequest, 'method' | 'path' | 'query' | 'headers'>
export type Matcher = (r: RequestHead) => boolean

interface Rule {
  match: Matcher
  fault: Fault
  /** Fire on these matches (1-based, counted from when the rule was added). */
  nth: (n: number) => boolean
  seen: number
  fired: ProxiedRequest[]
  onFire?: (r: ProxiedRequest) => void
  hold?: Promise<void>
}

/** A request held before its body is forwarded; the emulator has its headers and an open connection. */
export interface Hold {
  /** Resolves with the held request once one arrives. */
  readonly arrived: Promise<ProxiedRequest>
  /** Lets the held request (and any later match) go on. */
  release(): void
}

/** Runs when the emulator's answer to a matching request has arrived, before the client gets it. */
interface Interceptor {
  match: Matcher
  /** The client sees the answer only once this resolves. */
  before: (r: ProxiedRequest) => Promise<void>
}

export class FaultProxy {
  readonly requests: ProxiedRequest[] = []
  #inFlight = 0
  #peak = 0
  #rules: Rule[] = []
  #interceptors: Interceptor[] = []
  #seq = 0

  private constructor(
    private readonly server: Server,
    private readonly target: () => number,
  ) {}

  /** Starts on a free loopback port, forwarding to 127.0.0.1:target() (read per request, so a restarted emulator is found). */
  static async start(target: () => number): Promise<FaultProxy> {
    const server = createServer()
    const proxy = new FaultProxy(server, target)
    server.on('request', (req, res) => proxy.handle(req, res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return proxy
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port
  }

  /** Base URL to give a destination in place of the emulator's. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** Most requests that were in flight at the same time since start (or the last reset). */
  get peakInFlight(): number {
    return this.#peak
  }

  /** Forgets recorded requests, the peak and all rules (between tests sharing a proxy). */
  reset(): void {
    this.requests.length = 0
    this.#peak = this.#inFlight
    this.#rules = []
    this.#interceptors = []
  }

  /** Drops the fault and hold rules, keeping what watches answers (onAnswered). */
  clearFaults(): void {
    this.#rules = []
  }

  /**
   * Calls `before` with each matching request once the emulator has answered it (the object is
   * stored, or refused: see `status`), and gives the client the answer only after it resolves — so
   * a test can look at the store at that exact moment (a reader copying each manifest the instant it
   * exists, before the writer can do anything else).
   */
  onAnswered(match: Matcher, before: (r: ProxiedRequest) => Promise<void>): void {
    this.#interceptors.push({ match, before })
  }

  /**
   * Holds the emulator's answer to the next matching request (the request itself went through and
   * was acted on) until released: the client waits, as it would for a slow server.
   */
  holdAnswer(match: Matcher): Hold {
    let release!: () => void
    let arrive!: (r: ProxiedRequest) => void
    const hold = new Promise<void>((r) => (release = r))
    const arrived = new Promise<ProxiedRequest>((r) => (arrive = r))
    let done = false
    this.#interceptors.push({
      match: (r) => !done && match(r) && (done = true),
      before: (r) => (arrive(r), hold),
    })
    return { arrived, release }
  }

  /**
   * Answers the `nth` request matching `match` (counted from now; 'every' for all of them) with
   * `fault`: '503' (the body is read, then a 503 ServerBusy/SlowDown answer), 'reset' (the socket is
   * destroyed once the first body bytes arrived), or 'flip' (one byte in the middle of the body is
   * inverted on its way to the emulator). Returns the requests it fired on, filled in as they come.
   */
  inject(fault: Exclude<Fault, 'hold'>, match: Matcher, nth: number | 'every' = 1): ProxiedRequest[] {
    const rule: Rule = { match, fault, nth: nth === 'every' ? () => true : (n) => n === nth, seen: 0, fired: [] }
    this.#rules.push(rule)
    return rule.fired
  }

  /** Holds the next request matching `match` after its headers went to the emulator, until released. */
  hold(match: Matcher): Hold {
    let release!: () => void
    let arrive!: (r: ProxiedRequest) => void
    const hold = new Promise<void>((r) => (release = r))
    const arrived = new Promise<ProxiedRequest>((r) => (arrive = r))
    this.#rules.push({ match, fault: 'hold', nth: (n) => n === 1, seen: 0, fired: [], hold, onFire: arrive })
    return { arrived, release }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://proxy')
    const headers: ProxiedRequest['headers'] = {}
    for (const h of RECORDED_HEADERS) if (typeof req.headers[h] === 'string') headers[h] = req.headers[h] as string
    const record: ProxiedRequest = {
      seq: ++this.#seq,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers,
      bodyBytes: 0,
    }
    this.requests.push(record)
    // Every rule counts its matches; the first one due acts on the request.
    let rule: Rule | undefined
    for (const r of this.#rules) if (r.match(record) && r.nth(++r.seen)) rule ??= r
    if (rule) {
      record.fault = rule.fault
      rule.fired.push(record)
      rule.onFire?.(record)
    }

    this.#peak = Math.max(this.#peak, ++this.#inFlight)
    let ended = false
    const end = () => {
      if (!ended) (ended = true), this.#inFlight--
    }
    res.on('close', end)

    const md5 = createHash('md5')
    const sha256 = createHash('sha256')
    const tap = (chunk: Buffer) => {
      md5.update(chunk)
      sha256.update(chunk)
      record.bodyBytes += chunk.length
    }
    const digest = () => {
      record.bodyMd5 = md5.digest('base64')
      record.bodySha256 = sha256.digest('base64')
    }

    if (rule?.fault === '503') {
      req.on('data', tap).on('end', () => {
        digest()
        record.status = 503
        res.writeHead(503, { 'content-type': 'application/xml', 'x-ms-error-code': 'ServerBusy', 'retry-after': '0' })
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>injected by FaultProxy</Message></Error>')
      })
      return
    }
    if (rule?.fault === 'reset') {
      // Cut mid-body when there is one (a part half sent), at once otherwise.
      const cut = () => req.socket.destroy()
      if (Number(req.headers['content-length'] ?? 0) > 0) req.once('data', (c: Buffer) => (tap(c), cut()))
      else cut()
      return
    }

    const upstream = httpRequest({ host: '127.0.0.1', port: this.target(), method: req.method, path: req.url, headers: req.headers })
    const interceptors = this.#interceptors.filter((i) => i.match(record))
    upstream.on('response', (up) => {
      record.status = up.statusCode
      void (async () => {
        for (const i of interceptors) await i.before(record)
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      })()
    })
    // The emulator went away (stopped, or never there): the client sees its connection cut, as it would.
    upstream.on('error', () => req.socket.destroy())
    req.on('aborted', () => upstream.destroy())

    let flipAt = rule?.fault === 'flip' ? Math.floor(Number(req.headers['content-length'] ?? 0) / 2) : -1
    const forward = new Transform({
      transform(chunk: Buffer, _enc, done) {
        tap(chunk)
        if (flipAt >= 0 && flipAt < chunk.length) {
          chunk = Buffer.from(chunk)
          chunk[flipAt] ^= 0xff
          flipAt = -1
        } else if (flipAt >= 0) flipAt -= chunk.length
        done(null, chunk)
      },
      flush(done) {
        digest()
        done()
      },
    })
    if (rule?.fault === 'hold') {
      upstream.flushHeaders()
      void rule.hold!.then(() => req.pipe(forward).pipe(upstream))
    } else req.pipe(forward).pipe(upstream)
  }
}

/** Azure Put Block (one staged block of a block blob). */
export const isAzureBlock: Matcher = (r) => r.method === 'PUT' && r.query.get('comp') === 'block'
/** S3 UploadPart (one part of a multipart upload). */
export const isS3Part: Matcher = (r) => r.method === 'PUT' && r.query.has('partNumber') && r.query.has('uploadId')
