/**
 * The connection pool's own rules, with a fake node-rfc-shaped client (tests only; the sources are
 * tested against the RFC simulator).
 */
import { describe, expect, it } from 'vitest'
import { SourceError } from '../../../src/sap/errors.js'
import { RfcPool, rfcCall } from '../../../src/sap/rfc/pool.js'
import type { RfcClient, RfcConnectionParameters } from '../../../src/sap/rfc/rfc-client.js'

class FakeClient implements RfcClient {
  alive = false
  opened = 0
  closed = 0
  cancelled = 0
  private pending?: { reject: (e: unknown) => void }
  constructor(
    readonly id: number,
    private readonly behaviour: { failLogon?: boolean; hang?: boolean; openGate?: Promise<void> } = {},
  ) {}
  async open() {
    await this.behaviour.openGate
    if (this.behaviour.failLogon)
      throw { name: 'RfcLibError', group: 3, code: 2, key: 'RFC_LOGON_FAILURE', message: 'Name or password is incorrect (repeat logon)' }
    this.alive = true
    this.opened++
    return this
  }
  async close() {
    this.alive = false
    this.closed++
  }
  async ping() {
    return this.alive
  }
  async cancel() {
    this.cancelled++
    this.alive = false
    this.pending?.reject({ name: 'RfcLibError', group: 4, code: 7, key: 'RFC_CANCELED', message: 'Connection was canceled.' })
  }
  call(fm: string): Promise<Record<string, unknown>> {
    if (fm === 'BREAK') {
      // node-rfc reconnects after a communication failure, so `alive` stays true: only the pool can retire it
      return Promise.reject({
        name: 'RfcLibError',
        group: 4,
        code: 1,
        key: 'RFC_COMMUNICATION_FAILURE',
        message: '\nLOCATION    CPIC\nERROR       connection to partner broken',
      })
    }
    if (this.behaviour.hang || fm === 'HANG') return new Promise((_, reject) => (this.pending = { reject }))
    return Promise.resolve({ fm, id: this.id })
  }
}

function fakeFactory(behaviour: { failLogon?: boolean; openGate?: Promise<void> } = {}) {
  const made: FakeClient[] = []
  return { made, factory: (_p: RfcConnectionParameters) => made[made.push(new FakeClient(made.length + 1, behaviour)) - 1] }
}

const PARAMS = { client: '100', user: 'U', passwd: 'TopSecret1' }

