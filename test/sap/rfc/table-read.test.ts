/** TABLE_RFC full reads through the RFC simulator: paging, column groups, WHERE, values, errors, pool. */
import { describe, expect, it } from 'vitest'
import type { RfcClient } from '../../../src/sap/rfc/index.js'
import type { SapRow } from '../../../src/simulator/rfc/index.js'
import { drain, expectedRow, PARAMS, rfcSim, signal, simRows, source, sourceError, tableSpec } from './sim.js'

/** ZSD_ITEMS without NETPR, RABAT and ANZPK, whose extreme values overflow their RFC_READ_TABLE slots (§C.3). */
const SAFE = [
  'VBELN',
  'POSNR',
  'MATNR',
  'ARKTX',
  'KUNNR',
  'ERDAT',
  'ERZET',
  'NETWR',
  'WAERK',
  'KWMENG',
  'VRKME',
  'AEDAT',
  'AEZET',
  'CHANGED_AT',
  'LTEXT',
]

describe('TABLE_RFC full reads (RFC simulator)', () => {
  it('FULL: pages of at most pageSize in key order, every value equal to the table', async () => {
    const sim = await rfcSim({ tables: { ZSD_ITEMS: 1234 } })
    const read = await source(sim).read({ spec: tableSpec('ZSD_ITEMS', { fields: SAFE, pageSize: 300 }), mode: 'FULL', signal: signal() })
    expect(read.columns.map((c) => `${c.name}:${c.type.kind}${c.key ? '*' : ''}`)).toEqual([
      'MANDT:string*',
      'VBELN:string*',
      'POSNR:string*',
      'MATNR:string',
      'ARKTX:string',
      'KUNNR:string',
      'ERDAT:date',
      'ERZET:time',
      'NETWR:decimal',
      'WAERK:string',
      'KWMENG:decimal',
      'VRKME:string',
      'AEDAT:date',
      'AEZET:time',
      'CHANGED_AT:decimal',
      'LTEXT:string',
    ])
    expect(read.columns.find((c) => c.name === 'NETWR')!.type).toEqual({ kind: 'decimal', precision: 15, scale: 2 })
    const d = await drain(read)
    expect(d.end).toEqual({})
    expect(d.pageSizes.every((n) => n > 0 && n <= 300)).toBe(true)
    const table = await simRows(sim, 'ZSD_ITEMS')
    expect(d.rows).toHaveLength(1234)
    expect(d.rows).toEqual(table.map((r) => expectedRow(read.columns, r)))
    // the data exercises §C.3: NUMC zeros, 00000000, 240000, negative packed numbers, multi-byte text
    const col = (n: string) => read.columns.findIndex((c) => c.name === n)
    expect(d.rows.some((r) => r[col('ERDAT')] === null)).toBe(true)
    expect(d.rows.some((r) => r[col('ERZET')] === 86_400_000_000)).toBe(true)
    expect(d.rows.some((r) => String(r[col('NETWR')]).startsWith('-'))).toBe(true)
    expect(d.rows.some((r) => String(r[col('KWMENG')]).startsWith('-'))).toBe(true)
    expect(d.rows.some((r) => /😀|日本/.test(String(r[col('LTEXT')])))).toBe(true)
    expect(d.rows[0][col('VBELN')]).toBe('0000000001')
  })

  it('rows come back in a different order on every call (no ORDER BY): key slices still deliver each row once', async () => {
    const sim = await rfcSim({ tables: { ZSD_ITEMS: 900 }, variants: { unstableOrder: true } })
    // The variant bites: naive ROWSKIPS/ROWCOUNT paging duplicates and loses rows (§C.4).
    const c = await sim.createClient(PARAMS).open()
    const seen: string[] = []
    for (let skip = 0; skip < 900; skip += 100) {
      const res = await c.call('RFC_READ_TABLE', {
        QUERY_TABLE: 'ZSD_ITEMS',
        FIELDS: [{ FIELDNAME: 'VBELN' }, { FIELDNAME: 'POSNR' }],
        ROWSKIPS: skip,
        ROWCOUNT: 100,
      })
      seen.push(...(res['DATA'] as Array<{ WA: string }>).map((r) => r.WA))
    }
    await c.close()
    expect(new Set(seen).size).toBeLessThan(900)

    const read = await source(sim).read({ spec: tableSpec('ZSD_ITEMS', { fields: SAFE, pageSize: 100 }), mode: 'FULL', signal: signal() })
    const d = await drain(read)
    expect(d.rows).toEqual((await simRows(sim, 'ZSD_ITEMS')).map((r) => expectedRow(read.columns, r)))
  })

  it('a table wider than 512 characters is read in column groups that carry the key, joined value by value', async () => {
    const sim = await rfcSim({ tables: { ZMAT_WIDE: 420 } })
    // all 616 characters at once: the classic module refuses
    const c = await sim.createClient(PARAMS).open()
    await expect(c.call('RFC_READ_TABLE', { QUERY_TABLE: 'ZMAT_WIDE', ROWCOUNT: 1 })).rejects.toMatchObject({ key: 'DATA_BUFFER_EXCEEDED' })
    await c.close()
    const before = sim.admin.stats().byFunction['RFC_READ_TABLE'] ?? 0
    const read = await source(sim).read({ spec: tableSpec('ZMAT_WIDE', { pageSize: 100 }), mode: 'FULL', signal: signal() })
    expect(read.columns).toHaveLength(15)
    const d = await drain(read)
    expect(d.rows).toEqual((await simRows(sim, 'ZMAT_WIDE')).map((r) => expectedRow(read.columns, r)))
    // 5 slices (420 rows / 100) × (1 key probe + 2 column groups) + 1 metadata call
    expect((sim.admin.stats().byFunction['RFC_READ_TABLE'] ?? 0) - before).toBe(5 * 3 + 1)
    expect(d.rows.some((r) => /😀|検査/.test(String(r[12])))).toBe(true)
  })

  it('parallel column-group reads share the pool and never exceed its per-connection limit', async () => {
    const sim = await rfcSim({ tables: { ZMAT_WIDE: 300 }, callLatencyMs: 5 })
    let inFlight = 0
    let peak = 0
    const counting = (poolSize: number) =>
      source(sim, {
        poolSize,
        clientFactory: (p) => {
          const inner = sim.createClient(p)
          const wrapped: RfcClient = {
            get alive() {
              return inner.alive
            },
            get id() {
              return inner.id
            },
            open: async () => (await inner.open(), wrapped),
            close: () => inner.close(),
            ping: () => inner.ping(),
            cancel: () => inner.cancel(),
            call: async (fm, params, o) => {
              peak = Math.max(peak, ++inFlight)
              try {
                return await inner.call(fm, params, o)
              } finally {
                inFlight--
              }
            },
          }
          return wrapped
        },
      })
    const expected = (await simRows(sim, 'ZMAT_WIDE')).length
    const two = counting(2)
    const [a, b] = await Promise.all([
      two.read({ spec: tableSpec('ZMAT_WIDE', { pageSize: 50 }), mode: 'FULL', signal: signal() }),
      two.read({ spec: tableSpec('ZMAT_WIDE', { pageSize: 70 }), mode: 'FULL', signal: signal() }),
    ])
    const [da, db] = await Promise.all([drain(a), drain(b)])
    expect(da.rows).toHaveLength(expected)
    expect(db.rows).toEqual(da.rows)
    expect(peak).toBe(2)
    expect(two.poolStats.open).toBeLessThanOrEqual(2)
    peak = 0
    const one = counting(1)
    const d1 = await drain(await one.read({ spec: tableSpec('ZMAT_WIDE', { pageSize: 50 }), mode: 'FULL', signal: signal() }))
    expect(d1.rows).toEqual(da.rows)
    expect(peak).toBe(1)
  })

  it('WHERE filters are validated, split into 72-character OPTIONS lines and applied by SAP', async () => {
    const sim = await rfcSim({ tables: { ZSD_ITEMS: 800 } })
    const docs = Array.from({ length: 40 }, (_, i) => `'${String(3 * i + 1).padStart(10, '0')}'`)
    const filter = `waerk = 'EUR' AND ( erdat >= '20180101' OR matnr LIKE 'HT-%' ) AND vbeln IN (${docs.join(', ')})`
    expect(filter.length).toBeGreaterThan(500)
    const read = await source(sim).read({
      spec: tableSpec('ZSD_ITEMS', { fields: SAFE, filter, pageSize: 25 }),
      mode: 'FULL',
      signal: signal(),
    })
    const d = await drain(read)
    const wanted = new Set(docs.map((s) => s.slice(1, -1)))
    const match = (r: SapRow) =>
      r.WAERK === 'EUR' && (String(r.ERDAT) >= '20180101' || String(r.MATNR).startsWith('HT-')) && wanted.has(String(r.VBELN))
    const expected = (await simRows(sim, 'ZSD_ITEMS')).filter(match)
    expect(expected.length).toBeGreaterThan(20)
    expect(d.rows).toEqual(expected.map((r) => expectedRow(read.columns, r)))
  })

  it('a value that overflowed its slot (*) fails the read naming column, key and value', async () => {
    const sim = await rfcSim({ tables: { ZSD_ITEMS: 300 } })
    for (const field of ['NETPR', 'RABAT', 'ANZPK']) {
      const read = await source(sim).read({ spec: tableSpec('ZSD_ITEMS', { fields: [field] }), mode: 'FULL', signal: signal() })
      const e = await sourceError(drain(read))
      expect(e.code).toBe('SOURCE_PROTOCOL')
      expect(e.message).toMatch(
        new RegExp(`column ${field} .*VBELN=\\d{10}, POSNR=\\d{6}.*value "\\*[0-9.]+-?" overflowed its output slot`),
      )
      await expect(read.end()).rejects.toBe(e)
    }
  })

  it('refusals: unknown table, unknown field, bad WHERE, missing authorization, wrong password', async () => {
    const sim = await rfcSim({ tables: { ZSD_ITEMS: 10 } })
    const src = source(sim)
    const read = (spec: ReturnType<typeof tableSpec>) => src.read({ spec, mode: 'FULL', signal: signal() })
    expect(await sourceError(read(tableSpec('ZNOPE')))).toMatchObject({ code: 'SOURCE_NOT_FOUND', sapCode: 'TABLE_NOT_AVAILABLE' })
    expect((await sourceError(read(tableSpec('ZSD_ITEMS', { fields: ['VBELN', 'NOPE'] })))).message).toMatch(/unknown field NOPE/)
    const calls = sim.admin.stats().byFunction['RFC_READ_TABLE']
    expect((await sourceError(read(tableSpec('ZSD_ITEMS', { filter: "ERDAT <= '20240231'" })))).message).toMatch(/not a valid date/)
    expect((await sourceError(read(tableSpec('ZSD_ITEMS', { filter: "KUNNR = '1' AND" })))).code).toBe('SOURCE_BAD_REQUEST')
    // refused before any data call (one metadata call each)
    expect(sim.admin.stats().byFunction['RFC_READ_TABLE']).toBe(calls + 2)
    sim.admin.setTableAuthorization('ZSD_ITEMS', false)
    const forbidden = await sourceError(read(tableSpec('ZSD_ITEMS')))
    expect(forbidden).toMatchObject({ code: 'SOURCE_FORBIDDEN', retryable: false })
    expect(forbidden.message).toMatch(/S_TABU_DIS/)
    const logs: string[] = []
    const wrong = source(
      sim,
      { log: (level, msg, data) => logs.push(JSON.stringify({ level, msg, data })) },
      { ...PARAMS, passwd: 'WrongPassword' },
    )
    const auth = await sourceError(wrong.ping(signal()))
    expect(auth.code).toBe('SOURCE_AUTH')
    expect(auth.message).not.toContain('WrongPassword')
    const viaPool = await sourceError(wrong.read({ spec: tableSpec('ZSD_ITEMS'), mode: 'FULL', signal: signal() }))
    expect(viaPool.code).toBe('SOURCE_AUTH')
    expect(JSON.stringify({ viaPool, cause: viaPool.cause, message: viaPool.message, logs, wrong })).not.toContain('WrongPassword')
    expect((await source(sim).ping(signal())).latencyMs).toBeGreaterThanOrEqual(0)
  })

  it('a dropped connection is retried with a fresh one; an abort stops the read', async () => {
    const sim = await rfcSim({ tables: { ZSD_ITEMS: 500 } })
    sim.admin.injectFault({ kind: 'communication-failure', functionModule: 'RFC_READ_TABLE', times: 2 })
    const src = source(sim)
    const read = await src.read({ spec: tableSpec('ZSD_ITEMS', { fields: SAFE, pageSize: 100 }), mode: 'FULL', signal: signal() })
    const d = await drain(read)
    expect(sim.admin.stats().faultsFired).toBe(2)
    expect(d.rows).toEqual((await simRows(sim, 'ZSD_ITEMS')).map((r) => expectedRow(read.columns, r)))

    const ctl = new AbortController()
    const r2 = await src.read({ spec: tableSpec('ZSD_ITEMS', { fields: SAFE, pageSize: 100 }), mode: 'FULL', signal: ctl.signal })
    const pages = r2.pages[Symbol.asyncIterator]()
    expect((await pages.next()).value?.rows).toHaveLength(100)
    ctl.abort(new DOMException('run cancelled', 'AbortError'))
    await expect(pages.next()).rejects.toThrow('run cancelled')
    await expect(r2.end()).rejects.toThrow('run cancelled')
    expect(src.poolStats.busy).toBe(0)
  })
})

