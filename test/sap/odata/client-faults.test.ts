/** Failures: injected faults, auth, unknown sets, lost positions, busy subscriptions, aborts. */
import { describe, expect, it } from 'vitest'
import { ODataOdpClient } from '../../../src/sap/odata/index.js'
import { expectedRow } from './expected.js'
import { client, drain, PASSWORD, SALES, sim, sourceError, tableRows, USER } from './sim.js'

describe('ODataOdpClient failures (simulator)', () => {
  it.each(['http-500', 'http-503', 'http-429', 'drop'] as const)('%s on page 1 of an init is retried: same rows, a token', async (kind) => {
    const s = await sim({ rows: { [SALES]: 30 } })
    s.admin.injectFault({ kind, page: 1, read: 'init' })
    const c = client(s)
    const r = await c.read({ entitySet: SALES, mode: 'DELTA_INIT', pageSize: 10 })
    const d = await drain(r)
    expect(d.rows).toEqual((await tableRows(s, SALES)).map((t) => expectedRow(r.columns, t)))
    expect(d.end.deltaToken).toBeDefined()
    expect(s.admin.stats().faultsFired).toBe(1)
  })

  // sap-protocols / brief: a retried page re-requests the same URL and the server keeps the read open.
  it.each(['http-500', 'http-503', 'drop'] as const)('%s on page 2 is retried on the same URL: same rows', async (kind) => {
    const s = await sim({ rows: { [SALES]: 30 } })
    s.admin.injectFault({ kind, page: 2, read: 'full', retryAfterSeconds: kind === 'http-503' ? 0 : undefined })
    const c = client(s)
    const r = await c.read({ entitySet: SALES, mode: 'FULL', pageSize: 10 })
    const d = await drain(r)
    expect(s.admin.stats().faultsFired).toBe(1)
    expect(d.rows).toEqual((await tableRows(s, SALES)).map((t) => expectedRow(r.columns, t)))
  })

  it('a page the server cannot resume after a fault fails retryable (SOURCE_UNAVAILABLE), not as a bad request', async () => {
    const s = await sim({ rows: { [SALES]: 30 } })
    s.admin.injectFault({ kind: 'http-500', page: 2, read: 'full' })
    const c = client(s)
    const r = await c.read({ entitySet: SALES, mode: 'FULL', pageSize: 10 })
    let err: unknown
    const got: number[] = []
    try {
      for await (const p of r.pages) got.push(p.rows.length)
    } catch (e) {
      err = e
    }
    // Either the server resumed the page (the reference behaviour) or the run must be retryable.
    if (err === undefined) expect(got).toEqual([10, 10, 10])
    else expect(err).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true })
  })

  it('401 on page 2 → SOURCE_AUTH at once, not retried', async () => {
    const s = await sim({ rows: { [SALES]: 30 } })
    s.admin.injectFault({ kind: 'http-401', page: 2, times: 5 })
    const c = client(s)
    const r = await c.read({ entitySet: SALES, mode: 'FULL', pageSize: 10 })
    const before = s.admin.stats().requests
    const e = await sourceError(drain(r))
    expect(e).toMatchObject({ code: 'SOURCE_AUTH', httpStatus: 401, retryable: false })
    expect(s.admin.stats().requests - before).toBe(2)
    expect(s.admin.stats().faultsFired).toBe(1)
  })

  it('5xx beyond the retries → SOURCE_UNAVAILABLE naming the attempts', async () => {
    const s = await sim({ rows: { [SALES]: 5 } })
    s.admin.injectFault({ kind: 'http-500', page: 1, times: 10 })
    const c = client(s, { retries: 2 })
    const e = await sourceError(drain(await c.read({ entitySet: SALES, mode: 'FULL', pageSize: 10 })))
    expect(e).toMatchObject({ code: 'SOURCE_UNAVAILABLE', httpStatus: 500, retryable: true })
    expect(e.message).toContain('gave up after 3 attempts')
    expect(s.admin.stats().faultsFired).toBe(3)
  })

  it('Retry-After of a 429 is honoured', async () => {
    const s = await sim({ rows: { [SALES]: 5 } })
    s.admin.injectFault({ kind: 'http-429', page: 1, retryAfterSeconds: 1 })
    const c = client(s)
    const t0 = performance.now()
    const d = await drain(await c.read({ entitySet: SALES, mode: 'FULL', pageSize: 10 }))
    expect(performance.now() - t0).toBeGreaterThanOrEqual(950)
    expect(d.rows).toHaveLength(5)
  })

  it.each([410, 400] as const)('expired token (status %s) → DELTA_POSITION_LOST, no re-init', async (status) => {
    const s = await sim({ rows: { [SALES]: 5 }, variants: { expiredTokenStatus: status } })
    const c = client(s)
    const first = await drain(await c.read({ entitySet: SALES, mode: 'DELTA_INIT', pageSize: 10 }))
    s.admin.expireTokens(SALES)
    const e = await sourceError(drain(await c.read({ entitySet: SALES, mode: 'DELTA', pageSize: 10, deltaLink: first.end.deltaLink })))
    expect(e).toMatchObject({ code: 'DELTA_POSITION_LOST', httpStatus: status, retryable: false })
    // Never silently re-baselined: the only init is the first one.
    expect(s.admin.subscriptions()[0].tokens).toEqual([first.end.deltaToken])
  })

  it('oldTokens "gone": a token older than the last used one is a lost position', async () => {
    const s = await sim({ rows: { [SALES]: 5 }, variants: { oldTokens: 'gone' } })
    const c = client(s)
    const first = await drain(await c.read({ entitySet: SALES, mode: 'DELTA_INIT', pageSize: 10 }))
    s.admin.insert(SALES, 1)
    const second = await drain(await c.read({ entitySet: SALES, mode: 'DELTA', pageSize: 10, deltaLink: first.end.deltaLink }))
    expect(second.rows).toHaveLength(1)
    // Using the newer token (the consumer committed the first delta) kills the older one.
    await drain(await c.read({ entitySet: SALES, mode: 'DELTA', pageSize: 10, deltaLink: second.end.deltaLink }))
    const e = await sourceError(drain(await c.read({ entitySet: SALES, mode: 'DELTA', pageSize: 10, deltaLink: first.end.deltaToken })))
    expect(e.code).toBe('DELTA_POSITION_LOST')
  })

  it('a second open read of the subscription → SOURCE_BUSY (RSODP_ODATA/013)', async () => {
    const s = await sim({ rows: { [SALES]: 30 } })
    const c = client(s)
    const a = await c.read({ entitySet: SALES, mode: 'DELTA_INIT', pageSize: 10 })
    const it = a.pages[Symbol.asyncIterator]()
    expect((await it.next()).value.rows).toHaveLength(10) // the server now holds the read open
    const e = await sourceError(drain(await c.read({ entitySet: SALES, mode: 'DELTA_INIT', pageSize: 10 })))
    expect(e).toMatchObject({ code: 'SOURCE_BUSY', sapCode: 'RSODP_ODATA/013', httpStatus: 500, retryable: true })
    await it.return?.()
  })

  it('abort mid-read stops at once with AbortError and is not retried', async () => {
    const s = await sim({ rows: { [SALES]: 30 } })
    s.admin.injectFault({ kind: 'slow', page: 2, delayMs: 10_000 })
    const c = client(s)
    const ac = new AbortController()
    const r = await c.read({ entitySet: SALES, mode: 'FULL', pageSize: 10, signal: ac.signal })
    const it = r.pages[Symbol.asyncIterator]()
    expect((await it.next()).value.rows).toHaveLength(10)
    const pending = it.next()
    const t0 = performance.now()
    setImmediate(() => ac.abort())
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
    expect(performance.now() - t0).toBeLessThan(2000)
    await expect(r.end()).rejects.toMatchObject({ name: 'AbortError' })
    const requests = s.admin.stats().requests
    await expect(c.read({ entitySet: SALES, mode: 'FULL', pageSize: 10, signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' })
    expect(s.admin.stats().requests).toBe(requests)
  })

  it('wrong password → SOURCE_AUTH without the password in the message', async () => {
    const s = await sim()
    const c = client(s, {}, 'wrong-Secret-42')
    const e = await sourceError(c.entitySet(SALES))
    expect(e).toMatchObject({ code: 'SOURCE_AUTH', httpStatus: 401 })
    expect(e.message).not.toContain('wrong-Secret-42')
    expect((await sourceError(c.ping())).code).toBe('SOURCE_AUTH')
    const wrongClient = new ODataOdpClient({ serviceUrl: s.serviceUrl, user: USER, password: PASSWORD, sapClient: '999' }, { retries: 0 })
    expect((await sourceError(wrongClient.ping())).code).toBe('SOURCE_AUTH')
  })

  it('unknown entity set and unknown service → SOURCE_NOT_FOUND', async () => {
    const s = await sim()
    const c = client(s)
    const e = await sourceError(c.read({ entitySet: 'EntityOfNOPE', mode: 'FULL', pageSize: 10 }))
    expect(e.code).toBe('SOURCE_NOT_FOUND')
    expect(e.message).toContain('EntityOfNOPE')
    expect(e.message).toContain('EntityOfZSALES_ITEMS')
    const other = new ODataOdpClient(
      { serviceUrl: `${s.url}/sap/opu/odata/sap/ZNOPE_SRV`, user: USER, password: PASSWORD, sapClient: '100' },
      { retries: 0 },
    )
    expect((await sourceError(other.listEntitySets())).code).toBe('SOURCE_NOT_FOUND')
  })

  it('DELTA without a link, DELTA on a FULL-only misuse and a bad page size are refused up front', async () => {
    const s = await sim({ rows: { [SALES]: 5 } })
    const c = client(s)
    expect((await sourceError(c.read({ entitySet: SALES, mode: 'DELTA', pageSize: 10 }))).code).toBe('SOURCE_BAD_REQUEST')
    expect((await sourceError(c.read({ entitySet: SALES, mode: 'FULL', pageSize: 0 }))).code).toBe('SOURCE_BAD_REQUEST')
    expect((await sourceError(c.read({ entitySet: SALES, mode: 'FULL', pageSize: 5, select: ['NOPE'] }))).message).toContain(
      'unknown field NOPE in select',
    )
  })
})

describe('a read the server closed while the consumer idled', () => {
  it('the next page is refused → SOURCE_UNAVAILABLE (retryable run), not a bad request', async () => {
    const s = await sim({ rows: { [SALES]: 30 }, openRequestIdleMs: 50 })
    const c = client(s)
    const r = await c.read({ entitySet: SALES, mode: 'FULL', pageSize: 10 })
    const it = r.pages[Symbol.asyncIterator]()
    expect((await it.next()).value.rows).toHaveLength(10)
    await expect.poll(() => s.admin.openRequests(), { timeout: 5000 }).toBe(0)
    const e = await sourceError(it.next())
    expect(e).toMatchObject({ code: 'SOURCE_UNAVAILABLE', httpStatus: 400, retryable: true })
    expect(e.message).toContain('SAP no longer serves the next page of this read')
  })
})
