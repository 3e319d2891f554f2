/**
 * The ODP replication API through the simulator: discovery, full and delta extraction, the raw row
 * format and its 250-byte UTF-8 fragments (docs/sap-protocols.md B.1–B.4; golden scenario F.10).
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { ChangeRef, RfcSimulator, SapRow, SimRfcClient } from '../../../src/simulator/rfc/index.js'
import type { OdpFieldMeta } from './helpers.js'
import { allRows, decodeOdp, fetchAll, ODP, odpFields, odpToAbap, openOdp, signedValue, start, subscriber } from './helpers.js'

let sim: RfcSimulator
let client: SimRfcClient
afterEach(async () => {
  await sim.close()
})

/** Decoded delta records as [mode, counter, row]. */
function images(lines: Buffer[], fields: OdpFieldMeta[]): Array<[string, string, SapRow]> {
  return decodeOdp(lines, fields, true).map((r) => [r.ODQ_CHANGEMODE.trim(), signedValue(r.ODQ_ENTITYCNTR), odpToAbap(r, fields)])
}

/** What a delta must contain for these changes (§0 change-mode table, ABR images). */
function expectedImages(changes: ChangeRef[]): Array<[string, string, SapRow]> {
  return changes.flatMap(
    (c): Array<[string, string, SapRow]> =>
      c.mode === 'C'
        ? [['C', '1', c.after!]]
        : c.mode === 'D'
          ? [['D', '-1', c.before!]]
          : [
              ['U', '-1', c.before!],
              ['U', '1', c.after!],
            ],
  )
}

describe('discovery (B.1)', () => {
  it('lists contexts and ODPs and describes the fields a decoder needs', async () => {
    ;({ sim, client } = await start())
    const contexts = (await client.call('RODPS_REPL_CONTEXT_GET_LIST', {})).ET_CONTEXT as Array<Record<string, string>>
    expect(contexts.map((c) => c.CONTEXT)).toEqual(['ABAP_CDS', 'SAPI'])
    const list = await client.call('RODPS_REPL_ODP_GET_LIST', {
      I_SUBSCRIBER_TYPE: ODP.type,
      I_CONTEXT: 'ABAP_CDS',
      I_SEARCH_PATTERN: 'ZSD*',
    })
    expect(list.ET_NODES).toEqual([{ ODPNAME: 'ZSD_ITEMS_CDC', DESCRIPTION: 'Sales Document: Item Data', DELTA: 'X' }])
    const detail = await client.call('RODPS_REPL_ODP_GET_DETAIL', {
      I_SUBSCRIBER_TYPE: ODP.type,
      I_CONTEXT: 'ABAP_CDS',
      I_ODPNAME: ODP.odp,
    })
    expect(detail).toMatchObject({ E_DELTA: 'X', ET_RETURN: [] })
    const fields = Object.fromEntries((detail.ET_FIELDS as Array<Record<string, string>>).map((f) => [f.NAME, f]))
    expect(fields.VBELN).toMatchObject({
      TYPE: 'NUMC',
      LENGTH: '000010',
      OUTPUTLENG: '000010',
      KEYFLAG: 'X',
      SEL_EQUAL: 'X',
      SEL_BETWEEN: 'X',
      SEL_PATTERN: '',
    })
    expect(fields.NETWR).toMatchObject({ TYPE: 'CURR', LENGTH: '000015', OUTPUTLENG: '000017', DECIMALS: '000002', KEYFLAG: '' })
    expect(fields.ANZPK).toMatchObject({ TYPE: 'INT4', OUTPUTLENG: '000011' })
    expect(fields.ARKTX).toMatchObject({ TYPE: 'CHAR', OUTPUTLENG: '000040', SEL_EQUAL: '' })
    expect(fields.ODQ_CHANGEMODE).toBeUndefined()
    const unknown = await client.call('RODPS_REPL_ODP_GET_DETAIL', {
      I_SUBSCRIBER_TYPE: ODP.type,
      I_CONTEXT: 'ABAP_CDS',
      I_ODPNAME: 'ZNOPE',
    })
    expect(unknown.ET_FIELDS).toEqual([])
    expect(unknown.ET_RETURN).toMatchObject([
      { TYPE: 'E', ID: 'RODPS_REPL', MESSAGE: 'Operational data provider ZNOPE does not exist in context ABAP_CDS' },
    ])
  })
})

