import { afterEach, describe, expect, it, vi } from 'vitest'
import type { SapSimulator, SapSimulatorOptions } from '../../src/simulator/index.js'
import { SALES_ITEMS, startSapSimulator, TYPES_SET } from '../../src/simulator/index.js'
import { basic, DEMO_AUTH, expectSapError, get, readAll, tokenOf } from './helpers.js'

let sim: SapSimulator
afterEach(async () => {
  await sim.close()
})

async function start(opts: SapSimulatorOptions = {}): Promise<void> {
  sim = await startSapSimulator({ rows: { [SALES_ITEMS]: 25 }, ...opts })
}

const INIT = { prefer: 'odata.track-changes, odata.maxpagesize=10' }
const PAGED = { prefer: 'odata.maxpagesize=10' }

function salesUrl(query = ''): string {
  return `${sim.serviceUrl}/${SALES_ITEMS}?$format=json${query}`
}

function waitClosed(): Promise<void> {
  return vi.waitFor(() => expect(sim.admin.openRequests()).toBe(0), { timeout: 5_000, interval: 10 })
}

describe('one open extraction per subscription (A.6.6; golden scenario 6)', () => {
  it('refuses a second init or delta with RSODP_ODATA/013 while a paged read is open', async () => {
    await start({ users: { DEMO: 'Welcome1!', OTHER: 'x' } })
    const link = (await readAll(salesUrl(), INIT)).deltaLink!
    sim.admin.update(SALES_ITEMS, 8)
    const page1 = await get(`${link}&$format=json`, PAGED)
    expect(page1.status).toBe(200)
    expect(sim.admin.openRequests()).toBe(1)

    const second = expectSapError(
      await get(`${link}&$format=json`, PAGED),
      500,
      /Could not open data access via extraction API RODPS_REPL_ODP_OPEN/,
    )
    expect(second.code).toBe('RSODP_ODATA/013')
    expect(second.details.map((d) => d.code)).toContain('RSODP_ODATA/013')
    expectSapError(await get(salesUrl(), INIT), 500, /RODPS_REPL_ODP_OPEN/)
    // full reads and other users' subscriptions are not blocked
    expect((await get(salesUrl())).status).toBe(200)
    expect(
      (await readAll(salesUrl(), { ...INIT, authorization: basic('OTHER', 'x') }, { authorization: basic('OTHER', 'x') })).deltaLink,
    ).toBeDefined()

    const rest = await readAll(page1.json.d.__next)
    expect(page1.json.d.results.length + rest.rows.length).toBe(16)
    expect(sim.admin.openRequests()).toBe(0)
    expect((await readAll(`${rest.deltaLink!}&$format=json`, PAGED)).rows).toEqual([])
  })

  it('recovers a crashed delta: the read idles out, and the stored token re-delivers the same rows (golden scenario 4)', async () => {
    await start({ openRequestIdleMs: 150 })
    const link = (await readAll(salesUrl(), INIT)).deltaLink!
    sim.admin.update(SALES_ITEMS, 3)
    sim.admin.delete(SALES_ITEMS, 2)
    const small = { prefer: 'odata.maxpagesize=3' }
    const p1 = await get(`${link}&$format=json`, small)
    const p2 = await get(p1.json.d.__next, small)
    const seen = [...p1.json.d.results, ...p2.json.d.results]
    expect(seen).toHaveLength(6)
    // the client "crashes" here; its restart is refused while the abandoned read is open
    expectSapError(await get(`${link}&$format=json`, small), 500, /RODPS_REPL_ODP_OPEN/)
    await waitClosed()
    expectSapError(await get(p2.json.d.__next), 400, /not open/)
    const retry = await readAll(`${link}&$format=json`, small)
    expect(retry.rows).toHaveLength(8)
    expect(retry.rows.slice(0, 6)).toEqual(seen)
    expect(retry.rows.slice(6).map((r) => r.ODQ_CHANGEMODE)).toEqual(['D', 'D'])
  })

  it('ends a read whose client disconnects mid-response and takes back its unseen token', async () => {
    sim = await startSapSimulator({ rows: { [SALES_ITEMS]: 60_000 } })
    const ac = new AbortController()
    const res = await fetch(salesUrl(), { headers: { authorization: DEMO_AUTH, prefer: 'odata.track-changes' }, signal: ac.signal })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    await reader.read()
    ac.abort()
    await waitClosed()
    expect(sim.admin.subscriptions()[0].tokens).toEqual([])
    // the subscription is free again
    const again = await readAll(salesUrl('&$filter=' + encodeURIComponent("VBELN eq '0000000001'")), INIT)
    expect(again.rows).toHaveLength(5)
  })
})

