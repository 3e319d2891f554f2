import { afterEach, beforeEach, expect, it } from 'vitest'
import type { SapSimulator } from '../../src/simulator/index.js'
import { MATERIALS, SALES_ITEMS, startSapSimulator, TYPES_SET } from '../../src/simulator/index.js'
import { basic, DEMO_AUTH, get } from './helpers.js'

let sim: SapSimulator
beforeEach(async () => {
  sim = await startSapSimulator({ rows: { [SALES_ITEMS]: 12 }, users: { DEMO: 'Welcome1!', OTHER: 'Secret1!' } })
})
afterEach(async () => {
  await sim.close()
})

it('counts the requests it serves at once, per SAP user and in total, and keeps the highest count', async () => {
  // Each first page is held for a while, so the four reads are being served at the same time.
  sim.admin.injectFault({ kind: 'slow', page: 1, times: 4, delayMs: 400 })
  const reads = [
    get(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json`, { authorization: DEMO_AUTH }),
    get(`${sim.serviceUrl}/${TYPES_SET}?$format=json`, { authorization: DEMO_AUTH }),
    get(`${sim.serviceUrl}/${MATERIALS}?$format=json`, { authorization: DEMO_AUTH }),
    get(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json`, { authorization: basic('other', 'Secret1!') }),
  ]
  await expect.poll(() => sim.admin.stats().inFlight.current).toBe(4)
  expect((await Promise.all(reads)).map((r) => r.status)).toEqual([200, 200, 200, 200])

  const { inFlight } = sim.admin.stats()
  expect(inFlight).toEqual({
    current: 0,
    max: 4,
    byUser: { DEMO: { current: 0, max: 3 }, OTHER: { current: 0, max: 1 } },
  })
  const overHttp = await (await fetch(`${sim.url}/sim/admin/stats`)).json()
  expect(overHttp.inFlight).toEqual(inFlight)
})

it('counts a request the client gave up on only until it left', async () => {
  sim.admin.injectFault({ kind: 'slow', page: 1, delayMs: 10_000 })
  const gaveUp = new AbortController()
  const read = fetch(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json`, { headers: { authorization: DEMO_AUTH }, signal: gaveUp.signal })
  await expect.poll(() => sim.admin.stats().inFlight.current).toBe(1)
  gaveUp.abort()
  await expect(read).rejects.toThrow()
  await expect.poll(() => sim.admin.stats().inFlight.current).toBe(0)
  expect(sim.admin.stats().inFlight.max).toBe(1)
})