describe('full extraction and the raw format (B.4)', () => {
  it('decodes every record of a paged full read back to the ODP rows', async () => {
    ;({ sim, client } = await start({ odps: { ZSD_ITEMS_CDC: 300 } }))
    const fields = await odpFields(client)
    const open = await openOdp(client, 'FULL', 'F')
    expect(open.ET_RETURN).toEqual([])
    expect(open.E_POINTER).toMatch(/^\d{14}\.\d{9}$/)
    const { packages, lines } = await fetchAll(client, open.E_POINTER as string, 20_000)
    expect(packages.length).toBeGreaterThan(5)
    expect(packages.slice(0, -1).every((p) => p.noMore === '' && p.lines.length > 0)).toBe(true)
    expect(packages.at(-1)!.noMore).toBe('X')
    expect(packages.map((p) => p.id)).toEqual(packages.map((_, i) => String(i + 1).padStart(6, '0')))
    expect(lines.every((l) => Buffer.isBuffer(l) && l.length === 250)).toBe(true)
    const rows = decodeOdp(lines, fields, false).map((r) => odpToAbap(r, fields))
    expect(rows).toEqual(await allRows(sim, ODP.odp))
  })

  it('cuts multi-byte characters between lines and needs more lines than OUTPUTLENG suggests', async () => {
    ;({ sim, client } = await start({ odps: { ZSD_ITEMS_CDC: 300 } }))
    const fields = await odpFields(client)
    const open = await openOdp(client, 'FULL', 'F')
    const { lines } = await fetchAll(client, open.E_POINTER as string)
    const isContinuation = (b: number) => (b & 0xc0) === 0x80
    // a line that ends inside a character: the next line starts with a UTF-8 continuation byte
    const split = lines.filter((_l, i) => i + 1 < lines.length && isContinuation(lines[i + 1][0]))
    expect(split.length).toBeGreaterThan(0)
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(split[0])).toThrow()
    // the JCo formula ceil(sum(OUTPUTLENG) / 250) under-counts rows full of multi-byte text
    const chars = fields.reduce((s, f) => s + Number(f.OUTPUTLENG), 0)
    const formula = Math.ceil(chars / 250)
    expect(lines.length).toBeGreaterThan(300 * formula)
    const rows = decodeOdp(lines, fields, false)
    expect(rows).toHaveLength(300)
    expect(rows.some((r) => /[😀🚀]/u.test(r.LTEXT))).toBe(true)
  })

  it('shows negative packed numbers with a trailing minus and positives with a sign blank', async () => {
    ;({ sim, client } = await start({ odps: { ZSD_ITEMS_CDC: 200 } }))
    const fields = await odpFields(client)
    const { lines } = await fetchAll(client, (await openOdp(client, 'FULL', 'F')).E_POINTER as string)
    const raw = decodeOdp(lines, fields, false)
    const expected = await allRows(sim, ODP.odp)
    const neg = expected.findIndex((r) => String(r.NETWR).startsWith('-'))
    expect(raw[neg].NETWR).toBe(`${String(expected[neg].NETWR).slice(1)}-`.padStart(17))
    const pos = expected.findIndex((r) => !String(r.NETPR).startsWith('-'))
    expect(raw[pos].NETPR).toBe(`${expected[pos].NETPR} `.padStart(13))
    expect(raw[5].ANZPK).toBe('2147483648-') // INT4 minimum fits OUTPUTLENG 11
    expect(raw.some((r) => r.ERZET === '240000')).toBe(true)
    expect(raw.some((r) => r.ERDAT === '00000000')).toBe(true)
  })

  it('re-reads a package with I_REDO and re-delivers the package after a named one', async () => {
    ;({ sim, client } = await start({ odps: { ZSD_ITEMS_CDC: 60 } }))
    const pointer = (await openOdp(client, 'FULL', 'F')).E_POINTER as string
    const fetch = (pkg: string, redo = '') =>
      client.call('RODPS_REPL_ODP_FETCH', { I_POINTER: pointer, I_PACKAGE: pkg, I_REDO: redo, I_MAXPACKAGESIZE: 5000 })
    const p1 = await fetch('')
    const p2 = await fetch(p1.E_PACKAGE as string)
    expect([p1.E_PACKAGE, p2.E_PACKAGE]).toEqual(['000001', '000002'])
    expect(await fetch('000001', 'X')).toEqual({ ...p1, I_PACKAGE: '000001', I_REDO: 'X' })
    expect((await fetch('000001')).ET_DATA).toEqual(p2.ET_DATA)
    expect((await fetch('000099')).ET_RETURN).toMatchObject([{ TYPE: 'E', MESSAGE: `Package 000099 does not exist in request ${pointer}` }])
  })
})

