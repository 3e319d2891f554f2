/**
 * One GET with the SAP Gateway headers, a per-request timeout that covers the body, retries with
 * backoff for transient failures (Retry-After honoured) and SourceErrors for everything else.
 * A retry re-requests the identical URL: for a page that is what SAP expects (A.6.1).
 *
 * The body is streamed (httpGetBody): a data page is consumed as it arrives, never held whole. A
 * connection lost mid-body is retried like any transient failure and the body resumes where the
 * caller left off: the resent bytes up to that point are skipped after checking they are identical.
 */
import { createHash, type Hash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { abortReason, raceAbort, throwIfAborted } from '../../util/abort.js'
import { backoff, retryAfterMs, type BackoffPolicy } from '../../util/backoff.js'
import { redact } from '../../util/redact.js'
import { SourceError } from '../errors.js'
import type { SapLog } from '../log.js'
import type { CookieJar } from './cookies.js'
import { Deadline } from './deadline.js'
import { describeNetworkError, isNetworkError, outboundRefusal } from './network-errors.js'
import { classifyStatus, parseSapError } from './sap-error.js'
import type { ReadMode } from './types.js'
import { redactUrl } from './urls.js'

export { CookieJar } from './cookies.js'

export interface HttpConfig {
  /** `Basic …`, or undefined for anonymous services. */
  authorization?: string
  timeoutMs: number
  retries: number
  backoffMs: number
  fetch: typeof fetch
  log: SapLog
  /**
   * The password (and its Authorization form): blanked from error messages, for a server that
   * quotes the request back (a proxy's error page, a hostile endpoint).
   */
  secrets?: string[]
}

export interface GetOptions {
  accept: 'json' | 'xml'
  prefer?: string
  signal?: AbortSignal
  /** Session cookies of one read. */
  jar?: CookieJar
  /** For classifying errors of delta reads. */
  mode?: ReadMode
  token?: string
  /** A `__next` page of a read whose first page SAP accepted: a 400/404 here is not the caller's fault. */
  continuation?: boolean
}

export interface BodyOptions extends GetOptions {
  /** Called with each 2xx response before its body is read (status, headers). */
  onResponse?: (res: Response) => void
  /**
   * Called when a retry starts the body over because the caller can take it again from byte 0
   * (httpGet collects the text). Without it, a retry resumes after the bytes already yielded.
   */
  restart?: () => void
}

export interface HttpResult {
  text: string
  status: number
  headers: Headers
  ms: number
}

/** Doubling from `backoffMs` up to 30 s, each delay somewhere in its upper half. */
const backoffPolicy = (cfg: HttpConfig): BackoffPolicy => ({ baseMs: cfg.backoffMs, maxMs: 30_000, jitter: [0.5, 1] })
const ERROR_BODY_LIMIT = 64 * 1024

/** GET `url`; resolves with the body of a 2xx answer, throws SourceError or the abort reason. */
export async function httpGet(cfg: HttpConfig, url: string, opts: GetOptions): Promise<HttpResult> {
  const started = performance.now()
  const chunks: Uint8Array[] = []
  let res: Response | undefined
  const body = httpGetBody(cfg, url, { ...opts, onResponse: (r) => (res = r), restart: () => (chunks.length = 0) })
  for await (const chunk of body) chunks.push(chunk)
  // TextDecoder, like Response.text(): UTF-8, a BOM dropped, bad bytes replaced.
  const text = new TextDecoder().decode(Buffer.concat(chunks))
  return { text, status: res!.status, headers: res!.headers, ms: performance.now() - started }
}

/**
 * GET `url` and yield the body of a 2xx answer chunk by chunk; throws SourceError or the abort
 * reason. The timeout counts only time spent waiting for SAP, not time the caller holds a chunk.
 *
 * Resuming after a failure mid-body assumes SAP sends the same URL's body again byte for byte (a
 * page is re-served from its `$skiptoken`; the simulator's page retry replays the same rows). That
 * is checked with a SHA-1 of the bytes already yielded; a body that differs fails the read as
 * SOURCE_UNAVAILABLE (the run is retried from its start) rather than yield a row twice or lose one.
 */
export async function* httpGetBody(cfg: HttpConfig, url: string, opts: BodyOptions): AsyncGenerator<Uint8Array, void, undefined> {
  const get = new BodyGet(cfg, url, opts)
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(opts.signal)
    const retry = yield* get.attempt(attempt)
    if (!retry) return
    await get.wait(retry, attempt)
  }
}

/** A failure a retry may cure, and how long SAP asked us to wait (Retry-After). */
interface Retry {
  failure: SourceError
  waitMs?: number
}

