import { afterEach, describe, expect, it } from 'vitest'
import type { SapSimulator } from '../../src/simulator/index.js'
import { SALES_ITEMS, startSapSimulator, TYPES_SET } from '../../src/simulator/index.js'
import { collect, expectSapError, get, loadModel, readAll, stripMeta, toSapRow } from './helpers.js'

let sim: SapSimulator
afterEach(async () => {
  await sim.close()
})

describe('full read with server-driven paging (A.6.1, A.6.2)', () => {
  it('pages with odata.maxpagesize to the exact row count; rows equal the table', async () => {
    sim = await startSapSimulator({ rows: { [SALES_ITEMS]: 1234 } })
    const model = await loadModel(sim)
    const result = await readAll(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json&sap-client=100`, { prefer: 'odata.maxpagesize=500' })
    expect(result.pages.map((p) => p.json.d.results.length)).toEqual([500, 500, 234])
    expect(result.rows).toHaveLength(1234)
    expect(result.deltaLink).toBeUndefined()
    expect(result.pages.at(-1)!.json.d.__next).toBeUndefined()

    const first = result.pages[0].json.d.__next as string
    expect(first.startsWith(`${sim.serviceUrl}/${SALES_ITEMS}?`)).toBe(true)
    const params = new URL(first).searchParams
    expect(params.get('$format')).toBe('json')
    expect(params.get('sap-client')).toBe('100')
    // opaque: not the offset of the next row
    expect(params.get('$skiptoken')).not.toMatch(/^'?\d+'?$/)

    const expected = await collect(sim.admin.rows(SALES_ITEMS))
    const got = result.rows.map((r) => toSapRow(r, model.get(SALES_ITEMS)!))
    expect(got).toEqual(expected)
    for (const r of result.rows) {
      expect(r.ODQ_CHANGEMODE).toBe('')
      expect(r.ODQ_ENTITYCNTR).toBe('0')
    }
    const meta = result.rows[0].__metadata as { id: string; uri: string; type: string }
    expect(meta.id).toBe(`${sim.serviceUrl}/${SALES_ITEMS}(VBELN='0000000001',POSNR='000010',ODQ_CHANGEMODE='',ODQ_ENTITYCNTR=0M)`)
    expect(meta.uri).toBe(meta.id)
    expect(meta.type).toBe(`ZDELTA_DEMO_SRV.${SALES_ITEMS}`)
    // a full read opens no subscription and leaves no read open
    expect(sim.admin.subscriptions()).toEqual([])
    expect(sim.admin.openRequests()).toBe(0)
  })

  it('echoes preference-applied on the last page only, or on every page as a variant', async () => {
    sim = await startSapSimulator({ rows: { [SALES_ITEMS]: 25 } })
    const url = `${sim.serviceUrl}/${SALES_ITEMS}?$format=json`
    let result = await readAll(url, { prefer: 'odata.maxpagesize=10' })
    expect(result.pages.map((p) => p.headers.get('preference-applied'))).toEqual([null, null, 'odata.maxpagesize=10'])
    sim.admin.setVariants({ preferenceAppliedOnLastPage: false })
    result = await readAll(url, { prefer: 'odata.maxpagesize=10' })
    expect(result.pages.map((p) => p.headers.get('preference-applied'))).toEqual([
      'odata.maxpagesize=10',
      'odata.maxpagesize=10',
      'odata.maxpagesize=10',
    ])
  })

  it('returns the whole set in one page without maxpagesize', async () => {
    sim = await startSapSimulator({ rows: { [SALES_ITEMS]: 3001 } })
    const reply = await get(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json`)
    expect(reply.json.d.results).toHaveLength(3001)
    expect(reply.json.d.__next).toBeUndefined()
    expect(reply.headers.get('preference-applied')).toBeNull()
  })

  it('keeps a consistent snapshot while the table changes between pages', async () => {
    sim = await startSapSimulator({ rows: { [SALES_ITEMS]: 30 } })
    const before = await collect(sim.admin.rows(SALES_ITEMS))
    const model = await loadModel(sim)
    const page1 = await get(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json`, { prefer: 'odata.maxpagesize=10' })
    sim.admin.update(SALES_ITEMS, [{ VBELN: '0000000005', POSNR: '000010' }])
    sim.admin.delete(SALES_ITEMS, [{ VBELN: '0000000006', POSNR: '000050' }])
    sim.admin.insert(SALES_ITEMS, 3)
    const rest = await readAll(page1.json.d.__next)
    const rows = [...page1.json.d.results, ...rest.rows].map((r) => toSapRow(r, model.get(SALES_ITEMS)!))
    expect(rows).toEqual(before)
    const fresh = await readAll(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json`)
    expect(fresh.rows).toHaveLength(32)
  })

  it('generates identical data for one seed and different data for another', async () => {
    sim = await startSapSimulator({ seed: 7, rows: { [SALES_ITEMS]: 200 } })
    const a = (await get(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json`)).json.d.results.map(stripMeta)
    const aTypes = (await get(`${sim.serviceUrl}/${TYPES_SET}?$format=json`)).json.d.results.map(stripMeta)
    await sim.close()
    sim = await startSapSimulator({ seed: 7, rows: { [SALES_ITEMS]: 200 } })
    const b = (await get(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json`)).json.d.results.map(stripMeta)
    const bTypes = (await get(`${sim.serviceUrl}/${TYPES_SET}?$format=json`)).json.d.results.map(stripMeta)
    expect(b).toEqual(a)
    expect(bTypes).toEqual(aTypes)
    await sim.close()
    sim = await startSapSimulator({ seed: 8, rows: { [SALES_ITEMS]: 200 } })
    const c = (await get(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json`)).json.d.results.map(stripMeta)
    expect(c.map((r: Record<string, unknown>) => r.NETWR)).not.toEqual(a.map((r: Record<string, unknown>) => r.NETWR))
    // keys do not depend on the seed
    expect(c.map((r: Record<string, unknown>) => `${r.VBELN}/${r.POSNR}`)).toEqual(
      a.map((r: Record<string, unknown>) => `${r.VBELN}/${r.POSNR}`),
    )
  })

  it('has realistic sales data: NUMC zeros, initial dates, 24:00:00, negative amounts, non-ASCII text', async () => {
    sim = await startSapSimulator({ rows: { [SALES_ITEMS]: 2500 } })
    const rows = (await get(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json`)).json.d.results
    expect(
      rows.every(
        (r: { VBELN: string; POSNR: string; KUNNR: string }) =>
          /^\d{10}$/.test(r.VBELN) && /^\d{6}$/.test(r.POSNR) && /^\d{10}$/.test(r.KUNNR),
      ),
    ).toBe(true)
    const nullDates = rows.filter((r: { ERDAT: unknown }) => r.ERDAT === null).length
    expect(nullDates).toBeGreaterThan(20)
    expect(nullDates).toBeLessThan(100)
    expect(rows.filter((r: { ERZET: string }) => r.ERZET === 'PT24H00M00S').length).toBeGreaterThan(20)
    expect(rows.some((r: { NETWR: string }) => /^-\d+\.\d\d$/.test(r.NETWR))).toBe(true)
    expect(rows.every((r: { NETWR: string; KWMENG: string }) => /^-?\d+\.\d\d$/.test(r.NETWR) && /^-?\d+\.\d{3}$/.test(r.KWMENG))).toBe(
      true,
    )
    const texts = new Set(rows.map((r: { ARKTX: string }) => r.ARKTX))
    expect([...texts].some((t) => /[äöüß]/.test(t as string))).toBe(true)
    expect([...texts].some((t) => (t as string).includes('日本'))).toBe(true)
    expect([...texts].some((t) => (t as string).includes('"'))).toBe(true)
  })
})

