/**
 * One GET with the SAP Gateway headers, a per-request timeout that covers the body, retries with
 * backoff for transient failures (Retry-After honoured) and SourceErrors for everything else.
 * A retry re-requests the identical URL: for a page that is what SAP expects (A.6.1).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { SourceError } from '../errors.js'
import { classifyStatus, parseSapError } from './sap-error.js'
import type { LogFn, ReadMode } from './types.js'
import { redactUrl } from './urls.js'

export interface HttpConfig {
  /** `Basic …`, or undefined for anonymous services. */
  authorization?: string
  timeoutMs: number
  retries: number
  backoffMs: number
  fetch: typeof fetch
  log: LogFn
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

export interface HttpResult {
  text: string
  status: number
  headers: Headers
  ms: number
}

const MAX_BACKOFF_MS = 30_000
const MAX_RETRY_AFTER_MS = 300_000
const ERROR_BODY_LIMIT = 64 * 1024
const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
])

/** GET `url`; resolves with the body of a 2xx answer, throws SourceError or the abort reason. */
export async function httpGet(cfg: HttpConfig, url: string, opts: GetOptions): Promise<HttpResult> {
  const safeUrl = redactUrl(url)
  const headers: Record<string, string> = {
    Accept: opts.accept === 'json' ? 'application/json' : 'application/xml',
    DataServiceVersion: '2.0',
    MaxDataServiceVersion: '2.0',
  }
  if (cfg.authorization) headers['Authorization'] = cfg.authorization
  if (opts.prefer) headers['Prefer'] = opts.prefer
  const signal = opts.signal

  let lastFailure: SourceError | undefined
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(signal)
    const cookie = opts.jar?.header()
    if (cookie) headers['Cookie'] = cookie
    const ctl = new AbortController()
    const onAbort = () => ctl.abort(signal?.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      ctl.abort(new DOMException('request timed out', 'TimeoutError'))
    }, cfg.timeoutMs)
    const started = performance.now()
    let failure: SourceError
    let waitMs: number | undefined
    try {
      const res = await cfg.fetch(url, { method: 'GET', headers, signal: ctl.signal, redirect: 'manual' })
      opts.jar?.store(res.headers)
      if (res.status >= 200 && res.status < 300) {
        const text = await res.text()
        const ms = performance.now() - started
        cfg.log('debug', 'GET', { url: safeUrl, status: res.status, ms: Math.round(ms), bytes: text.length, attempt })
        return { text, status: res.status, headers: res.headers, ms }
      }
      const body = await readLimited(res, ERROR_BODY_LIMIT)
      const verdict = classifyStatus(res.status, parseSapError(body), { url: safeUrl, mode: opts.mode, token: opts.token })
      if (res.status >= 300 && res.status < 400) {
        const location = res.headers.get('location')
        if (location) verdict.error.message += ` (Location: ${redactUrl(location)})`
      }
      if (!verdict.retry) throw lostRead(verdict.error, lastFailure, opts.continuation === true)
      failure = verdict.error
      waitMs = retryAfterMs(res.headers.get('retry-after'))
    } catch (e) {
      if (signal?.aborted) throw abortReason(signal)
      if (e instanceof SourceError) throw e
      if (timedOut) {
        failure = new SourceError('SOURCE_UNAVAILABLE', `SAP did not answer within ${cfg.timeoutMs} ms (GET ${safeUrl})`, { cause: e })
      } else if (isNetworkError(e)) {
        failure = new SourceError('SOURCE_UNAVAILABLE', `connection to SAP failed: ${describeNetworkError(e)} (GET ${safeUrl})`, { cause: e })
      } else {
        throw new SourceError('SOURCE_PROTOCOL', `request failed: ${(e as Error)?.message ?? String(e)} (GET ${safeUrl})`, { cause: e })
      }
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
    if (attempt >= cfg.retries) {
      if (cfg.retries > 0) failure.message += ` (gave up after ${attempt + 1} attempts)`
      throw failure
    }
    lastFailure = failure
    const delay = waitMs ?? backoff(cfg.backoffMs, attempt)
    cfg.log('warn', 'SAP request failed, retrying', { url: safeUrl, attempt: attempt + 1, retries: cfg.retries, delayMs: delay, error: failure.message, httpStatus: failure.httpStatus })
    try {
      await sleep(delay, undefined, { signal })
    } catch {
      throw abortReason(signal!)
    }
  }
}

/**
 * SAP ends a paged ODP read when a page fails, the connection drops or the consumer idles too long;
 * the `$skiptoken` of the next page is then refused with a 400/404. Neither the request nor the
 * caller is wrong, and restarting the read (the run) helps, so that is SOURCE_UNAVAILABLE. Auth
 * errors and lost delta positions keep their code.
 */
