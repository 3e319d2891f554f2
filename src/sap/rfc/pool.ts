/**
 * A pool of RFC connections for one set of connection parameters (one SAP system × client × user):
 * at most `max` connections open at once — the per-connection limit an SAP basis team asks for —
 * shared by everything that reads through that connection (e.g. the parallel column-group reads of
 * a wide table). Connections that failed at the transport level, were cancelled or report
 * `alive === false` are closed and replaced, never handed out again.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { raceAbort } from '../../util/abort.js'
import { backoff } from '../../util/backoff.js'
import { SourceError } from '../errors.js'
import { silentLog, type SapLog } from '../log.js'
import { RfcAborted, toSourceError } from './errors.js'
import type { RfcClient, RfcClientFactory, RfcConnectionParameters } from './rfc-client.js'

export interface RfcPoolOptions {
  /** Connections open at most (default 4). */
  max?: number
  /** How long `acquire` waits for a free connection (default 120 s). */
  acquireTimeoutMs?: number
  /**
   * For what the pool does on nobody's behalf (a retired pool closing its idle connections). What it
   * does for a caller goes to the caller's log (`log` of acquire, release, use and call): the pool
   * outlives the run that opened it, and its lines must carry the id of the run they serve.
   */
  log?: SapLog
}

export interface RfcCallOptions {
  signal?: AbortSignal
  /** Seconds; node-rfc cancels the call when it expires. */
  timeout?: number
  /** For messages: what the call is for (`table VBAP`). */
  what?: string
}

/** Retries of a read call double from `backoffMs` up to this; without jitter, as few callers share a pool. */
const MAX_BACKOFF_MS = 30_000

interface Waiter {
  /** The waiting caller's log: a connection opened for it is logged there. */
  log: SapLog
  /** false when the caller gave up meanwhile (abort, timeout): the connection was not taken. */
  resolve: (c: RfcClient) => boolean
  reject: (e: unknown) => void
}

export class RfcPool {
  readonly max: number
  readonly #factory: RfcClientFactory
  readonly #params: RfcConnectionParameters
  readonly #acquireTimeoutMs: number
  readonly #log: SapLog
  readonly #idle: RfcClient[] = []
  readonly #busy = new Set<RfcClient>()
  readonly #waiters: Waiter[] = []
  #opening = 0
  #closed = false
  /** Set by {@link retire}: how long the pool may sit unused before its connections close. */
  #retireIdleMs: number | undefined
  #idleTimer: ReturnType<typeof setTimeout> | undefined
  #drained: Array<() => void> = []

  constructor(factory: RfcClientFactory, params: RfcConnectionParameters, opts: RfcPoolOptions = {}) {
    this.max = Math.max(1, Math.floor(opts.max ?? 4))
    this.#factory = factory
    this.#params = params
    this.#acquireTimeoutMs = opts.acquireTimeoutMs ?? 120_000
    this.#log = opts.log ?? silentLog
  }

  /** Open connections (busy + idle + being opened) and callers waiting. */
  get stats(): { open: number; busy: number; idle: number; waiting: number } {
    return {
      open: this.#busy.size + this.#idle.length + this.#opening,
      busy: this.#busy.size,
      idle: this.#idle.length,
      waiting: this.#waiters.length,
    }
  }

  /** The password, so error texts can be scrubbed of it. */
  get secrets(): string[] {
    return this.#params.passwd ? [this.#params.passwd] : []
  }

