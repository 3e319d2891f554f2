/**
 * RFC_READ_TABLE's OPTIONS (WHERE) lines, ROWSKIPS/ROWCOUNT paging with its variants, the watermark
 * pattern and the S/4 interface (docs/sap-protocols.md C.2, C.4, C.6, C.7; golden scenario F.9).
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { RfcSimulator, SapRow, SimRfcClient } from '../../../src/simulator/rfc/index.js'
import type { FieldSlot } from './helpers.js'
import { allRows, expectAbapException, rejection, sliceWa, start } from './helpers.js'

let sim: RfcSimulator
let client: SimRfcClient
afterEach(async () => {
  await sim.close()
})

const KEY_FIELDS = [{ FIELDNAME: 'VBELN' }, { FIELDNAME: 'POSNR' }]

/** Keys 'VBELN/POSNR' of the rows a call returns. */
async function keys(options: string[], extra: Record<string, unknown> = {}): Promise<string[]> {
  const res = await client.call('RFC_READ_TABLE', {
    QUERY_TABLE: 'ZSD_ITEMS',
    FIELDS: KEY_FIELDS,
    OPTIONS: options.map((TEXT) => ({ TEXT })),
    ...extra,
  })
  return (res.DATA as Array<{ WA: string }>).map((d) => `${d.WA.slice(0, 10)}/${d.WA.slice(10, 16)}`)
}

function keysOf(rows: SapRow[]): string[] {
  return rows.map((r) => `${r.VBELN}/${r.POSNR}`)
}

describe('OPTIONS: the dynamic WHERE clause (C.2 step 5/6, C.6)', () => {
  it('joins the 72-character lines into one condition', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 50 } }))
    const rows = await allRows(sim, 'ZSD_ITEMS')
    const got = await keys(["VBELN BETWEEN '0000000002'", "AND '0000000004'", "AND ( POSNR <> '000030' OR ANZPK < 0 )"])
    expect(got).toEqual(
      keysOf(
        rows.filter(
          (r) => String(r.VBELN) >= '0000000002' && String(r.VBELN) <= '0000000004' && (r.POSNR !== '000030' || (r.ANZPK as number) < 0),
        ),
      ),
    )
    expect(got.length).toBeGreaterThan(8)
  })

  it('converts literals to the column type: NUMC gets its zeros, CHAR keys do not (no ALPHA exit)', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 20 } }))
    const rows = await allRows(sim, 'ZSD_ITEMS')
    expect(await keys(["VBELN = '3'"])).toEqual(keysOf(rows.filter((r) => r.VBELN === '0000000003')))
    const kunnr = String(rows[0].KUNNR)
    expect(await keys([`KUNNR = '${Number(kunnr)}'`])).toEqual([])
    expect(await keys([`KUNNR EQ '${kunnr}'`])).toEqual(keysOf(rows.filter((r) => r.KUNNR === kunnr)))
  })

  it('supports LIKE, IN, NOT, numeric literals and column comparisons', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 200 } }))
    const rows = await allRows(sim, 'ZSD_ITEMS')
    expect(await keys(["MATNR LIKE 'HT-%'"])).toEqual(keysOf(rows.filter((r) => String(r.MATNR).startsWith('HT-'))))
    expect(await keys(["WAERK IN ('CHF','GBP')"])).toEqual(keysOf(rows.filter((r) => r.WAERK === 'CHF' || r.WAERK === 'GBP')))
    expect(await keys(['NOT NETWR >= 0'])).toEqual(keysOf(rows.filter((r) => String(r.NETWR).startsWith('-'))))
    expect(await keys(['RABAT < -9.99'])).toEqual(keysOf(rows.filter((r) => Number(r.RABAT) < -9.99)))
    expect(await keys(['AEDAT > ERDAT'])).toEqual(keysOf(rows.filter((r) => String(r.AEDAT) > String(r.ERDAT))))
    expect(await keys(["ARKTX = 'It''s'"])).toEqual([])
  })

  it('raises OPTION_NOT_VALID for syntax errors, tokens or literals split across lines and unknown fields', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 5 } }))
    const bad = [
      ["VBELN = '1' AND"],
      ['VBE', "LN = '0000000001'"],
      ["ARKTX = 'Schraube", "M8 verzinkt'"],
      ["NOPE = 'x'"],
      ["VBELN = '1' POSNR = '10'"],
      ['VBELN = @lv'],
    ]
    for (const options of bad) expectAbapException(await rejection(keys(options)), 'OPTION_NOT_VALID')
  })

  it('fails invalid dates and too long literals at runtime (SAPSQL_DATA_LOSS), not as syntax errors', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 5 } }))
    for (const options of [["ERDAT <= '20240231'"], ["WAERK = 'EURO12'"]]) {
      expect(await rejection(keys(options))).toMatchObject({
        name: 'ABAPError',
        group: 2,
        code: 3,
        codeString: 'RFC_ABAP_RUNTIME_FAILURE',
        key: 'SAPSQL_DATA_LOSS',
        message: 'Data was lost while copying a value.',
      })
    }
    expect(await keys(["ERDAT <= '20240229'"])).toBeInstanceOf(Array)
  })

  it('rejects a line longer than 72 characters before sending (C.8)', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 5 } }))
    const e = await rejection(keys([`VBELN = '0000000001'${' '.repeat(40)}AND POSNR = '000010'`]))
    expect(e).toMatchObject({
      name: 'RfcLibError',
      group: 5,
      code: 22,
      key: 'RFC_CONVERSION_FAILURE',
      rfmPath: { rfm: 'RFC_READ_TABLE', parameter: 'OPTIONS', table_line: 0, field: 'TEXT' },
    })
  })

  it('does not look at OPTIONS when NO_DATA is set', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 5 } }))
    expect(await keys(['this is no condition'], { NO_DATA: 'X' })).toEqual([])
  })
})