/** The attempts of one GET, and what they share: headers, the bytes yielded so far, the last failure. */
class BodyGet {
  private readonly safeUrl: string
  private readonly headers: Record<string, string>
  /** Bytes yielded so far and their hash, to resume after them on a retry. */
  private yielded = 0
  private readonly yieldedHash: Hash | undefined
  private lastFailure: SourceError | undefined

  constructor(
    private readonly cfg: HttpConfig,
    private readonly url: string,
    private readonly opts: BodyOptions,
  ) {
    this.safeUrl = redactUrl(url)
    this.headers = {
      Accept: opts.accept === 'json' ? 'application/json' : 'application/xml',
      DataServiceVersion: '2.0',
      MaxDataServiceVersion: '2.0',
    }
    if (cfg.authorization) this.headers['Authorization'] = cfg.authorization
    if (opts.prefer) this.headers['Prefer'] = opts.prefer
    this.yieldedHash = opts.restart || cfg.retries === 0 ? undefined : createHash('sha1')
  }

  /** Yields the body of a 2xx answer; returns undefined once it is whole, or a failure worth a retry. */
  async *attempt(attempt: number): AsyncGenerator<Uint8Array, Retry | undefined> {
    const { cfg, opts } = this
    const cookie = opts.jar?.header()
    if (cookie) this.headers['Cookie'] = cookie
    const deadline = new Deadline(cfg.timeoutMs, opts.signal)
    const started = performance.now()
    try {
      const res = await cfg.fetch(this.url, { method: 'GET', headers: this.headers, signal: deadline.signal, redirect: 'manual' })
      opts.jar?.store(res.headers)
      if (res.status < 200 || res.status >= 300) return await this.refused(res, deadline)
      opts.onResponse?.(res)
      yield* this.body(res, deadline)
      cfg.log('debug', 'GET', {
        url: this.safeUrl,
        status: res.status,
        ms: Math.round(performance.now() - started),
        bytes: this.yielded,
        attempt,
      })
      return undefined
    } catch (e) {
      return { failure: this.transportFailure(e, deadline) }
    } finally {
      deadline.dispose()
    }
  }

  /** Throws the failure when no retries are left; otherwise waits out the backoff. */
  async wait({ failure, waitMs }: Retry, attempt: number): Promise<void> {
    const { cfg, opts } = this
    if (attempt >= cfg.retries) {
      if (cfg.retries > 0) failure.message += ` (gave up after ${attempt + 1} attempts)`
      throw failure
    }
    this.lastFailure = failure
    const delay = backoff(backoffPolicy(cfg), attempt, { retryAfterMs: waitMs })
    cfg.log('warn', 'SAP request failed, retrying', {
      url: this.safeUrl,
      attempt: attempt + 1,
      retries: cfg.retries,
      delayMs: delay,
      error: failure.message,
      httpStatus: failure.httpStatus,
      resumeAtByte: this.yielded || undefined,
    })
    try {
      await sleep(delay, undefined, { signal: opts.signal })
    } catch {
      throw abortReason(opts.signal!)
    }
  }

  /** The body of a 2xx answer; after a retry, the bytes yielded before are checked and passed over. */
  private async *body(res: Response, deadline: Deadline): AsyncGenerator<Uint8Array> {
    if (this.yielded > 0 && this.opts.restart) {
      this.opts.restart()
      this.yielded = 0
    }
    let skip = this.yielded
    const resent = skip > 0 ? createHash('sha1') : undefined
    const reader = res.body?.getReader()
    let done = false
    try {
      while (reader) {
        // raced: undici leaves a read pending forever when its fetch is aborted after the whole
        // body arrived but before the reader saw its end (Node 20.20), hanging a cancelled run
        const r = await raceAbort(reader.read(), deadline.signal)
        if (r.done) break
        let chunk = r.value
        if (skip > 0) {
          const n = Math.min(skip, chunk.byteLength)
          resent!.update(chunk.subarray(0, n))
          skip -= n
          chunk = chunk.subarray(n)
          if (skip === 0) sameBytes(resent!, this.yieldedHash!, this.yielded, this.safeUrl)
          if (chunk.byteLength === 0) continue
        }
        this.yieldedHash?.update(chunk)
        this.yielded += chunk.byteLength
        deadline.pause()
        yield chunk
        deadline.resume()
      }
      done = true
    } finally {
      // The caller stopped early, or the body failed: let go of the socket. Not awaited: on a body
      // undici has already aborted, cancel() (like read()) may never settle.
      if (reader && !done) reader.cancel().catch(() => undefined)
    }
    if (skip > 0) throw resentDiffers(this.yielded, this.safeUrl, 'ended before')
  }

