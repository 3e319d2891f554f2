/** Watermark arithmetic and positions of TABLE_RFC deltas (docs/sap-protocols.md §C.7), and ODP selections/process names. */
import { describe, expect, it } from 'vitest'
import { SourceError } from '../../../src/sap/errors.js'
import { subscriberProcess } from '../../../src/sap/rfc/odq.js'
import { OdpFieldsInfo, type OdpField } from '../../../src/sap/rfc/odp-fields.js'
import { parseSelection } from '../../../src/sap/rfc/odp-selection.js'
import { kindOf, type RfcField } from '../../../src/sap/rfc/values.js'
import {
  capFuture,
  decodePosition,
  encodePosition,
  lowerBound,
  resolveWatermark,
  sinceCondition,
  watermarkValue,
} from '../../../src/sap/rfc/watermark.js'

const f = (name: string, type: string, length: number, decimals = 0): RfcField => ({
  name,
  kind: kindOf(type),
  sourceType: type,
  length,
  decimals,
  key: false,
})
const FIELDS = new Map(
  [
    f('AEDAT', 'DATS', 8),
    f('AEZET', 'TIMS', 6),
    f('CHANGED_AT', 'DEC', 15),
    f('TSL', 'DEC', 21, 7),
    f('MATNR', 'CHAR', 18),
    f('STAMP', 'NUMC', 14),
  ].map((x) => [x.name, x]),
)

describe('watermarks', () => {
  it('resolves date, timestamp and date+time fields; refuses others', () => {
    expect(resolveWatermark('aedat', FIELDS).kind).toBe('date')
    expect(resolveWatermark('CHANGED_AT', FIELDS).kind).toBe('timestamp')
    expect(resolveWatermark('TSL', FIELDS).kind).toBe('timestamp')
    expect(resolveWatermark('STAMP', FIELDS).kind).toBe('timestamp')
    expect(resolveWatermark('AEDAT+AEZET', FIELDS)).toMatchObject({ kind: 'date+time', name: 'AEDAT+AEZET' })
    expect(() => resolveWatermark('MATNR', FIELDS)).toThrow(/neither a date/)
    expect(() => resolveWatermark('AEZET+AEDAT', FIELDS)).toThrow(/date and a time/)
    expect(() => resolveWatermark('NOPE', FIELDS)).toThrow(SourceError)
  })

  it('row values: initial watermarks are not watermarks', () => {
    const d = resolveWatermark('AEDAT', FIELDS)
    expect(watermarkValue(d, ['20250131'])).toBe('20250131')
    expect(watermarkValue(d, ['00000000'])).toBeUndefined()
    const ts = resolveWatermark('CHANGED_AT', FIELDS)
    expect(watermarkValue(ts, ['20250131120000 '])).toBe('20250131120000')
    expect(watermarkValue(ts, ['              0 '])).toBeUndefined()
    expect(watermarkValue(resolveWatermark('TSL', FIELDS), [' 20250131120000.1234567 '])).toBe('20250131120000.1234567')
    expect(watermarkValue(resolveWatermark('AEDAT+AEZET', FIELDS), ['20250131', '235959'])).toBe('20250131235959')
  })

  it('lower bounds step back by the overlap; dates by whole days, never less than the boundary day', () => {
    expect(lowerBound(resolveWatermark('AEDAT', FIELDS), '20250301', 86_400)).toBe('20250228')
    expect(lowerBound(resolveWatermark('AEDAT', FIELDS), '20250301', 0)).toBe('20250301')
    expect(lowerBound(resolveWatermark('AEDAT', FIELDS), '20250301', 3600)).toBe('20250228')
    expect(lowerBound(resolveWatermark('CHANGED_AT', FIELDS), '20250101003000', 3600)).toBe('20241231233000')
    expect(lowerBound(resolveWatermark('TSL', FIELDS), '20250101003000.5000000', 60)).toBe('20250101002900.0000000')
  })

  it('conditions are open SQL the OPTIONS splitter can carry', () => {
    expect(sinceCondition(resolveWatermark('AEDAT', FIELDS), '20250228')).toEqual(['AEDAT', '>=', "'20250228'"])
    expect(sinceCondition(resolveWatermark('CHANGED_AT', FIELDS), '20241231233000')).toEqual(['CHANGED_AT', '>=', '20241231233000'])
    expect(sinceCondition(resolveWatermark('STAMP', FIELDS), '20241231233000')).toEqual(['STAMP', '>=', "'20241231233000'"])
    expect(sinceCondition(resolveWatermark('AEDAT+AEZET', FIELDS), '20250228120000').join(' ')).toBe(
      "( AEDAT > '20250228' ) OR ( ( AEDAT = '20250228' ) AND ( AEZET >= '120000' ) )",
    )
  })

  it('a placeholder far in the future does not become the high mark', () => {
    const d = resolveWatermark('AEDAT', FIELDS)
    const now = new Date('2025-03-01T10:00:00Z')
    expect(capFuture(d, '99991231', now)).toBeUndefined()
    expect(capFuture(d, '20250302', now)).toBe('20250302')
    expect(capFuture(d, '20250303', now)).toBeUndefined()
  })

  it('positions round-trip; a bare token is accepted; a position of another table is lost', () => {
    const d = resolveWatermark('AEDAT', FIELDS)
    const p = {
      v: 1 as const,
      kind: 'TABLE_RFC' as const,
      table: 'ZSD_ITEMS',
      watermarkField: 'AEDAT',
      watermark: '20250301',
      overlapSeconds: 86_400,
      seen: ['abc'],
    }
    expect(decodePosition(encodePosition(p), 'ZSD_ITEMS', d, 86_400)).toEqual(p)
    expect(decodePosition('20250301', 'ZSD_ITEMS', d, 3600)).toMatchObject({ watermark: '20250301', seen: [] })
    expect(() => decodePosition(encodePosition(p), 'VBAP', d, 0)).toThrow(expect.objectContaining({ code: 'DELTA_POSITION_LOST' }))
    expect(() => decodePosition('{', 'ZSD_ITEMS', d, 0)).toThrow(expect.objectContaining({ code: 'DELTA_POSITION_LOST' }))
  })
})

