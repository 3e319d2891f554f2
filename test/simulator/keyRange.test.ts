/**
 * A `$filter` with a range on the first key field is served like a database serves it from its
 * primary index (src/simulator/data/table.ts, slotsBetween): the rows are the ones a whole scan
 * finds, but only the range's rows are looked at — and a `$top=1` probe stops at its first match.
 * What a partitioned load's boundary probes count on (README, Partitioned loads).
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { SapSimulator } from '../../src/simulator/index.js'
import { MATERIALS, SALES_ITEMS, startSapSimulator } from '../../src/simulator/index.js'
import { get, readAll } from './helpers.js'

let sim: SapSimulator
afterEach(async () => {
  await sim.close()
})

const url = (set: string, query: string) => `${sim.serviceUrl}/${set}?$format=json&${query}`
const filter = (f: string) => `$filter=${encodeURIComponent(f)}`
const visited = () => sim.admin.stats().rowsVisited

describe('a key-range $filter (the primary index)', () => {
  it('returns the rows of the range, looking at no others', async () => {
    sim = await startSapSimulator({ rows: { [SALES_ITEMS]: 500_000 } })
    const before = visited()
    const { rows } = await readAll(url(SALES_ITEMS, filter("VBELN ge '0000050000' and VBELN lt '0000050002' and POSNR ne '000020'")))
    expect(rows.map((r) => `${r.VBELN}/${r.POSNR}`)).toEqual([
      '0000050000/000010',
      '0000050000/000030',
      '0000050000/000040',
      '0000050000/000050',
      '0000050001/000010',
      '0000050001/000030',
      '0000050001/000040',
      '0000050001/000050',
    ])
    // the range's documents (its upper bound taken inclusively), counted for the read's size and
    // served: tens of rows, not the table's 500,000
    expect(visited() - before).toBeLessThan(50)
  })

  it('answers a $top=1 probe from the first match, an empty range without reading a row', async () => {
    sim = await startSapSimulator({ rows: { [MATERIALS]: 400_000 } })
    const before = visited()
    const hit = await get(url(MATERIALS, `$select=MATNR&$top=1&${filter("MATNR ge '000000000010200000'")}`))
    expect(hit.json.d.results.map((r: { MATNR: string }) => r.MATNR)).toEqual(['000000000010200000'])
    const miss = await get(url(MATERIALS, `$select=MATNR&$top=1&${filter("MATNR lt '000000000009999999'")}`))
    expect(miss.json.d.results).toEqual([])
    expect(visited() - before).toBe(2)
  })

  it('keeps the scan for filters an index cannot serve, with the same rows', async () => {
    sim = await startSapSimulator({ rows: { [MATERIALS]: 300 } })
    const f = "MATNR lt '000000000010000005' or MATNR ge '000000000010000298'"
    const before = visited()
    const { rows } = await readAll(url(MATERIALS, filter(f)))
    expect(rows.map((r) => r.MATNR)).toEqual([0, 1, 2, 3, 4, 298, 299].map((i) => String(10_000_000 + i).padStart(18, '0')))
    expect(visited() - before).toBeGreaterThanOrEqual(300)
  })
})