  /** A non-2xx answer: a failure a retry may cure (with SAP's Retry-After), or thrown. */
  private async refused(res: Response, deadline: Deadline): Promise<Retry> {
    const { opts } = this
    const body = await readLimited(res, ERROR_BODY_LIMIT, deadline.signal)
    // Redirects are never followed (redirect: 'manual'), so the Authorization header goes to the
    // configured origin only; the target is not shown either, as it may be an internal address.
    const verdict = classifyStatus(res.status, parseSapError(body), {
      url: this.safeUrl,
      mode: opts.mode,
      token: opts.token,
      continuation: opts.continuation,
    })
    verdict.error.message = redact(verdict.error.message, this.cfg.secrets ?? [])
    if (!verdict.retry) throw lostRead(verdict.error, this.lastFailure, opts.continuation === true)
    return { failure: verdict.error, waitMs: retryAfterMs(res.headers.get('retry-after')) }
  }

  /** What failed on the way: a timeout or a dropped connection is worth a retry, the rest is thrown. */
  private transportFailure(e: unknown, deadline: Deadline): SourceError {
    const { cfg, safeUrl } = this
    const signal = this.opts.signal
    if (signal?.aborted) throw abortReason(signal)
    if (e instanceof SourceError) throw e
    const refused = outboundRefusal(e)
    if (refused) throw new SourceError('OUTBOUND_REFUSED', `${refused.message} (GET ${safeUrl})`, { cause: e })
    if (deadline.timedOut)
      return new SourceError('SOURCE_UNAVAILABLE', `SAP did not answer within ${cfg.timeoutMs} ms (GET ${safeUrl})`, { cause: e })
    if (isNetworkError(e))
      return new SourceError('SOURCE_UNAVAILABLE', `connection to SAP failed: ${describeNetworkError(e)} (GET ${safeUrl})`, { cause: e })
    throw new SourceError('SOURCE_PROTOCOL', `request failed: ${(e as Error)?.message ?? String(e)} (GET ${safeUrl})`, { cause: e })
  }
}

function sameBytes(resent: Hash, yielded: Hash, bytes: number, safeUrl: string): void {
  if (resent.digest('hex') !== yielded.copy().digest('hex')) throw resentDiffers(bytes, safeUrl, 'differs in')
}

function resentDiffers(bytes: number, safeUrl: string, how: string): SourceError {
  return new SourceError(
    'SOURCE_UNAVAILABLE',
    `the connection to SAP failed mid-page and the page SAP sent again ${how} the first ${bytes} bytes already processed; restart the read (GET ${safeUrl})`,
  )
}

/**
 * SAP ends a paged ODP read when a page fails, the connection drops or the consumer idles too long;
 * the `$skiptoken` of the next page is then refused with a 400/404. Neither the request nor the
 * caller is wrong, and restarting the read (the run) helps, so that is SOURCE_UNAVAILABLE. Auth
 * errors and lost delta positions keep their code.
 */
function lostRead(error: SourceError, previous: SourceError | undefined, continuation: boolean): SourceError {
  if ((!previous && !continuation) || (error.code !== 'SOURCE_BAD_REQUEST' && error.code !== 'SOURCE_NOT_FOUND')) return error
  const lead = previous
    ? `${previous.message}; the retry was refused`
    : 'SAP no longer serves the next page of this read (its extraction request ended)'
  return new SourceError('SOURCE_UNAVAILABLE', `${lead}: ${error.message}`, {
    httpStatus: error.httpStatus,
    sapCode: error.sapCode,
    cause: error,
  })
}

/** Reads at most `limit` bytes of an error body, then cancels the rest so the socket is freed. */
async function readLimited(res: Response, limit: number, signal: AbortSignal): Promise<string> {
  if (!res.body) return ''
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  let done = false
  try {
    while (size < limit) {
      const r = await raceAbort(reader.read(), signal)
      if (r.done) {
        done = true
        break
      }
      chunks.push(r.value)
      size += r.value.byteLength
    }
  } finally {
    if (!done) reader.cancel().catch(() => undefined)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** GET and JSON.parse; a 2xx body that is not JSON (an HTML logon page, XML) is SOURCE_PROTOCOL. */
export async function httpGetJson(
  cfg: HttpConfig,
  url: string,
  opts: Omit<GetOptions, 'accept'>,
): Promise<{ json: unknown; res: HttpResult; parseMs: number }> {
  const res = await httpGet(cfg, url, { ...opts, accept: 'json' })
  try {
    const started = performance.now()
    const json = JSON.parse(res.text) as unknown
    return { json, res, parseMs: performance.now() - started }
  } catch (e) {
    const type = res.headers.get('content-type') ?? 'no content-type'
    throw new SourceError(
      'SOURCE_PROTOCOL',
      `SAP answered ${type} that is not JSON (GET ${redactUrl(url)}, ${res.text.length} characters)`,
      { httpStatus: res.status, cause: e },
    )
  }
}