describe('delta extraction (B.2, B.3, §0)', () => {
  it('inits with data, then delivers only the changes after the confirmed request', async () => {
    ;({ sim, client } = await start({ odps: { ZSD_ITEMS_CDC: 40 } }))
    const fields = await odpFields(client)
    const init = await openOdp(client, 'P1', 'D')
    const first = await fetchAll(client, init.E_POINTER as string)
    const initRecords = decodeOdp(first.lines, fields, true)
    expect(initRecords.every((r) => r.ODQ_CHANGEMODE === ' ' && r.ODQ_ENTITYCNTR === '0 '.padStart(20))).toBe(true)
    expect(initRecords.map((r) => odpToAbap(r, fields))).toEqual(await allRows(sim, ODP.odp))
    expect((await client.call('RODPS_REPL_ODP_CLOSE', { I_POINTER: init.E_POINTER })).ET_RETURN).toEqual([])

    const changes = [
      ...sim.admin.insert(ODP.odp, 2),
      ...sim.admin.update(ODP.odp, [{ VBELN: '0000000002', POSNR: '000030' }]),
      ...sim.admin.delete(ODP.odp, [{ VBELN: '0000000005', POSNR: '000050' }]),
    ]
    const delta = await openOdp(client, 'P1', 'D')
    expect(delta.E_POINTER).not.toBe(init.E_POINTER)
    const got = images((await fetchAll(client, delta.E_POINTER as string)).lines, fields)
    expect(got).toEqual(expectedImages(changes))
    expect(got.find((g) => g[1] === '-1' && g[0] === 'U')![2].NETWR).not.toBe(got.find((g) => g[1] === '1' && g[0] === 'U')![2].NETWR)
    await client.call('RODPS_REPL_ODP_CLOSE', { I_POINTER: delta.E_POINTER })

    const empty = await openOdp(client, 'P1', 'D')
    const res = await client.call('RODPS_REPL_ODP_FETCH', { I_POINTER: empty.E_POINTER, I_PACKAGE: '' })
    expect(res).toMatchObject({ ET_DATA: [], E_NO_MORE_DATA: 'X', E_PACKAGE: '', ET_RETURN: [] })
  })

  it('keeps subscriber processes apart and delivers after-images only in the AIE variant', async () => {
    ;({ sim, client } = await start({ odps: { ZSD_ITEMS_CDC: 20 }, variants: { odpUpdateImages: 'after-only' } }))
    const fields = await odpFields(client)
    for (const p of ['A', 'B']) {
      const ptr = (await openOdp(client, p, 'D')).E_POINTER
      await fetchAll(client, ptr as string)
      await client.call('RODPS_REPL_ODP_CLOSE', { I_POINTER: ptr })
    }
    const changes = sim.admin.update(ODP.odp, 2)
    for (const p of ['A', 'B']) {
      const ptr = (await openOdp(client, p, 'D')).E_POINTER as string
      expect(images((await fetchAll(client, ptr)).lines, fields)).toEqual(changes.map((c) => ['U', '1', c.after]))
    }
    expect(sim.admin.subscriptions().map((s) => s.subscriberProcess)).toEqual(['A', 'B'])
  })

  it('applies selections and projections, and refuses a changed selection', async () => {
    ;({ sim, client } = await start({ odps: { ZSD_ITEMS_CDC: 60 } }))
    const fields = await odpFields(client)
    const selection = [
      { FIELDNAME: 'VBELN', SIGN: 'I', OPTION: 'BT', LOW: '3', HIGH: '0000000006' },
      { FIELDNAME: 'POSNR', SIGN: 'E', OPTION: 'EQ', LOW: '000010', HIGH: '' },
    ]
    const projection = [{ FIELDNAME: 'NETWR' }, { FIELDNAME: 'LTEXT' }]
    const open = await openOdp(client, 'SEL', 'D', { IT_SELECTIONS: selection, IT_PROJECTION: projection })
    expect(open.ET_RETURN).toEqual([])
    const delivered = fields.filter((f) => ['VBELN', 'POSNR', 'NETWR', 'LTEXT'].includes(f.NAME))
    const rows = decodeOdp((await fetchAll(client, open.E_POINTER as string)).lines, delivered, true).map((r) => odpToAbap(r, delivered))
    const expected = (await allRows(sim, ODP.odp))
      .filter((r) => String(r.VBELN) >= '0000000003' && String(r.VBELN) <= '0000000006' && r.POSNR !== '000010')
      .map((r) => ({ VBELN: r.VBELN, POSNR: r.POSNR, NETWR: r.NETWR, LTEXT: r.LTEXT }))
    expect(rows).toEqual(expected)
    await client.call('RODPS_REPL_ODP_CLOSE', { I_POINTER: open.E_POINTER })

    const changed = await openOdp(client, 'SEL', 'D', { IT_SELECTIONS: selection.slice(0, 1) })
    expect(changed).toMatchObject({ E_POINTER: '', ET_RETURN: [{ TYPE: 'E', MESSAGE: 'Illegal change in selection parameters' }] })
    const reordered = await openOdp(client, 'SEL', 'D', { IT_SELECTIONS: [...selection].reverse(), IT_PROJECTION: projection })
    expect(reordered.ET_RETURN).toEqual([])

    const notSelectable = await openOdp(client, 'X2', 'D', {
      IT_SELECTIONS: [{ FIELDNAME: 'ARKTX', SIGN: 'I', OPTION: 'EQ', LOW: 'x', HIGH: '' }],
    })
    expect(notSelectable.ET_RETURN).toMatchObject([{ TYPE: 'E', MESSAGE: 'Field ARKTX cannot be used in selections with option EQ' }])
    const pattern = await openOdp(client, 'X3', 'F', {
      IT_SELECTIONS: [{ FIELDNAME: 'MATNR', SIGN: 'I', OPTION: 'CP', LOW: 'HT-*', HIGH: '' }],
    })
    const matched = decodeOdp((await fetchAll(client, pattern.E_POINTER as string)).lines, fields, false).map((r) => r.MATNR.trim())
    expect(matched).toEqual((await allRows(sim, ODP.odp)).map((r) => String(r.MATNR)).filter((m) => m.startsWith('HT-')))
  })

  it('says E_NO_MORE_DATA only on an empty FETCH in the after-last-package variant', async () => {
    ;({ sim, client } = await start({ odps: { ZSD_ITEMS_CDC: 10 }, variants: { odpNoMoreData: 'after-last-package' } }))
    const { packages } = await fetchAll(client, (await openOdp(client, 'F1', 'F')).E_POINTER as string, 3000)
    expect(packages.at(-1)).toMatchObject({ id: '', lines: [], noMore: 'X' })
    expect(packages.slice(0, -1).every((p) => p.noMore === '' && p.lines.length > 0)).toBe(true)
  })

  it('offers full extraction only for the SAPI text ODP', async () => {
    ;({ sim, client } = await start())
    const fields = await odpFields(client, 'SAPI', '0MATERIAL_TEXT')
    const delta = await client.call('RODPS_REPL_ODP_OPEN', {
      ...subscriber('T1'),
      I_CONTEXT: 'SAPI',
      I_ODPNAME: '0MATERIAL_TEXT',
      I_EXTRACTION_MODE: 'D',
    })
    expect(delta.ET_RETURN).toMatchObject([
      { TYPE: 'E', MESSAGE: 'Operational data provider 0MATERIAL_TEXT does not support delta extraction' },
    ])
    const full = await client.call('RODPS_REPL_ODP_OPEN', {
      ...subscriber('T1'),
      I_CONTEXT: 'SAPI',
      I_ODPNAME: '0MATERIAL_TEXT',
      I_EXTRACTION_MODE: 'F',
    })
    const rows = decodeOdp((await fetchAll(client, full.E_POINTER as string)).lines, fields, false).map((r) => odpToAbap(r, fields))
    expect(rows).toEqual(await allRows(sim, '0MATERIAL_TEXT'))
    expect(rows.some((r) => /[ねじナット]/.test(String(r.TXTMD)))).toBe(true)
    const modeI = await client.call('RODPS_REPL_ODP_OPEN', { ...subscriber('T1'), I_EXTRACTION_MODE: 'I' })
    expect(modeI.ET_RETURN).toMatchObject([{ TYPE: 'E', MESSAGE: 'Extraction mode I is not supported' }])
  })
})
