/**
 * RFC_READ_TABLE through the simulator: FIELDS metadata, the 512-character WA, DELIMITER, value formats
 * inside WA (docs/sap-protocols.md C.2, C.3, C.5; golden scenario F.9).
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { RfcSimulator, SapRow, SimRfcClient } from '../../../src/simulator/rfc/index.js'
import type { FieldSlot } from './helpers.js'
import { abapValue, allRows, expectAbapException, rejection, sliceWa, start } from './helpers.js'

let sim: RfcSimulator
let client: SimRfcClient
afterEach(async () => {
  await sim.close()
})

async function read(params: Record<string, unknown>): Promise<{ fields: FieldSlot[]; data: string[] }> {
  const res = await client.call('RFC_READ_TABLE', params)
  return { fields: res.FIELDS as FieldSlot[], data: (res.DATA as Array<{ WA: string }>).map((d) => d.WA) }
}

const WIDE_512 = ['MANDT', 'MAKTX', 'ZEINR', 'WRKST', 'GEWEI', 'TEXT1', 'TEXT2', 'TEXT3'] // 3+40+22+48+3+3×132 = 512

describe('FIELDS metadata (C.1, C.2 step 4)', () => {
  it('NO_DATA returns offsets, DDIC LENG widths, internal types and texts, and no rows', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 30 } }))
    const res = await client.call('RFC_READ_TABLE', { QUERY_TABLE: 'ZSD_ITEMS', NO_DATA: 'X', DELIMITER: '|' })
    expect(res.DATA).toEqual([])
    const fields = res.FIELDS as Array<Record<string, string>>
    expect(fields.slice(0, 3)).toEqual([
      { FIELDNAME: 'MANDT', OFFSET: '000000', LENGTH: '000003', TYPE: 'C', FIELDTEXT: 'Client' },
      { FIELDNAME: 'VBELN', OFFSET: '000004', LENGTH: '000010', TYPE: 'N', FIELDTEXT: 'Sales Document' },
      { FIELDNAME: 'POSNR', OFFSET: '000015', LENGTH: '000006', TYPE: 'N', FIELDTEXT: 'Sales Document Item' },
    ])
    const byName = Object.fromEntries(fields.map((f) => [f.FIELDNAME, f]))
    // packed numbers get their digit count, not room for sign and point; INT4 10; dates 8, times 6
    expect([byName.NETWR.LENGTH, byName.NETWR.TYPE, byName.RABAT.LENGTH, byName.ANZPK.TYPE, byName.ANZPK.LENGTH]).toEqual([
      '000015',
      'P',
      '000005',
      'I',
      '000010',
    ])
    expect([byName.ERDAT.TYPE, byName.ERDAT.LENGTH, byName.ERZET.TYPE, byName.ERZET.LENGTH]).toEqual(['D', '000008', 'T', '000006'])
    expect(res.QUERY_TABLE).toBe('ZSD_ITEMS')
    expect(res.ROWCOUNT).toBe(0)
  })

  it('without a delimiter the slices touch; a blank DELIMITER counts zero characters', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 5 } }))
    const { fields } = await read({
      QUERY_TABLE: 'ZSD_ITEMS',
      NO_DATA: 'X',
      DELIMITER: ' ',
      FIELDS: [{ FIELDNAME: 'VBELN' }, { FIELDNAME: 'POSNR' }],
    })
    expect(fields.map((f) => [f.OFFSET, f.LENGTH])).toEqual([
      ['000000', '000010'],
      ['000010', '000006'],
    ])
  })

  it('NO_DATA reports a projection wider than 512 characters without raising', async () => {
    ;({ sim, client } = await start())
    const { fields } = await read({ QUERY_TABLE: 'ZMAT_WIDE', NO_DATA: 'X' })
    const last = fields.at(-1)!
    expect(Number(last.OFFSET) + Number(last.LENGTH)).toBe(616)
  })

  it('raises the C.1 exceptions for unknown tables, structures, fields and missing authority', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 5 } }))
    expectAbapException(await rejection(client.call('RFC_READ_TABLE', { QUERY_TABLE: 'ZNOPE' })), 'TABLE_NOT_AVAILABLE')
    expectAbapException(await rejection(client.call('RFC_READ_TABLE', { QUERY_TABLE: 'zsd_items' })), 'TABLE_NOT_AVAILABLE')
    expectAbapException(await rejection(client.call('RFC_READ_TABLE', { QUERY_TABLE: 'BAPIRET2' })), 'TABLE_WITHOUT_DATA')
    const badField = await rejection(client.call('RFC_READ_TABLE', { QUERY_TABLE: 'ZSD_ITEMS', FIELDS: [{ FIELDNAME: 'vbeln' }] }))
    expectAbapException(badField, 'FIELD_NOT_VALID')
    // a plain RAISE: node-rfc's message is ' Number:000' (node-rfc test E2, PyRFC #42)
    expect(badField).toMatchObject({ message: ' Number:000', abapMsgNumber: '000', abapMsgClass: '' })
    sim.admin.setTableAuthorization('ZSD_ITEMS', false)
    expectAbapException(await rejection(client.call('RFC_READ_TABLE', { QUERY_TABLE: 'ZSD_ITEMS' })), 'NOT_AUTHORIZED')
    sim.admin.setTableAuthorization('ZSD_ITEMS', true)
    expect((await read({ QUERY_TABLE: 'ZSD_ITEMS' })).data).toHaveLength(5)
  })
})

describe('the 512-character work area (C.2 step 4, C.5; scenario F.9)', () => {
  it('reading every field of the wide table raises DATA_BUFFER_EXCEEDED', async () => {
    ;({ sim, client } = await start())
    expectAbapException(await rejection(client.call('RFC_READ_TABLE', { QUERY_TABLE: 'ZMAT_WIDE' })), 'DATA_BUFFER_EXCEEDED')
  })

  it('512 characters fit, 513 do not, and delimiters count', async () => {
    ;({ sim, client } = await start({ tables: { ZMAT_WIDE: 6 } }))
    const fields = WIDE_512.map((FIELDNAME) => ({ FIELDNAME }))
    const ok = await read({ QUERY_TABLE: 'ZMAT_WIDE', FIELDS: fields })
    expect(ok.data).toHaveLength(6)
    expect(Number(ok.fields.at(-1)!.OFFSET) + Number(ok.fields.at(-1)!.LENGTH)).toBe(512)
    expectAbapException(
      await rejection(client.call('RFC_READ_TABLE', { QUERY_TABLE: 'ZMAT_WIDE', FIELDS: [...fields, { FIELDNAME: 'GEWEI' }] })),
      'DATA_BUFFER_EXCEEDED',
    )
    expectAbapException(
      await rejection(client.call('RFC_READ_TABLE', { QUERY_TABLE: 'ZMAT_WIDE', FIELDS: fields, DELIMITER: '|' })),
      'DATA_BUFFER_EXCEEDED',
    )
  })

  it('column groups that each carry the full key join back to the table (C.5)', async () => {
    ;({ sim, client } = await start({ tables: { ZMAT_WIDE: 12 } }))
    const meta = await read({ QUERY_TABLE: 'ZMAT_WIDE', NO_DATA: 'X' })
    const info = await client.call('DDIF_FIELDINFO_GET', { TABNAME: 'ZMAT_WIDE' })
    const dfies = info.DFIES_TAB as Array<Record<string, string>>
    const keys = dfies.filter((f) => f.KEYFLAG === 'X').map((f) => f.FIELDNAME)
    expect(keys).toEqual(['MANDT', 'MATNR', 'WERKS'])
    const others = meta.fields.map((f) => f.FIELDNAME).filter((n) => !keys.includes(n))
    const groups: string[][] = []
    for (const name of others) {
      const g = groups.at(-1)
      if (g && g.length < 4) g.push(name)
      else groups.push([name])
    }
    const joined = new Map<string, SapRow>()
    for (const group of groups) {
      const { fields, data } = await read({ QUERY_TABLE: 'ZMAT_WIDE', FIELDS: [...keys, ...group].map((FIELDNAME) => ({ FIELDNAME })) })
      for (const wa of data) {
        const parts = sliceWa(wa, fields)
        const row: SapRow = {}
        for (const f of fields) row[f.FIELDNAME] = abapValue(f.TYPE, parts[f.FIELDNAME])
        const key = keys.map((k) => row[k]).join('/')
        joined.set(key, { ...joined.get(key), ...row })
      }
    }
    const expected = await allRows(sim, 'ZMAT_WIDE')
    expect([...joined.values()].map((r) => Object.fromEntries(meta.fields.map((f) => [f.FIELDNAME, r[f.FIELDNAME]])))).toEqual(expected)
  })

  it('the /BODS/ sibling exists only when installed and reads 2048-character lines', async () => {
    ;({ sim, client } = await start({ tables: { ZMAT_WIDE: 3 } }))
    expect(await rejection(client.call('/BODS/RFC_READ_TABLE', { QUERY_TABLE: 'ZMAT_WIDE' }))).toMatchObject({
      name: 'ABAPError',
      key: 'FU_NOT_FOUND',
    })
    sim.admin.setVariants({ readTableModule: '/BODS/RFC_READ_TABLE' })
    const res = await client.call('/BODS/RFC_READ_TABLE', { QUERY_TABLE: 'ZMAT_WIDE', DELIMITER: '|' })
    const data = res.DATA as Array<{ WA: string }>
    expect(data).toHaveLength(3)
    expect(data[0].WA.split('|')).toHaveLength(15)
  })
})

describe('values inside WA (C.3)', () => {
  it('every field of every row slices back to the admin rows, except where the slot overflowed', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 600 } }))
    const { fields, data } = await read({ QUERY_TABLE: 'ZSD_ITEMS' })
    const expected = await allRows(sim, 'ZSD_ITEMS')
    expect(data).toHaveLength(expected.length)
    let overflows = 0
    data.forEach((wa, i) => {
      expect(wa).toBe(wa.replace(/[ \t]+$/, '')) // node-rfc right-trims CHAR values
      const parts = sliceWa(wa, fields)
      for (const f of fields) {
        const text = parts[f.FIELDNAME]
        if (text.startsWith('*')) {
          overflows++
          const canonical = String(expected[i][f.FIELDNAME])
          const tail = (canonical.startsWith('-') ? canonical.slice(1) + '-' : canonical).slice(-(Number(f.LENGTH) - 1))
          expect(text).toBe('*' + tail)
          continue
        }
        expect({ field: f.FIELDNAME, value: abapValue(f.TYPE, text) }).toEqual({ field: f.FIELDNAME, value: expected[i][f.FIELDNAME] })
      }
    })
    expect(overflows).toBeGreaterThan(10)
  })

  it('shows trailing minus, the sign blank, "*" overflow, 00000000, 240000 and NUMC zeros', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 600 } }))
    const { fields, data } = await read({
      QUERY_TABLE: 'ZSD_ITEMS',
      FIELDS: ['VBELN', 'ERDAT', 'ERZET', 'NETWR', 'NETPR', 'RABAT', 'ANZPK', 'KUNNR'].map((FIELDNAME) => ({ FIELDNAME })),
    })
    const rows = data.map((wa) => sliceWa(wa, fields))
    const expected = await allRows(sim, 'ZSD_ITEMS')
    const at = (pred: (r: SapRow) => boolean): number => expected.findIndex(pred)
    const negNetwr = at((r) => String(r.NETWR).startsWith('-'))
    expect(rows[negNetwr].NETWR).toBe(`${String(expected[negNetwr].NETWR).slice(1)}-`.padStart(15))
    const posNetwr = at((r) => !String(r.NETWR).startsWith('-') && String(r.NETWR).length < 14)
    expect(rows[posNetwr].NETWR).toBe(`${expected[posNetwr].NETWR} `.padStart(15))
    const bigPrice = at((r) => Number(r.NETPR) >= 100_000_000)
    expect(rows[bigPrice].NETPR).toBe('*' + String(expected[bigPrice].NETPR).slice(-10))
    const twoDigitSurcharge = at((r) => Number(r.RABAT) <= -10)
    expect(rows[twoDigitSurcharge].RABAT).toBe('*' + `${String(expected[twoDigitSurcharge].RABAT).slice(1)}-`.slice(-4))
    const smallSurcharge = at((r) => Number(r.RABAT) < 0 && Number(r.RABAT) > -10)
    expect(rows[smallSurcharge].RABAT).toBe(`${String(expected[smallSurcharge].RABAT).slice(1)}-`)
    expect(rows[3].ANZPK).toBe('2147483647') // 10 digits fill LENG 10 once the sign blank is dropped
    expect(rows[5].ANZPK).toBe('*47483648-') // INT4 minimum: the minus does not fit
    expect(rows.some((r) => r.ERDAT === '00000000')).toBe(true)
    expect(rows.some((r) => r.ERZET === '240000')).toBe(true)
    expect(rows[0].VBELN).toBe('0000000001')
    expect(rows[0].KUNNR).toMatch(/^0000\d{6}$/) // ALPHA zeros of a CHAR key stay (no conversion exit over RFC)
  })

  it('DELIMITER is not escaped: a text holding it splits into one column too many', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 400 } }))
    const { fields, data } = await read({
      QUERY_TABLE: 'ZSD_ITEMS',
      DELIMITER: '|',
      FIELDS: [{ FIELDNAME: 'VBELN' }, { FIELDNAME: 'ARKTX' }, { FIELDNAME: 'WAERK' }],
    })
    const withPipe = data.find((wa) => wa.includes('A|B'))!
    expect(withPipe.split('|')).toHaveLength(4)
    expect(sliceWa(withPipe, fields).ARKTX.trimEnd()).toBe('Adapter A|B 230V')
    expect(data.every((wa) => wa.split('|').length === 3 || wa.includes('A|B'))).toBe(true)
  })
})

describe('DDIF_FIELDINFO_GET', () => {
  it('reports key flags, DDIC types, decimals and the ALPHA exit that RFC does not apply', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 1 } }))
    const res = await client.call('DDIF_FIELDINFO_GET', { TABNAME: 'ZSD_ITEMS', FIELDNAME: 'NETWR' })
    expect(res.DDOBJTYPE).toBe('TRANSP')
    expect(res.DFIES_WA).toMatchObject({
      FIELDNAME: 'NETWR',
      DATATYPE: 'CURR',
      INTTYPE: 'P',
      LENG: '000015',
      DECIMALS: '000002',
      REFFIELD: 'WAERK',
      KEYFLAG: '',
    })
    const all = (await client.call('DDIF_FIELDINFO_GET', { TABNAME: 'ZSD_ITEMS' })).DFIES_TAB as Array<Record<string, string>>
    expect(all.filter((f) => f.KEYFLAG === 'X').map((f) => f.FIELDNAME)).toEqual(['MANDT', 'VBELN', 'POSNR'])
    expect(all.find((f) => f.FIELDNAME === 'KUNNR')?.CONVEXIT).toBe('ALPHA')
    expectAbapException(await rejection(client.call('DDIF_FIELDINFO_GET', { TABNAME: 'ZNOPE' })), 'NOT_FOUND')
    expect((await client.call('DDIF_FIELDINFO_GET', { TABNAME: 'BAPIRET2' })).DDOBJTYPE).toBe('INTTAB')
  })
})

describe('FLTP, RAW and STRING fields (C.3)', () => {
  const KEY = ['PRUEFLOS', 'MERKNR']

  it('FLTP in exponent form in its 16-character slot, RAW as hex cut to LENG characters', async () => {
    ;({ sim, client } = await start({ tables: { ZQM_RESULTS: 40 } }))
    const meta = (await client.call('RFC_READ_TABLE', { QUERY_TABLE: 'ZQM_RESULTS', NO_DATA: 'X' })).FIELDS as Array<Record<string, string>>
    expect(meta.slice(4).map((f) => [f.FIELDNAME, f.TYPE, f.LENGTH])).toEqual([
      ['MITTELWERT', 'F', '000016'],
      ['PRUEFDATUM', 'D', '000008'],
      ['RES_GUID', 'X', '000016'],
      ['PRUEFBEM', 'g', '000000'],
    ])
    const { fields, data } = await read({
      QUERY_TABLE: 'ZQM_RESULTS',
      FIELDS: [...KEY, 'MITTELWERT', 'RES_GUID'].map((FIELDNAME) => ({ FIELDNAME })),
    })
    const rows = await allRows(sim, 'ZQM_RESULTS')
    expect(data).toHaveLength(40)
    data.forEach((wa, i) => {
      const slots = sliceWa(wa, fields)
      const mean = rows[i].MITTELWERT as number
      // sign position, one digit, 9 decimals, E±dd: 10 significant digits
      expect(slots.MITTELWERT).toMatch(/^[ -]\d\.\d{9}E[+-]\d{2}$/)
      expect(Number(slots.MITTELWERT)).toBe(Number(mean.toExponential(9)))
      // 16 bytes are 32 hex digits; the 16-character slot keeps the first 16 (the first 8 bytes)
      expect(slots.RES_GUID).toBe(Buffer.from(String(rows[i].RES_GUID), 'base64').toString('hex').toUpperCase().slice(0, 16))
    })
    expect(rows.some((r) => r.MITTELWERT === 0) && rows.some((r) => (r.MITTELWERT as number) < 0)).toBe(true)
    expect(rows.some((r) => Number((r.MITTELWERT as number).toExponential(9)) !== r.MITTELWERT)).toBe(true) // some are rounded
  })

  it('a STRING field in the request makes the module dump', async () => {
    ;({ sim, client } = await start({ tables: { ZQM_RESULTS: 5 } }))
    for (const FIELDS of [[], [{ FIELDNAME: 'PRUEFBEM' }]]) {
      expect(await rejection(client.call('RFC_READ_TABLE', { QUERY_TABLE: 'ZQM_RESULTS', FIELDS }))).toMatchObject({
        name: 'ABAPError',
        group: 2,
        code: 3,
        codeString: 'RFC_ABAP_RUNTIME_FAILURE',
        key: 'ASSIGN_CASTING_ILLEGAL_CAST',
      })
    }
    expect((await read({ QUERY_TABLE: 'ZQM_RESULTS', FIELDS: [{ FIELDNAME: 'PRUEFLOS' }] })).data).toHaveLength(5)
  })
})
