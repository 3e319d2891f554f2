/** The type torture set (docs/sap-protocols.md §A.5, golden scenario F.8) through the client. */
import { describe, expect, it } from 'vitest'
import type { Row } from '../../../src/sap/fields.js'
import { expectedRow } from './expected.js'
import { client, drain, sim, tableRows, TYPES } from './sim.js'

describe('FactsOfZTYPES through the client', () => {
  it.each([false, true])('every value equals the table (escaped date slashes: %s)', async (escapedDateSlashes) => {
    const s = await sim({ rows: { [TYPES]: 200 }, variants: { escapedDateSlashes } })
    const c = client(s)
    const r = await c.read({ entitySet: TYPES, mode: 'FULL', pageSize: 64 })
    const d = await drain(r)
    const table = await tableRows(s, TYPES)
    expect(d.rows).toHaveLength(200)
    expect(d.rows).toEqual(table.map((t) => expectedRow(r.columns, t)))
  })

  it('edge rows keep their exact values', async () => {
    const s = await sim({ rows: { [TYPES]: 10 } })
    const c = client(s)
    const r = await c.read({ entitySet: TYPES, mode: 'DELTA_INIT', pageSize: 100 })
    const d = await drain(r)
    const at = (row: Row, name: string) => row[r.columns.findIndex((x) => x.name === name)]
    const [max, min, nulls, beyond53, half] = d.rows
    expect(r.columns.map((x) => `${x.name}:${x.type.kind}`)).toEqual([
      'ID:int32',
      'TXT:string',
      'NUMC10:string',
      'INT1:uint8',
      'INT2:int16',
      'INT4:int32',
      'INT8:int64',
      'FLTP:double',
      'FLAG:boolean',
      'RAW16:binary',
      'GUID:guid',
      'TSTMP:timestamp',
      'DATS:date',
      'TSTMPL:timestamp',
      'TIMS:time',
      'DEC31:decimal',
      'DEC37:decimal',
      'ODQ_CHANGEMODE:string',
      'ODQ_ENTITYCNTR:decimal',
    ])
    expect(at(max, 'TXT')).toBe('😀 Grüße 日本 ß')
    expect(at(max, 'NUMC10')).toBe('9999999999')
    expect(at(max, 'INT1')).toBe(255)
    expect(at(max, 'INT8')).toBe(9223372036854775807n)
    expect(at(max, 'FLTP')).toBe(1.7976931348623157e308)
    expect([...(at(max, 'RAW16') as Uint8Array)]).toEqual(new Array(16).fill(255))
    expect((at(max, 'DATS') as Date).toISOString()).toBe('9999-12-31T00:00:00.000Z')
    expect((at(max, 'TSTMP') as Date).toISOString()).toBe('9999-12-31T23:59:59.000Z')
    expect(at(max, 'TIMS')).toBe(86_400_000_000)
    expect(at(max, 'DEC31')).toBe('99999999999999999.99999999999999')
    expect(at(max, 'DEC37')).toBe('9'.repeat(37))
    expect(at(min, 'NUMC10')).toBe('0000000000')
    expect(at(min, 'INT8')).toBe(-9223372036854775808n)
    expect(at(min, 'INT2')).toBe(-32768)
    expect((at(min, 'DATS') as Date).toISOString()).toBe('0001-01-01T00:00:00.000Z')
    expect((at(min, 'TSTMP') as Date).toISOString()).toBe('1969-12-31T23:59:59.000Z')
    expect(at(min, 'DEC37')).toBe('-' + '9'.repeat(37))
    expect(at(min, 'GUID')).toBe('00000000-0000-0000-0000-000000000000')
    expect(['INT4', 'INT8', 'FLTP', 'RAW16', 'TSTMP', 'DATS', 'TSTMPL'].map((n) => at(nulls, n))).toEqual([
      null,
      null,
      null,
      null,
      null,
      null,
      null,
    ])
    expect(at(beyond53, 'INT8')).toBe(9007199254740993n)
    expect(at(beyond53, 'FLTP')).toBe(0.30000000000000004)
    expect(at(beyond53, 'DEC31')).toBe('0.00000000000001')
    expect(at(beyond53, 'TIMS')).toBe(86_399_999_000)
    expect(at(half, 'DEC31')).toBe('-0.50000000000000')
    expect(at(half, 'TIMS')).toBe(43_200_001_000)
    expect(d.rows.every((x) => at(x, 'ODQ_CHANGEMODE') === '' && at(x, 'ODQ_ENTITYCNTR') === '0')).toBe(true)
  })
})