describe('RfcPool', () => {
  it('opens at most max connections; further callers wait and get a released one', async () => {
    const { made, factory } = fakeFactory()
    const pool = new RfcPool(factory, PARAMS, { max: 2 })
    const a = await pool.acquire()
    const b = await pool.acquire()
    expect(pool.stats).toEqual({ open: 2, busy: 2, idle: 0, waiting: 0 })
    const third = pool.acquire()
    expect(pool.stats.waiting).toBe(1)
    pool.release(a)
    expect(await third).toBe(a)
    pool.release(b)
    expect(pool.stats).toEqual({ open: 2, busy: 1, idle: 1, waiting: 0 })
    expect(made).toHaveLength(2)
    // many parallel calls never exceed the limit
    let peak = 0
    await Promise.all(
      Array.from({ length: 20 }, () =>
        pool.use(async (c) => {
          peak = Math.max(peak, pool.stats.busy)
          return rfcCall(c, 'RFC_PING', {})
        }),
      ),
    )
    pool.release(await third)
    expect(peak).toBe(2)
    expect(made).toHaveLength(2)
    await pool.closeAll()
    expect(made.every((c) => !c.alive)).toBe(true)
  })

  it('a waiting acquire honours its AbortSignal and the acquire timeout', async () => {
    const { factory } = fakeFactory()
    const pool = new RfcPool(factory, PARAMS, { max: 1, acquireTimeoutMs: 30 })
    const held = await pool.acquire()
    const ctl = new AbortController()
    const waiting = pool.acquire(ctl.signal)
    ctl.abort(new Error('stop'))
    await expect(waiting).rejects.toThrow('stop')
    const timedOut = pool.acquire()
    await expect(timedOut).rejects.toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true })
    expect(pool.stats.waiting).toBe(0)
    pool.release(held)
  })

  it('a connection broken by a communication failure is evicted and replaced', async () => {
    const { made, factory } = fakeFactory()
    const pool = new RfcPool(factory, PARAMS, { max: 1 })
    const err = await pool.call('BREAK', {}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SourceError)
    expect(err).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true })
    expect((err as Error).message).toContain('connection to partner broken')
    expect(made[0]).toMatchObject({ closed: 1, alive: false })
    expect(await pool.call('RFC_PING', {})).toEqual({ fm: 'RFC_PING', id: 2 })
    expect(made).toHaveLength(2)
  })

  it('aborting a running call cancels it in SAP, rejects with the reason and retires the connection', async () => {
    const { made, factory } = fakeFactory()
    const pool = new RfcPool(factory, PARAMS, { max: 1 })
    const ctl = new AbortController()
    const running = pool.call('HANG', {}, { signal: ctl.signal })
    await new Promise((r) => setImmediate(r))
    ctl.abort(new DOMException('cancelled by user', 'AbortError'))
    await expect(running).rejects.toThrow('cancelled by user')
    expect(made[0].cancelled).toBe(1)
    expect(pool.stats.open).toBe(0)
    expect(await pool.call('RFC_PING', {})).toMatchObject({ id: 2 })
  })

  it('a failed logon is SOURCE_AUTH without the password, and frees its slot', async () => {
    const { factory } = fakeFactory({ failLogon: true })
    const pool = new RfcPool(factory, PARAMS, { max: 1 })
    const e = (await pool.acquire().catch((x: unknown) => x)) as SourceError
    expect(e).toBeInstanceOf(SourceError)
    expect(e.code).toBe('SOURCE_AUTH')
    expect(e.message).toMatch(/Name or password is incorrect/)
    expect(e.message).not.toContain('TopSecret1')
    expect(pool.stats.open).toBe(0)
  })

  it('a waiter that gives up while its connection is being opened does not leak it', async () => {
    let open!: () => void
    const gate = new Promise<void>((r) => (open = r))
    const { made, factory } = fakeFactory()
    const pool = new RfcPool((p) => (made.length === 0 ? factory(p) : fakeFactory({ openGate: gate }).factory(p)), PARAMS, { max: 1 })
    const held = await pool.acquire()
    const ctl = new AbortController()
    const waiting = pool.acquire(ctl.signal)
    pool.release(held, true) // broken: its slot goes to a new connection for the waiter
    ctl.abort(new Error('gave up'))
    await expect(waiting).rejects.toThrow('gave up')
    open()
    await new Promise((r) => setImmediate(r))
    expect(pool.stats).toEqual({ open: 1, busy: 0, idle: 1, waiting: 0 })
    const next = await pool.acquire()
    expect(next.alive).toBe(true)
    pool.release(next)
  })

  it('retire lets reads in flight finish on the same connections, and closes them once the pool sits unused', async () => {
    const { made, factory } = fakeFactory()
    const pool = new RfcPool(factory, PARAMS, { max: 1 })
    const held = await pool.acquire()
    const waiting = pool.acquire()
    let drained = false
    const retired = pool.retire(50).then(() => (drained = true))
    pool.release(held)
    const next = await waiting // handed over, not refused
    expect(next).toBe(held)
    pool.release(next)
    // the next page of a read still holding the pool: the idle connection again, no new logon
    expect(await pool.call('RFC_PING', {})).toEqual({ fm: 'RFC_PING', id: 1 })
    expect(drained).toBe(false)
    await retired
    expect(made.map((c) => c.closed)).toEqual([1])
    expect(pool.stats).toEqual({ open: 0, busy: 0, idle: 0, waiting: 0 })
    // a late call (an ODP confirm after the commit) still works, on a new connection
    expect(await pool.call('RFC_PING', {})).toEqual({ fm: 'RFC_PING', id: 2 })
  })

  it("logs what it does for a caller in that caller's log, and only what it does on its own in the pool's", async () => {
    const { factory } = fakeFactory()
    const lines: string[] = []
    const logOf = (who: string) => (_level: string, msg: string) => void lines.push(`${who}: ${msg}`)
    const pool = new RfcPool(factory, PARAMS, { max: 1, log: logOf('pool') })
    const held = await pool.acquire(undefined, logOf('run 1'))
    const waiting = pool.acquire(undefined, logOf('run 2'))
    pool.release(held, true, logOf('run 1')) // broken: its slot goes to a new connection for run 2
    pool.release(await waiting, false, logOf('run 2'))
    await expect(pool.call('BREAK', {}, { retries: 1, backoffMs: 1, log: logOf('run 3') })).rejects.toMatchObject({
      code: 'SOURCE_UNAVAILABLE',
    })
    expect(await pool.call('RFC_PING', {}, { log: logOf('run 4') })).toMatchObject({ fm: 'RFC_PING' })
    await pool.retire(1) // closes the idle connection on nobody's behalf
    expect(lines).toEqual([
      'run 1: RFC connection opened',
      'run 1: RFC connection retired',
      'run 2: RFC connection opened',
      'run 3: RFC connection retired',
      'run 3: BREAK failed; retrying on a fresh connection',
      'run 3: RFC connection opened',
      'run 3: RFC connection retired',
      'run 4: RFC connection opened',
      'pool: RFC connection retired',
    ])
  })

  it('closeAll refuses waiters and closes connections as they come back', async () => {
    const { made, factory } = fakeFactory()
    const pool = new RfcPool(factory, PARAMS, { max: 1 })
    const held = await pool.acquire()
    const waiting = pool.acquire()
    await pool.closeAll()
    await expect(waiting).rejects.toMatchObject({ code: 'SOURCE_UNAVAILABLE' })
    pool.release(held)
    expect(made[0].alive).toBe(false)
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'SOURCE_UNAVAILABLE' })
  })
})