describe('ROWSKIPS / ROWCOUNT (C.2 step 5, C.4)', () => {
  it('pages through the table in a stable order without duplicates or holes', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 53 } }))
    const pages: string[] = []
    for (let skip = 0; ; skip += 10) {
      const page = await keys([], { ROWSKIPS: skip, ROWCOUNT: 10 })
      pages.push(...page)
      if (page.length < 10) break
    }
    expect(pages).toEqual(keysOf(await allRows(sim, 'ZSD_ITEMS')))
  })

  it('implements ROWCOUNT += ROWSKIPS and counts skipped rows of the WHERE result only', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 30 } }))
    const all = keysOf(await allRows(sim, 'ZSD_ITEMS'))
    expect(await keys([], { ROWSKIPS: 25 })).toEqual(all.slice(25))
    expect(await keys([], { ROWSKIPS: 25, ROWCOUNT: 10 })).toEqual(all.slice(25))
    // ROWCOUNT 2 + ROWSKIPS -3 = -1: no longer > 0, so the limit is gone (literal C.2 step 5)
    expect(await keys([], { ROWSKIPS: -3, ROWCOUNT: 2 })).toEqual(all)
    expect(await keys(["POSNR = '000010'"], { ROWSKIPS: 2, ROWCOUNT: 2 })).toEqual(all.filter((k) => k.endsWith('/000010')).slice(2, 4))
  })

  it('strict variant: ROWSKIPS must be a multiple of ROWCOUNT (erpl e62280d)', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 30 }, variants: { strictRowskips: true } }))
    expectAbapException(await rejection(keys([], { ROWSKIPS: 10, ROWCOUNT: 7 })), 'OPTION_NOT_VALID')
    expect(await keys([], { ROWSKIPS: 14, ROWCOUNT: 7 })).toHaveLength(7)
    expect(await keys([], { ROWSKIPS: 0, ROWCOUNT: 7 })).toHaveLength(7)
  })

  it('unstable order: ROWSKIPS paging yields duplicates and holes, key ranges stay complete', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 100 }, variants: { unstableOrder: true } }))
    const all = keysOf(await allRows(sim, 'ZSD_ITEMS'))
    const paged: string[] = []
    for (let skip = 0; skip < 100; skip += 10) paged.push(...(await keys([], { ROWSKIPS: skip, ROWCOUNT: 10 })))
    expect(paged).toHaveLength(100)
    expect(new Set(paged).size).toBeLessThan(100)
    const ranged: string[] = []
    for (let doc = 1; doc <= 20; doc += 4) {
      const from = String(doc).padStart(10, '0')
      const to = String(doc + 3).padStart(10, '0')
      ranged.push(...(await keys([`VBELN BETWEEN '${from}' AND '${to}'`])))
    }
    expect(ranged.sort()).toEqual(all)
  })

  it('stops with TSV_TNEW_PAGE_ALLOC_FAILED when the result outgrows memory', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 50 }, maxReadTableRows: 20 }))
    expect(await rejection(keys([]))).toMatchObject({ name: 'ABAPError', group: 2, code: 3, key: 'TSV_TNEW_PAGE_ALLOC_FAILED' })
    expect(await keys([], { ROWCOUNT: 20 })).toHaveLength(20)
  })

  it('reads a key range at the end of a two-million-row table without holding the table', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 2_000_000 } }))
    const got = await keys(["VBELN >= '0000399999'"])
    expect(got).toEqual([
      '0000399999/000010',
      '0000399999/000020',
      '0000399999/000030',
      '0000399999/000040',
      '0000399999/000050',
      '0000400000/000010',
      '0000400000/000020',
      '0000400000/000030',
      '0000400000/000040',
      '0000400000/000050',
    ])
    // the key range narrowed the scan: the table's two million rows were not visited
    expect(sim.admin.stats().rowsVisited).toBeLessThan(100)
  })

  it('narrows the scan for a key range nested in a conjunction, as a partition probe sends it', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 2_000_000 } }))
    const where = ["( POSNR = '000030' ) AND", "( ( VBELN >= '0000200000' ) AND ( VBELN < '0000200002' ) )"]
    expect(await keys(where)).toEqual(['0000200000/000030', '0000200001/000030'])
    expect(sim.admin.stats().rowsVisited).toBeLessThan(100)
  })
})