describe('query options (A.7)', () => {
  it('projects with $select and rejects unknown properties', async () => {
    sim = await startSapSimulator({ rows: { [SALES_ITEMS]: 20 } })
    const reply = await get(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json&$select=VBELN,POSNR,NETWR`)
    expect(Object.keys(reply.json.d.results[0])).toEqual(['__metadata', 'VBELN', 'POSNR', 'NETWR'])
    expectSapError(await get(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json&$select=VBELN,NOPE`), 400, /Property 'NOPE' not found/)
  })

  it('filters with comparisons, and/or/not, parentheses and typed literals', async () => {
    sim = await startSapSimulator({ rows: { [SALES_ITEMS]: 500 } })
    const all = await collect(sim.admin.rows(SALES_ITEMS))
    const q = async (filter: string): Promise<Array<Record<string, unknown>>> => {
      const reply = await get(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json&$filter=${encodeURIComponent(filter)}`)
      expect(reply.status, reply.text).toBe(200)
      return reply.json.d.results
    }
    expect((await q("VBELN eq '0000000003'")).map((r) => r.POSNR)).toEqual(['000010', '000020', '000030', '000040', '000050'])
    const waerk = await q("(WAERK eq 'USD' or WAERK eq 'CHF') and not (POSNR eq '000010')")
    expect(waerk.length).toBe(all.filter((r) => (r.WAERK === 'USD' || r.WAERK === 'CHF') && r.POSNR !== '000010').length)
    expect(waerk.length).toBeGreaterThan(0)
    const dated = await q("ERDAT ge datetime'2020-01-01T00:00:00' and ERDAT lt datetime'2021-01-01T00:00:00'")
    expect(dated.length).toBe(all.filter((r) => (r.ERDAT as string) >= '20200101' && (r.ERDAT as string) < '20210101').length)
    // an initial date is '00000000' in ODP: it matches eq null
    expect((await q('ERDAT eq null')).length).toBe(all.filter((r) => r.ERDAT === '00000000').length)
    expect((await q('ARKTX eq \'Widget "Pro" 5\\8 inch\'')).length).toBe(all.filter((r) => r.ARKTX === 'Widget "Pro" 5\\8 inch').length)
    expect((await q("VBELN gt '0000000100'")).length).toBe(0)
    expect((await q("VBELN ge '0000000100'")).length).toBe(5)
  })

  it('rejects a filter on a non-filterable property with a SAP error', async () => {
    sim = await startSapSimulator({ rows: { [SALES_ITEMS]: 20 } })
    expectSapError(await get(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json&$filter=NETWR gt 100`), 400, /'NETWR' is not filterable/)
    expectSapError(await get(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json&$filter=ODQ_CHANGEMODE eq 'C'`), 400, /not filterable/)
    expectSapError(await get(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json&$filter=VBELN eq 42`), 400, /Invalid literal/)
    expectSapError(await get(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json&$filter=substringof('x',ARKTX)`), 400, /not supported/)
    expectSapError(await get(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json&$orderby=VBELN`), 400, /\$orderby/)
  })

  it('counts with $inlinecount=allpages on every page as a string', async () => {
    sim = await startSapSimulator({ rows: { [SALES_ITEMS]: 25 } })
    const result = await readAll(
      `${sim.serviceUrl}/${SALES_ITEMS}?$format=json&$inlinecount=allpages&$filter=${encodeURIComponent("VBELN le '0000000004'")}`,
      {
        prefer: 'odata.maxpagesize=7',
      },
    )
    expect(result.rows).toHaveLength(20)
    expect(result.pages.map((p) => p.json.d.__count)).toEqual(['20', '20', '20'])
  })

  it('supports $top and $skip on full reads', async () => {
    sim = await startSapSimulator({ rows: { [SALES_ITEMS]: 25 } })
    const reply = await get(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json&$skip=5&$top=3`)
    expect(reply.json.d.results.map((r: { VBELN: string; POSNR: string }) => `${r.VBELN}/${r.POSNR}`)).toEqual([
      '0000000002/000010',
      '0000000002/000020',
      '0000000002/000030',
    ])
  })
})