describe('injected faults', () => {
  it('http-500 on page 2 leaves the read open: the same __next then serves the same page', async () => {
    await start()
    const clean = await readAll(salesUrl(), INIT)
    sim.admin.injectFault({ kind: 'http-500', page: 2, read: 'init' })
    const p1 = await get(salesUrl(), INIT)
    expect(p1.status).toBe(200)
    expectSapError(await get(p1.json.d.__next), 500, /injected fault/)
    expect(sim.admin.openRequests()).toBe(1)
    const rest = await readAll(p1.json.d.__next)
    expect([...p1.json.d.results, ...rest.rows]).toEqual(clean.rows)
    expect(tokenOf(rest.deltaLink!)).toMatch(/^D\d{14}_\d{9}$/)
    expect(sim.admin.stats().faultsFired).toBe(1)
  })

  it('with faultEndsRead, http-500 on page 2 ends the read: stale __next, re-init possible', async () => {
    await start({ variants: { faultEndsRead: true } })
    sim.admin.injectFault({ kind: 'http-500', page: 2, read: 'init' })
    const p1 = await get(salesUrl(), INIT)
    expectSapError(await get(p1.json.d.__next), 500, /injected fault/)
    expect(sim.admin.openRequests()).toBe(0)
    expectSapError(await get(p1.json.d.__next), 400, /not open/)
    const ok = await readAll(salesUrl(), INIT)
    expect(ok.rows).toHaveLength(25)
  })

  it('http-503 and http-429 carry Retry-After; http-401 carries WWW-Authenticate; each fires `times` times', async () => {
    await start()
    sim.admin.injectFault({ kind: 'http-503', page: 1, read: 'full', retryAfterSeconds: 7, times: 2 })
    const a = await get(salesUrl())
    expectSapError(a, 503)
    expect(a.headers.get('retry-after')).toBe('7')
    expectSapError(await get(salesUrl()), 503)
    expect((await get(salesUrl())).status).toBe(200)

    sim.admin.injectFault({ kind: 'http-429', page: 1, retryAfterSeconds: 1 })
    const b = await get(salesUrl())
    expectSapError(b, 429)
    expect(b.headers.get('retry-after')).toBe('1')

    sim.admin.injectFault({ kind: 'http-401', page: 2 })
    const p1 = await get(salesUrl(), PAGED)
    const c = await get(p1.json.d.__next)
    expectSapError(c, 401)
    expect(c.headers.get('www-authenticate')).toMatch(/^Basic realm="SAP NetWeaver Application Server/)
    expect(sim.admin.stats().faultsFired).toBe(4)
    // the paged read survived the failed page: retrying it goes on where it stopped
    expect(sim.admin.openRequests()).toBe(1)
    expect((await readAll(p1.json.d.__next)).rows).toHaveLength(15)
    expect(sim.admin.openRequests()).toBe(0)
  })

  it('drop sends headers and part of the page, then cuts the connection; the retried page arrives whole', async () => {
    await start()
    const clean = await readAll(salesUrl(), INIT)
    sim.admin.injectFault({ kind: 'drop', page: 3, read: 'init' })
    const p1 = await get(salesUrl(), INIT)
    const p2 = await get(p1.json.d.__next)
    const res = await fetch(p2.json.d.__next, { headers: { authorization: DEMO_AUTH } })
    expect(res.status).toBe(200)
    await expect(res.text()).rejects.toThrow()
    // the dropped last page never delivered its token, and the read is still there to retry
    expect(sim.admin.subscriptions()[0].tokens).toEqual([])
    expect(sim.admin.openRequests()).toBe(1)
    const p3 = await readAll(p2.json.d.__next)
    expect([...p1.json.d.results, ...p2.json.d.results, ...p3.rows]).toEqual(clean.rows)
    expect(sim.admin.subscriptions()[0].tokens).toEqual([tokenOf(p3.deltaLink!)])
  })

  it('with faultEndsRead, a dropped page ends the read', async () => {
    await start({ variants: { faultEndsRead: true } })
    sim.admin.injectFault({ kind: 'drop', page: 2, read: 'init' })
    const p1 = await get(salesUrl(), INIT)
    const res = await fetch(p1.json.d.__next, { headers: { authorization: DEMO_AUTH } })
    await expect(res.text()).rejects.toThrow()
    await waitClosed()
    expectSapError(await get(p1.json.d.__next), 400, /not open/)
  })

  it('slow delays the page, and faults match only their read kind and entity set', async () => {
    await start()
    sim.admin.injectFault({ kind: 'http-500', page: 1, read: 'delta' })
    sim.admin.injectFault({ kind: 'http-500', page: 1, entitySet: TYPES_SET })
    sim.admin.injectFault({ kind: 'slow', page: 1, read: 'full', entitySet: SALES_ITEMS, delayMs: 300 })
    const t0 = performance.now()
    const slow = await get(salesUrl())
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290)
    expect(slow.json.d.results).toHaveLength(25)
    const link = (await readAll(salesUrl(), INIT)).deltaLink!
    expectSapError(await get(`${link}&$format=json`), 500)
    expect((await readAll(`${link}&$format=json`)).deltaLink).toBeDefined()
    expectSapError(await get(`${sim.serviceUrl}/${TYPES_SET}?$format=json`), 500)
    sim.admin.injectFault({ kind: 'http-500', page: 1 })
    sim.admin.clearFaults()
    expect((await get(salesUrl())).status).toBe(200)
    expect(sim.admin.stats().faultsFired).toBe(3)
  })

  it('closes a paged read that idles longer than openRequestIdleMs', async () => {
    await start({ openRequestIdleMs: 100 })
    const p1 = await get(salesUrl(), INIT)
    expect(sim.admin.openRequests()).toBe(1)
    await waitClosed()
    expectSapError(await get(p1.json.d.__next), 400, /not open/)
    const link = (await readAll(salesUrl(), INIT)).deltaLink!
    expect(tokenOf(link)).toMatch(/^D\d{14}_\d{9}$/)
  })

  it('delays every data page by latencyMs', async () => {
    await start({ latencyMs: 60 })
    const t0 = performance.now()
    const r = await readAll(salesUrl(), PAGED)
    expect(r.rows).toHaveLength(25)
    expect(performance.now() - t0).toBeGreaterThanOrEqual(3 * 55)
  })

  it('counts requests, data pages and paths', async () => {
    await start()
    await readAll(salesUrl(), PAGED)
    await get(`${sim.serviceUrl}/$metadata`)
    const stats = sim.admin.stats()
    expect(stats.dataPages).toBe(3)
    expect(stats.requests).toBe(4)
    expect(stats.byPath[`/sap/opu/odata/sap/ZDELTA_DEMO_SRV/${SALES_ITEMS}`]).toBe(3)
    expect(stats.byPath['/sap/opu/odata/sap/ZDELTA_DEMO_SRV/$metadata']).toBe(1)
  })
})