describe('TABLE_RFC and the field types RFC_READ_TABLE mangles (§C.3)', () => {
  it('FLTP: the exponent form read exactly as SAP wrote it, 10 significant digits', async () => {
    const sim = await rfcSim({ tables: { ZQM_RESULTS: 120 } })
    const read = await source(sim).read({
      spec: tableSpec('ZQM_RESULTS', { fields: ['MBEWERTG', 'MITTELWERT', 'PRUEFDATUM'], pageSize: 50 }),
      mode: 'FULL',
      signal: signal(),
    })
    expect(read.columns.map((c) => `${c.name}:${c.type.kind}`)).toEqual([
      'MANDT:string',
      'PRUEFLOS:string',
      'MERKNR:string',
      'MBEWERTG:string',
      'MITTELWERT:double',
      'PRUEFDATUM:date',
    ])
    const d = await drain(read)
    const table = await simRows(sim, 'ZQM_RESULTS')
    // independent of the client: JavaScript's own rounding to 10 significant digits
    const expected = table.map((r) => [
      ...expectedRow(read.columns, r).slice(0, 4),
      Number((r.MITTELWERT as number).toExponential(9)),
      expectedRow(read.columns, r)[5],
    ])
    expect(d.rows).toEqual(expected)
    const mean = (r: unknown[]) => r[4] as number
    expect(d.rows.some((r) => mean(r) < 0) && d.rows.some((r) => mean(r) === 0) && d.rows.some((r) => Math.abs(mean(r)) < 1e-6)).toBe(true)
  })

  it('RAW and STRING fields: a clear error naming them, before any data is read', async () => {
    const sim = await rfcSim({ tables: { ZQM_RESULTS: 20 } })
    const src = source(sim)
    const refusal = async (fields?: string[]) => {
      const before = sim.admin.stats().byFunction['RFC_READ_TABLE'] ?? 0
      const e = await sourceError(src.read({ spec: tableSpec('ZQM_RESULTS', { fields }), mode: 'FULL', signal: signal() }).then(drain))
      expect(e).toMatchObject({ code: 'SOURCE_BAD_REQUEST', retryable: false })
      expect(sim.admin.stats().byFunction['RFC_READ_TABLE'] - before).toBe(1) // the NO_DATA call for the field list only
      return e.message
    }
    // all fields: both named, and how to leave them out
    const all = await refusal()
    expect(all).toMatch(/PRUEFBEM \(STRG\): strings make RFC_READ_TABLE dump/)
    expect(all).toMatch(/RES_GUID \(RAW\): .*only the first half arrives/)
    expect(all).toMatch(/list the fields to read in `fields`, without these/)
    expect(await refusal(['MITTELWERT', 'PRUEFBEM'])).toMatch(
      /^table ZQM_RESULTS: PRUEFBEM \(STRG\): strings make RFC_READ_TABLE dump; remove it from `fields`$/,
    )
    expect(await refusal(['res_guid'])).toMatch(/RES_GUID \(RAW\).*remove it from `fields`/)
  })
})
