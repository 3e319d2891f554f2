import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { SapSimulator } from '../../src/simulator/index.js'
import { startSapSimulator, TYPES_SET } from '../../src/simulator/index.js'
import { collect, get, loadModel, toSapRow } from './helpers.js'

let sim: SapSimulator
beforeEach(async () => {
  sim = await startSapSimulator()
})
afterEach(async () => {
  await sim.close()
})

type Row = Record<string, unknown>

describe('type torture set (A.5; golden scenario 8)', () => {
  it('round-trips every row to the table content through the metadata types', async () => {
    const model = await loadModel(sim)
    const reply = await get(`${sim.serviceUrl}/${TYPES_SET}?$format=json`)
    const rows = reply.json.d.results as Row[]
    expect(rows).toHaveLength(60)
    expect(rows.map((r) => toSapRow(r, model.get(TYPES_SET)!))).toEqual(await collect(sim.admin.rows(TYPES_SET)))
  })

  it('sends each EDM type in its OData v2 JSON form', async () => {
    const reply = await get(`${sim.serviceUrl}/${TYPES_SET}?$format=json`)
    const rows = reply.json.d.results as Row[]
    const [max, min, nulls, beyond, negBeyond] = rows

    // integers: numbers, Int64 as string beyond 2^53
    expect(max).toMatchObject({ INT1: 255, INT2: 32767, INT4: 2147483647, INT8: '9223372036854775807' })
    expect(min).toMatchObject({ INT1: 0, INT2: -32768, INT4: -2147483648, INT8: '-9223372036854775808' })
    expect(beyond.INT8).toBe('9007199254740993')
    expect(negBeyond.INT8).toBe('-9007199254740995')
    expect(reply.text).toContain('"INT8":"9007199254740993"')
    expect(rows.every((r) => r.INT8 === null || typeof r.INT8 === 'string')).toBe(true)
    expect(rows.some((r) => typeof r.INT8 === 'string' && (r.INT8 as string).startsWith('-'))).toBe(true)

    // decimals: strings with exactly the scale, max precision, negatives
    expect(max.DEC31).toBe('99999999999999999.99999999999999')
    expect(min.DEC31).toBe('-99999999999999999.99999999999999')
    expect(max.DEC37).toBe('9'.repeat(37))
    expect(min.DEC37).toBe('-' + '9'.repeat(37))
    expect(beyond.DEC31).toBe('0.00000000000001')
    expect(rows.every((r) => /^-?\d{1,17}\.\d{14}$/.test(r.DEC31 as string) && /^-?\d{1,37}$/.test(r.DEC37 as string))).toBe(true)

    // dates and times
    expect(max.DATS).toBe('/Date(253402214400000)/')
    expect(min.DATS).toBe('/Date(-62135596800000)/')
    expect(nulls.DATS).toBeNull()
    expect(min.TSTMP).toBe('/Date(-1000)/')
    expect(max.TIMS).toBe('PT24H00M00S')
    expect(beyond.TIMS).toBe('PT23H59M59.999S')
    expect(rows.some((r) => /^PT\d\dH\d\dM\d\dS$/.test(r.TIMS as string))).toBe(true)
    expect(rows.some((r) => /^PT\d\dH\d\dM\d\d\.\d{3}S$/.test(r.TIMS as string))).toBe(true)
    const offsets = new Set(rows.map((r) => (typeof r.TSTMPL === 'string' ? /([+-]\d{4})\)\/$/.exec(r.TSTMPL)![1] : null)))
    expect(offsets).toContain('+0060')
    expect(offsets).toContain('+0000')
    expect(offsets).toContain('-0300')
    expect(rows.every((r) => r.TSTMP === null || /^\/Date\(-?\d+\)\/$/.test(r.TSTMP as string))).toBe(true)

    // other scalars
    expect(max.FLTP).toBe(1.7976931348623157e308)
    expect(beyond.FLTP).toBe(0.30000000000000004)
    expect(max.FLAG).toBe(true)
    expect(min.FLAG).toBe(false)
    expect(Buffer.from(max.RAW16 as string, 'base64')).toEqual(Buffer.alloc(16, 0xff))
    expect(rows.every((r) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(r.GUID as string))).toBe(true)
    expect(max.NUMC10).toBe('9999999999')
    expect(min.NUMC10).toBe('0000000000')
    expect(nulls).toMatchObject({ INT4: null, INT8: null, FLTP: null, RAW16: null, TSTMP: null, TSTMPL: null })

    // texts: 4-byte UTF-8 and JSON-hostile characters survive
    expect(max.TXT).toBe('😀 Grüße 日本 ß')
    expect(reply.text).toContain('😀 Grüße 日本 ß')
    const texts = rows.map((r) => r.TXT)
    expect(texts).toContain('quote " backslash \\ slash /')
    expect(texts).toContain('tab\tand newline\nin text')
    expect(min.TXT).toBe('')
  })

  it('filters on typed literals of the torture set', async () => {
    const all = await collect(sim.admin.rows(TYPES_SET))
    const q = async (filter: string): Promise<number[]> => {
      const reply = await get(`${sim.serviceUrl}/${TYPES_SET}?$format=json&$select=ID&$filter=${encodeURIComponent(filter)}`)
      expect(reply.status, reply.text).toBe(200)
      return (reply.json.d.results as Row[]).map((r) => r.ID as number)
    }
    expect(await q('INT8 gt 9007199254740992')).toEqual(
      all.filter((r) => r.INT8 !== null && BigInt(r.INT8 as string) > 9007199254740992n).map((r) => r.ID),
    )
    expect(await q('DEC31 lt -0.5M')).toEqual(all.filter((r) => Number(r.DEC31) < -0.5).map((r) => r.ID))
    expect(await q("GUID eq guid'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF'")).toEqual([1])
    expect(await q("TIMS ge time'PT24H00M00S'")).toEqual([1])
    expect(await q('FLAG eq true and INT4 eq null')).toEqual(all.filter((r) => r.FLAG === true && r.INT4 === null).map((r) => r.ID))
    expect(await q("TSTMP lt datetime'1970-01-01T00:00:00'")).toEqual([2])
    expect(await q("TSTMPL ge datetimeoffset'9999-12-31T23:59:59Z'")).toEqual([1])
    expect(await q('ID le 3 and not (ID eq 2)')).toEqual([1, 3])
  })
})