function lostRead(error: SourceError, previous: SourceError | undefined, continuation: boolean): SourceError {
  if ((!previous && !continuation) || (error.code !== 'SOURCE_BAD_REQUEST' && error.code !== 'SOURCE_NOT_FOUND')) return error
  const lead = previous ? `${previous.message}; the retry was refused` : 'SAP no longer serves the next page of this read (its extraction request ended)'
  return new SourceError('SOURCE_UNAVAILABLE', `${lead}: ${error.message}`, { httpStatus: error.httpStatus, sapCode: error.sapCode, cause: error })
}

/** Exponential backoff with jitter in [½, 1] of the step, capped. */
export function backoff(baseMs: number, attempt: number): number {
  const step = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** attempt)
  return Math.round(step * (0.5 + Math.random() * 0.5))
}

/** `Retry-After` as seconds or an HTTP date, in ms (capped); undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined
  const v = value.trim()
  let ms: number
  if (/^\d+$/.test(v)) ms = Number(v) * 1000
  else {
    const at = Date.parse(v)
    if (Number.isNaN(at)) return undefined
    ms = Math.max(0, at - now)
  }
  return Math.min(ms, MAX_RETRY_AFTER_MS)
}

/** The abort reason as fetch reports it: `signal.reason` (a DOMException named AbortError by default). */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError')
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortReason(signal)
}

/** Reads at most `limit` bytes of an error body, then cancels the rest so the socket is freed. */
async function readLimited(res: Response, limit: number): Promise<string> {
  if (!res.body) return ''
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  let done = false
  try {
    while (size < limit) {
      const r = await reader.read()
      if (r.done) {
        done = true
        break
      }
      chunks.push(r.value)
      size += r.value.byteLength
    }
  } finally {
    if (!done) await reader.cancel().catch(() => undefined)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function errorCode(e: unknown): string | undefined {
  for (let c: unknown = e, depth = 0; c && depth < 4; c = (c as { cause?: unknown }).cause, depth++) {
    const code = (c as { code?: unknown }).code
    if (typeof code === 'string') return code
  }
  return undefined
}

function isNetworkError(e: unknown): boolean {
  const code = errorCode(e)
  if (code && NETWORK_CODES.has(code)) return true
  // undici: "fetch failed" (connect), "terminated" (socket closed mid-body).
  return e instanceof TypeError && (e.message === 'fetch failed' || e.message === 'terminated' || !!(e as { cause?: unknown }).cause)
}

function describeNetworkError(e: unknown): string {
  const code = errorCode(e)
  let deepest: unknown = e
  while ((deepest as { cause?: unknown })?.cause) deepest = (deepest as { cause?: unknown }).cause
  const msg = (deepest as Error)?.message ?? String(deepest)
  return code && !msg.includes(code) ? `${code} ${msg}` : msg
}

/**
 * Session cookies (`SAP_SESSIONID_…`, `sap-usercontext`, `MYSAPSSO2`) kept for one read, so every
 * page lands in the same SAP session. Attributes other than expiry are irrelevant: one origin only.
 */
export class CookieJar {
  private readonly cookies = new Map<string, string>()

  store(headers: Headers): void {
    const lines = typeof headers.getSetCookie === 'function' ? headers.getSetCookie() : splitSetCookie(headers.get('set-cookie'))
    for (const line of lines) {
      const [pair, ...attrs] = line.split(';')
      const eq = pair.indexOf('=')
      if (eq <= 0) continue
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      const expired = attrs.some((a) => {
        const [k, v = ''] = a.split('=').map((s) => s.trim())
        if (/^max-age$/i.test(k)) return Number(v) <= 0
        if (/^expires$/i.test(k)) return Date.parse(v) <= Date.now()
        return false
      })
      if (expired || value === '') this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }

  header(): string | undefined {
    if (this.cookies.size === 0) return undefined
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }

  get size(): number {
    return this.cookies.size
  }
}

function splitSetCookie(v: string | null): string[] {
  return v ? v.split(/,(?=\s*[^;,=\s]+=)/) : []
}

/** GET and JSON.parse; a 2xx body that is not JSON (an HTML logon page, XML) is SOURCE_PROTOCOL. */
export async function httpGetJson(cfg: HttpConfig, url: string, opts: Omit<GetOptions, 'accept'>): Promise<{ json: unknown; res: HttpResult; parseMs: number }> {
  const res = await httpGet(cfg, url, { ...opts, accept: 'json' })
  try {
    const started = performance.now()
    const json = JSON.parse(res.text) as unknown
    return { json, res, parseMs: performance.now() - started }
  } catch (e) {
    const type = res.headers.get('content-type') ?? 'no content-type'
    const head = res.text.slice(0, 120).replace(/\s+/g, ' ')
    throw new SourceError('SOURCE_PROTOCOL', `SAP answered ${type} that is not JSON (GET ${redactUrl(url)}): ${JSON.stringify(head)}`, { httpStatus: res.status, cause: e })
  }
}