describe('ODP subscriber process and selections', () => {
  it('the subscriber process is stable, at most 32 characters of [A-Z0-9_], distinct per pipeline', () => {
    expect(subscriberProcess('pipe_42')).toBe('PIPE_42')
    const a = subscriberProcess('cmc1f5x0q0000abcd1234efgh5678ijkl')
    const b = subscriberProcess('cmc1f5x0q0000abcd1234efgh5678ijkm')
    expect(a).toMatch(/^[A-Z0-9_]{1,32}$/)
    expect(a).not.toBe(b)
    expect(subscriberProcess('cmc1f5x0q0000abcd1234efgh5678ijkl')).toBe(a)
    expect(subscriberProcess('Sales items / EU')).toMatch(/^SALES_ITEMS___EU_[0-9A-F]{8}$/)
    expect(() => subscriberProcess(' ')).toThrow(SourceError)
  })

  const field = (name: string, type: string, length: number, sel: OdpField['sel'], key = false): OdpField => ({
    name,
    kind: kindOf(type),
    sourceType: type,
    length,
    decimals: 0,
    key,
    outputLength: length,
    transfer: true,
    sel,
  })
  const info = new OdpFieldsInfo('ZSD_ITEMS_CDC', [
    field('VBELN', 'NUMC', 10, { equal: true, between: true, pattern: false }, true),
    field('MATNR', 'CHAR', 18, { equal: true, between: true, pattern: true }),
    field('WAERK', 'CUKY', 5, { equal: true, between: false, pattern: false }),
    field('ARKTX', 'CHAR', 40, { equal: false, between: false, pattern: false }),
  ])

  it('open-SQL filters become ABAP range rows', () => {
    expect(
      parseSelection(
        "VBELN BETWEEN '0000000001' AND '0000000100' AND ( WAERK = 'EUR' OR WAERK = 'USD' ) AND MATNR LIKE 'HT-%' AND MATNR NOT IN ('X', 'Y')",
        info,
      ),
    ).toEqual([
      { FIELDNAME: 'VBELN', SIGN: 'I', OPTION: 'BT', LOW: '0000000001', HIGH: '0000000100' },
      { FIELDNAME: 'WAERK', SIGN: 'I', OPTION: 'EQ', LOW: 'EUR', HIGH: '' },
      { FIELDNAME: 'WAERK', SIGN: 'I', OPTION: 'EQ', LOW: 'USD', HIGH: '' },
      { FIELDNAME: 'MATNR', SIGN: 'I', OPTION: 'CP', LOW: 'HT-*', HIGH: '' },
      { FIELDNAME: 'MATNR', SIGN: 'E', OPTION: 'EQ', LOW: 'X', HIGH: '' },
      { FIELDNAME: 'MATNR', SIGN: 'E', OPTION: 'EQ', LOW: 'Y', HIGH: '' },
    ])
    expect(parseSelection("VBELN >= '0000000005'", info)).toEqual([
      { FIELDNAME: 'VBELN', SIGN: 'I', OPTION: 'GE', LOW: '0000000005', HIGH: '' },
    ])
  })

  it('refuses what ranges cannot say or the ODP does not allow', () => {
    expect(() => parseSelection("VBELN = '1' OR MATNR = 'X'", info)).toThrow(/combine conditions on different fields with AND only/)
    expect(() => parseSelection("( VBELN = '1' OR MATNR = 'X' )", info)).toThrow(/same field/)
    expect(() => parseSelection("ARKTX = 'x'", info)).toThrow(/ARKTX .* cannot be restricted with EQ/)
    expect(() => parseSelection("WAERK > 'A'", info)).toThrow(/cannot be restricted with GT/)
    expect(() => parseSelection("NOPE = 'x'", info)).toThrow(/unknown field NOPE/)
  })
})