describe('watermark deltas over change date and time (C.7)', () => {
  it('stamps inserts and updates with the system clock so CHANGED_AT >= watermark finds them', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 40 } }))
    const watermark = sim.admin.now()
    const inserted = sim.admin.insert('ZSD_ITEMS', 2)
    const updated = sim.admin.update('ZSD_ITEMS', [{ VBELN: '0000000003', POSNR: '000020' }])
    sim.admin.delete('ZSD_ITEMS', [{ VBELN: '0000000004', POSNR: '000010' }])
    expect(inserted[0].after).toMatchObject({
      ERDAT: watermark.slice(0, 8),
      ERZET: watermark.slice(8),
      AEDAT: '00000000',
      CHANGED_AT: watermark,
    })
    expect(String(updated[0].after!.CHANGED_AT) > watermark).toBe(true)
    expect(updated[0].after).toMatchObject({
      AEDAT: String(updated[0].after!.CHANGED_AT).slice(0, 8),
      AEZET: String(updated[0].after!.CHANGED_AT).slice(8),
    })
    const res = await client.call('RFC_READ_TABLE', {
      QUERY_TABLE: 'ZSD_ITEMS',
      DELIMITER: '|',
      FIELDS: [...KEY_FIELDS, { FIELDNAME: 'CHANGED_AT' }],
      OPTIONS: [{ TEXT: `CHANGED_AT >= ${watermark}` }],
    })
    const fields = res.FIELDS as FieldSlot[]
    const changed = (res.DATA as Array<{ WA: string }>).map((d) => sliceWa(d.WA, fields))
    // the delete is invisible to a watermark read (C.7 limits)
    expect(changed.map((r) => `${r.VBELN}/${r.POSNR}`)).toEqual([
      '0000000003/000020',
      ...inserted.map((c) => `${c.key.VBELN}/${c.key.POSNR}`),
    ])
  })
})

describe('the S/4HANA-era interface (C.1)', () => {
  it('is absent by default and, when present, returns sorted string lines without the 512 limit', async () => {
    ;({ sim, client } = await start({ tables: { ZMAT_WIDE: 9 } }))
    expect(await rejection(client.call('RFC_READ_TABLE', { QUERY_TABLE: 'ZMAT_WIDE', USE_ET_DATA_4_RETURN: 'X' }))).toMatchObject({
      name: 'RfcLibError',
      code: 20,
      key: 'RFC_INVALID_PARAMETER',
      message: "field 'USE_ET_DATA_4_RETURN' not found",
    })
    sim.admin.setVariants({ s4ReadTable: true, unstableOrder: true })
    const res = await client.call('RFC_READ_TABLE', {
      QUERY_TABLE: 'ZMAT_WIDE',
      USE_ET_DATA_4_RETURN: 'X',
      GET_SORTED: 'X',
      DELIMITER: '|',
    })
    expect(res.DATA).toEqual([])
    const lines = (res.ET_DATA as Array<{ LINE: string }>).map((l) => l.LINE.split('|'))
    expect(lines.map((l) => `${l[1]}/${l[2]}`)).toEqual((await allRows(sim, 'ZMAT_WIDE')).map((r) => `${r.MATNR}/${r.WERKS}`))
  })
})
