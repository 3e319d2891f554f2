/** Full reads, delta initialisation and deltas against the SAP simulator over HTTP. */
import { describe, expect, it } from 'vitest'
import type { Column, Row } from '../../../src/sap/fields.js'
import type { ODataOdpClient } from '../../../src/sap/odata/index.js'
import type { ChangeRef, SapSimulator, SimulatorVariants } from '../../../src/simulator/index.js'
import { expectedRow } from './expected.js'
import { client, drain, sim, SALES, sourceError, tableRows, TOKEN_RE } from './sim.js'

/** Delta rows the change log implies (docs/sap-protocols.md §0 table), in change order. */
function expectedDelta(
  columns: Column[],
  changes: ChangeRef[],
  images: SimulatorVariants['updateImages'] = 'before-and-after',
  insertsAsUpdates = false,
): Row[] {
  const out: Row[] = []
  for (const c of changes) {
    if (c.mode === 'C') out.push(expectedRow(columns, c.after!, insertsAsUpdates ? 'U' : 'C', '1'))
    else if (c.mode === 'D') out.push(expectedRow(columns, c.before!, 'D', '-1'))
    else {
      if (images === 'before-and-after') out.push(expectedRow(columns, c.before!, 'U', '-1'))
      out.push(expectedRow(columns, c.after!, 'U', '1'))
    }
  }
  return out
}

async function initAndChange(s: SapSimulator, c: ODataOdpClient, pageSize = 50) {
  const init = await c.read({ entitySet: SALES, mode: 'DELTA_INIT', pageSize })
  const first = await drain(init)
  const table = await tableRows(s, SALES)
  const seen = s.admin.changeLog(SALES).length
  s.admin.insert(SALES, 3)
  s.admin.update(SALES, 4)
  s.admin.delete(SALES, 2)
  const changes = s.admin.changeLog(SALES).slice(seen)
  return { init, first, changes, table }
}