  /** A connection for the caller's exclusive use until {@link release}. Opens one if below `max`. */
  async acquire(signal?: AbortSignal, log: SapLog = this.#log): Promise<RfcClient> {
    signal?.throwIfAborted()
    if (this.#closed) throw new SourceError('SOURCE_UNAVAILABLE', 'the RFC connection pool is closed')
    while (this.#idle.length > 0) {
      const c = this.#idle.pop()!
      if (c.alive) {
        this.#busy.add(c)
        return c
      }
      log('debug', 'dropping a dead idle RFC connection', { id: c.id })
    }
    if (this.#busy.size + this.#opening < this.max) return this.#open(log, signal)
    return new Promise<RfcClient>((resolve, reject) => {
      let settled = false
      const w: Waiter = {
        log,
        resolve: (c) => {
          if (settled) return false
          settled = true
          cleanup()
          resolve(c)
          return true
        },
        reject: (e) => {
          if (settled) return
          settled = true
          cleanup()
          reject(e)
        },
      }
      const timer = setTimeout(
        () =>
          w.reject(
            new SourceError(
              'SOURCE_UNAVAILABLE',
              `no RFC connection became free within ${this.#acquireTimeoutMs} ms (at most ${this.max} per connection)`,
            ),
          ),
        this.#acquireTimeoutMs,
      )
      const onAbort = () => w.reject(signal!.reason)
      const cleanup = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        const i = this.#waiters.indexOf(w)
        if (i >= 0) this.#waiters.splice(i, 1)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiters.push(w)
    })
  }

  /** Gives a connection back; `broken` (or a dead one) is closed and its slot freed for a new one. */
  release(c: RfcClient, broken = false, log: SapLog = this.#log): void {
    if (!this.#busy.delete(c)) return
    if (broken || !c.alive || this.#closed) {
      this.#discard(c, log)
      this.#wakeForOpen()
      this.#armRetireTimer()
      return
    }
    this.#busy.add(c)
    // Hand it to the first waiter still waiting; otherwise it goes idle.
    for (let w = this.#waiters.shift(); w; w = this.#waiters.shift()) if (w.resolve(c)) return
    this.#busy.delete(c)
    this.#idle.push(c)
    this.#armRetireTimer()
  }

  /**
   * Winds the pool down without failing anyone, for a pool being replaced: reads still holding it
   * keep being served as usual, and once nothing has used it for `idleMs` its connections close.
   * (Closing at the first idle moment would log on again for every page of a read, since a read
   * holds no connection between pages.) Unlike {@link closeAll}, no caller is refused. Resolves
   * when the connections are closed.
   */
  retire(idleMs = 5_000): Promise<void> {
    this.#retireIdleMs = Math.max(0, idleMs)
    const drained = new Promise<void>((resolve) => this.#drained.push(resolve))
    this.#armRetireTimer()
    return drained
  }

  #armRetireTimer(): void {
    if (this.#retireIdleMs === undefined || this.#busy.size + this.#opening + this.#waiters.length > 0) return
    clearTimeout(this.#idleTimer)
    this.#idleTimer = setTimeout(() => {
      // Used again meanwhile: its next release arms the timer anew.
      if (this.#busy.size + this.#opening + this.#waiters.length > 0) return
      for (const c of this.#idle.splice(0)) this.#discard(c, this.#log)
      for (const resolve of this.#drained.splice(0)) resolve()
    }, this.#retireIdleMs)
    this.#idleTimer.unref?.()
  }

  /** Runs `fn` on a pooled connection; a transport failure or an abort retires the connection. */
  async use<T>(fn: (c: RfcClient) => Promise<T>, signal?: AbortSignal, log: SapLog = this.#log): Promise<T> {
    const c = await this.acquire(signal, log)
    let broken = false
    try {
      return await fn(c)
    } catch (e) {
      broken = isConnectionFailure(e) || signal?.aborted === true
      throw e
    } finally {
      this.release(c, broken, log)
    }
  }

  /**
   * One call on a pooled connection. `retries` > 0 repeats it on a fresh connection after a
   * communication failure (exponential backoff): only for calls that read, never for ODQ requests.
   */
  async call(
    fm: string,
    params: Record<string, unknown>,
    opts: RfcCallOptions & { retries?: number; backoffMs?: number; log?: SapLog } = {},
  ): Promise<Record<string, unknown>> {
    const log = opts.log ?? this.#log
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.use((c) => rfcCall(c, fm, params, { ...opts, secrets: this.secrets }), opts.signal, log)
      } catch (e) {
        if (opts.signal?.aborted || !(e instanceof SourceError) || !e.retryable || attempt >= (opts.retries ?? 0)) throw e
        const wait = backoff({ baseMs: opts.backoffMs ?? 500, maxMs: MAX_BACKOFF_MS }, attempt)
        log('warn', `${fm} failed; retrying on a fresh connection`, {
          what: opts.what,
          attempt: attempt + 1,
          waitMs: wait,
          error: e.message,
        })
        await sleep(wait, undefined, { signal: opts.signal })
      }
    }
  }

  /** Closes idle connections now and busy ones when they come back; waiting callers are refused. */
  async closeAll(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#idleTimer)
    for (const w of this.#waiters.splice(0)) w.reject(new SourceError('SOURCE_UNAVAILABLE', 'the RFC connection pool was closed'))
    await Promise.all(this.#idle.splice(0).map((c) => closeQuietly(c)))
    for (const resolve of this.#drained.splice(0)) resolve()
  }

  async #open(log: SapLog, signal?: AbortSignal): Promise<RfcClient> {
    this.#opening++
    let client: RfcClient | undefined
    try {
      const c = (client = this.#factory(this.#params))
      const opening = c.open()
      // An abort while logging on: close the connection once the logon completes, not before.
      await raceAbort(opening, signal, () => opening.then(() => closeQuietly(c)))
      if (this.#closed) throw new SourceError('SOURCE_UNAVAILABLE', 'the RFC connection pool was closed')
      this.#busy.add(client)
      log('debug', 'RFC connection opened', { id: client.id, busy: this.#busy.size })
      return client
    } catch (e) {
      if (client) void closeQuietly(client)
      throw toSourceError(e, { functionModule: 'RFC logon', secrets: this.secrets })
    } finally {
      this.#opening--
      if (!client || !this.#busy.has(client)) {
        this.#wakeForOpen()
        this.#armRetireTimer()
      }
    }
  }

  /** A slot became free: let the first waiter open a new connection. */
  #wakeForOpen(): void {
    if (this.#closed || this.#waiters.length === 0 || this.#busy.size + this.#opening >= this.max) return
    const w = this.#waiters.shift()!
    this.#open(w.log).then((c) => {
      if (!w.resolve(c)) this.release(c, false, w.log)
    }, w.reject)
  }

  #discard(c: RfcClient, log: SapLog): void {
    log('debug', 'RFC connection retired', { id: c.id, alive: c.alive })
    void closeQuietly(c)
  }
}

/** Transport failures and cancellations leave a connection unusable (node-rfc closes it on cancel). */
function isConnectionFailure(e: unknown): boolean {
  if (e instanceof SourceError) return e.code === 'SOURCE_UNAVAILABLE'
  return e instanceof RfcAborted || (e instanceof Error && (e.name === 'AbortError' || e.name === 'TimeoutError'))
}

async function closeQuietly(c: RfcClient): Promise<void> {
  try {
    if (c.alive) await c.close()
  } catch {
    // Closing a broken connection may fail; it is gone either way.
  }
}

/**
 * `client.call` with an AbortSignal: on abort the running call is cancelled in SAP (node-rfc
 * `cancel`) and the promise rejects with the signal's reason. Driver errors become SourceErrors.
 */
export async function rfcCall(
  c: RfcClient,
  fm: string,
  params: Record<string, unknown>,
  opts: RfcCallOptions & { secrets?: readonly string[] } = {},
): Promise<Record<string, unknown>> {
  const { signal } = opts
  signal?.throwIfAborted()
  try {
    return await raceAbort(c.call(fm, params, opts.timeout ? { timeout: opts.timeout } : undefined), signal, () => c.cancel())
  } catch (e) {
    if (signal?.aborted) throw signal.reason
    throw toSourceError(e, { functionModule: fm, what: opts.what, secrets: opts.secrets })
  }
}