describe('ODataOdpClient reads (simulator)', () => {
  it('metadata: entity sets and the column model', async () => {
    const s = await sim({ rows: { [SALES]: 10 } })
    const c = client(s)
    expect(await c.listEntitySets()).toEqual(['EntityOfZSALES_ITEMS', 'FactsOfZTYPES', 'AttrOfZMATERIAL'])
    const info = await c.entitySet(SALES)
    expect(info.keyFields).toEqual(['VBELN', 'POSNR'])
    expect(info.deltaCapable).toBe(true)
    expect(info.columns.map((x) => `${x.name}:${x.type.kind}`)).toEqual([
      'VBELN:string',
      'POSNR:string',
      'MATNR:string',
      'ARKTX:string',
      'KUNNR:string',
      'ERDAT:date',
      'ERZET:time',
      'NETWR:decimal',
      'WAERK:string',
      'KWMENG:decimal',
      'VRKME:string',
      'ODQ_CHANGEMODE:string',
      'ODQ_ENTITYCNTR:decimal',
    ])
    expect(info.columns.find((x) => x.name === 'NETWR')).toMatchObject({
      type: { kind: 'decimal', precision: 15, scale: 2 },
      unit: 'WAERK',
    })
    expect(info.filterable).not.toContain('NETWR')
    expect(info.filterable).not.toContain('ODQ_CHANGEMODE')
    expect((await c.ping()).latencyMs).toBeGreaterThanOrEqual(0)
  })

  it('FULL: pages of pageSize, every value equal to the table, no subscription, no token', async () => {
    const s = await sim({ rows: { [SALES]: 120 } })
    const c = client(s)
    const r = await c.read({ entitySet: SALES, mode: 'FULL', pageSize: 50 })
    const d = await drain(r)
    expect(d.pageSizes).toEqual([50, 50, 20])
    expect(d.indexes).toEqual([0, 1, 2])
    const table = await tableRows(s, SALES)
    expect(d.rows).toEqual(table.map((t) => expectedRow(r.columns, t)))
    expect(d.end).toEqual({ pages: 3, rows: 120 })
    expect(await c.subscribed(SALES)).toBe(false)
    // Spot-check the representation, not only equality with the helper.
    const [vbeln, posnr, , , , erdat, erzet, netwr] = d.rows[0]
    expect(vbeln).toBe(table[0].VBELN)
    expect(posnr).toMatch(/^\d{6}$/)
    expect(erdat === null || (erdat instanceof Date && erdat.getTime() % 86_400_000 === 0)).toBe(true)
    expect(Number.isSafeInteger(erzet)).toBe(true)
    expect(netwr).toMatch(/^-?\d+\.\d{2}$/)
    expect(d.rows.some((x) => x[5] === null)).toBe(true) // ERDAT nulls ('00000000')
  })

  it('DELTA_INIT then DELTA: init rows = table, delta rows = change log (C, U before/after, D)', async () => {
    const s = await sim({ rows: { [SALES]: 120 } })
    const c = client(s)
    const { init, first, changes, table } = await initAndChange(s, c)
    expect(first.rows).toEqual(table.map((t) => expectedRow(init.columns, t)))
    expect(first.rows.every((x) => x[11] === '' && x[12] === '0')).toBe(true)
    expect(first.end.deltaToken).toMatch(TOKEN_RE)
    expect(first.end.deltaLink).toContain(`!deltatoken='${first.end.deltaToken}'`)
    expect(await c.subscribed(SALES)).toBe(true)

    const delta = await c.read({ entitySet: SALES, mode: 'DELTA', pageSize: 4, deltaLink: first.end.deltaLink })
    const d = await drain(delta)
    expect(changes.map((x) => x.mode)).toEqual(['C', 'C', 'C', 'U', 'U', 'U', 'U', 'D', 'D'])
    expect(d.rows).toEqual(expectedDelta(delta.columns, changes))
    expect(d.rows).toHaveLength(3 + 8 + 2)
    expect(d.pageSizes).toEqual([4, 4, 4, 1])
    expect(d.end.deltaToken).toMatch(TOKEN_RE)
    expect(d.end.deltaToken).not.toBe(first.end.deltaToken)
    expect(init.columns).toEqual(delta.columns)

    // Nothing changed since: 0 rows, the same token (observed SAP behaviour, the simulator default).
    const empty = await drain(await c.read({ entitySet: SALES, mode: 'DELTA', pageSize: 4, deltaLink: d.end.deltaLink }))
    expect(empty).toMatchObject({ rows: [], pageSizes: [], end: { rows: 0, pages: 0, deltaToken: d.end.deltaToken } })

    // DeltaLinksOf lists both tokens, the init one flagged.
    const links = await c.deltaLinks(SALES)
    expect(links.map((l) => [l.token, l.isInitialLoad])).toEqual([
      [first.end.deltaToken, true],
      [d.end.deltaToken, false],
    ])
    expect(links[0].createdAt).toBeInstanceOf(Date)
  })

  it('DELTA from a bare token (repeat of a delta before commit) re-delivers the same rows', async () => {
    const s = await sim({ rows: { [SALES]: 30 } })
    const c = client(s)
    const { first, changes } = await initAndChange(s, c, 10)
    const a = await drain(await c.read({ entitySet: SALES, mode: 'DELTA', pageSize: 5, deltaLink: first.end.deltaToken }))
    const b = await drain(await c.read({ entitySet: SALES, mode: 'DELTA', pageSize: 5, deltaLink: first.end.deltaToken }))
    expect(a.rows).toEqual(b.rows)
    expect(a.rows.length).toBe(expectedDelta((await c.entitySet(SALES)).columns, changes).length)
  })

  it.each([
    ['delta', true],
    ['delta', false],
    ['terminal-next', true],
    ['terminal-next', false],
    ['absent', true],
    ['absent', false],
  ] as const)('token placement %s, quoted %s: multi-page init and delta keep the position', async (tokenPlacement, tokenQuoted) => {
    const s = await sim({ rows: { [SALES]: 25 }, variants: { tokenPlacement, tokenQuoted } })
    const logs: string[] = []
    const c = client(s, { log: (level, msg) => logs.push(`${level}:${msg}`) })
    const { first, changes } = await initAndChange(s, c, 10)
    expect(first.rows).toHaveLength(25)
    expect(first.pageSizes).toEqual([10, 10, 5])
    expect(first.end.deltaToken).toMatch(TOKEN_RE)
    const delta = await c.read({ entitySet: SALES, mode: 'DELTA', pageSize: 4, deltaLink: first.end.deltaLink })
    const d = await drain(delta)
    expect(d.rows).toEqual(expectedDelta(delta.columns, changes))
    expect(d.end.deltaToken).toMatch(TOKEN_RE)
    expect(d.end.deltaToken).not.toBe(first.end.deltaToken)
    // The token really is the server's newest: the following delta sees exactly the next change.
    s.admin.insert(SALES, 1)
    const next = await drain(await c.read({ entitySet: SALES, mode: 'DELTA', pageSize: 4, deltaLink: d.end.deltaLink }))
    expect(next.rows).toEqual(expectedDelta(delta.columns, s.admin.changeLog(SALES).slice(-1)))
    expect(logs.some((l) => l.includes('looking it up in DeltaLinksOf'))).toBe(tokenPlacement === 'absent')
  })

  it('delta pages whose __next carries the token and a $skiptoken (A.9 step 4) are pages, not the delta link', async () => {
    const s = await sim({ rows: { [SALES]: 10 }, variants: { nextLinkCarriesDeltaToken: true } })
    const c = client(s)
    const { first, changes } = await initAndChange(s, c)
    const delta = await c.read({ entitySet: SALES, mode: 'DELTA', pageSize: 2, deltaLink: first.end.deltaLink })
    const d = await drain(delta)
    expect(d.pageSizes).toEqual([2, 2, 2, 2, 2, 2, 1])
    expect(d.rows).toEqual(expectedDelta(delta.columns, changes))
    expect(d.end.deltaToken).not.toBe(first.end.deltaToken)
  })

  it('a stored DeltaLinksOf…(token)/ChangesAfter link is followed as a delta (A.6.4 form 3)', async () => {
    const s = await sim({ rows: { [SALES]: 10 } })
    const c = client(s)
    const { first, changes } = await initAndChange(s, c)
    const link = `${s.serviceUrl}/DeltaLinksOf${SALES}('${first.end.deltaToken}')/ChangesAfter`
    const delta = await c.read({ entitySet: SALES, mode: 'DELTA', pageSize: 5, deltaLink: link })
    const d = await drain(delta)
    expect(d.rows).toEqual(expectedDelta(delta.columns, changes))
    expect(d.end.deltaToken).toMatch(TOKEN_RE)
  })

  it('empty delta with emptyDeltaNewToken: a new token, 0 rows', async () => {
    const s = await sim({ rows: { [SALES]: 5 }, variants: { emptyDeltaNewToken: true } })
    const c = client(s)
    const first = await drain(await c.read({ entitySet: SALES, mode: 'DELTA_INIT', pageSize: 10 }))
    const d = await drain(await c.read({ entitySet: SALES, mode: 'DELTA', pageSize: 10, deltaLink: first.end.deltaLink }))
    expect(d.rows).toEqual([])
    expect(d.end.deltaToken).toMatch(TOKEN_RE)
    expect(d.end.deltaToken).not.toBe(first.end.deltaToken)
  })

  it('after-only images and inserts-as-updates (CDS CDC) arrive as the change log says', async () => {
    const s = await sim({ rows: { [SALES]: 10 }, variants: { updateImages: 'after-only', insertsAsUpdates: true } })
    const c = client(s)
    const { first, changes } = await initAndChange(s, c)
    const delta = await c.read({ entitySet: SALES, mode: 'DELTA', pageSize: 100, deltaLink: first.end.deltaLink })
    expect((await drain(delta)).rows).toEqual(expectedDelta(delta.columns, changes, 'after-only', true))
  })

  it('$select and $filter: projection with keys and ODQ fields, filtered rows, carried into the delta link', async () => {
    const s = await sim({ rows: { [SALES]: 60 } })
    const c = client(s)
    const table = await tableRows(s, SALES)
    const currency = String(table[0].WAERK)
    const init = await c.read({
      entitySet: SALES,
      mode: 'DELTA_INIT',
      pageSize: 7,
      select: ['NETWR', 'WAERK'],
      filter: `WAERK eq '${currency}'`,
    })
    expect(init.columns.map((x) => x.name)).toEqual(['VBELN', 'POSNR', 'NETWR', 'WAERK', 'ODQ_CHANGEMODE', 'ODQ_ENTITYCNTR'])
    const first = await drain(init)
    expect(first.rows).toEqual(table.filter((t) => t.WAERK === currency).map((t) => expectedRow(init.columns, t)))
    expect(first.end.deltaLink).toMatch(/\$select=/)

    const seen = s.admin.changeLog(SALES).length
    s.admin.update(SALES, 20)
    const changes = s.admin.changeLog(SALES).slice(seen)
    const delta = await c.read({ entitySet: SALES, mode: 'DELTA', pageSize: 7, deltaLink: first.end.deltaLink, select: ['NETWR', 'WAERK'] })
    expect(delta.columns).toEqual(init.columns)
    const expected = expectedDelta(delta.columns, changes).filter((r) => r[3] === currency)
    expect((await drain(delta)).rows).toEqual(expected)

    // Another selection against the same link is refused before any request.
    const e = await sourceError(
      c.read({ entitySet: SALES, mode: 'DELTA', pageSize: 7, deltaLink: first.end.deltaLink, select: ['KWMENG'] }),
    )
    expect(e.code).toBe('SOURCE_BAD_REQUEST')
    expect(e.message).toContain('a changed selection needs a new delta initialisation')
  })

  it('a filter on a non-filterable field is refused before any data request', async () => {
    const s = await sim({ rows: { [SALES]: 5 } })
    const c = client(s)
    await c.listEntitySets()
    const before = s.admin.stats().dataPages
    const e = await sourceError(c.read({ entitySet: SALES, mode: 'FULL', pageSize: 5, filter: 'NETWR gt 100' }))
    expect(e.code).toBe('SOURCE_BAD_REQUEST')
    expect(e.message).toContain('field NETWR cannot be filtered')
    expect(s.admin.stats().dataPages).toBe(before)
  })

  it('terminate ends the subscription; the old token is then a lost position', async () => {
    const s = await sim({ rows: { [SALES]: 5 } })
    const c = client(s)
    const first = await drain(await c.read({ entitySet: SALES, mode: 'DELTA_INIT', pageSize: 10 }))
    expect(await c.subscribed(SALES)).toBe(true)
    expect(await c.terminate(SALES)).toBe(true)
    expect(await c.subscribed(SALES)).toBe(false)
    const e = await sourceError(drain(await c.read({ entitySet: SALES, mode: 'DELTA', pageSize: 10, deltaLink: first.end.deltaLink })))
    expect(e.code).toBe('DELTA_POSITION_LOST')
    expect(e.retryable).toBe(false)
  })
})
