import { describe, expect, it } from 'vitest'
import type { Column, ColumnType } from '../../../src/sap/fields.js'
import { SourceError } from '../../../src/sap/errors.js'
import { buildRowPlan, convertRows, converterFor, parseEdmTime } from '../../../src/sap/odata/values.js'
import { canonicalDecimal, ValueError } from '../../../src/sap/values.js'

const conv = (t: ColumnType) => converterFor(t)
const dec = (p: number, s: number) => conv({ kind: 'decimal', precision: p, scale: s })

describe('decimal', () => {
  it('keeps canonical strings as they are', () => {
    expect(dec(15, 2)('1234.50')).toBe('1234.50')
    expect(dec(15, 2)('-1.24')).toBe('-1.24')
    expect(dec(15, 2)('0.00')).toBe('0.00')
    expect(dec(37, 0)('-1')).toBe('-1')
  })
  it('canonicalises sign, leading zeros and scale padding', () => {
    expect(dec(15, 2)('+1234.5')).toBe('1234.50')
    expect(dec(15, 2)('001.1')).toBe('1.10')
    expect(dec(15, 2)('5')).toBe('5.00')
    expect(dec(15, 2)('.5')).toBe('0.50')
    expect(dec(15, 2)('5.')).toBe('5.00')
    expect(dec(15, 2)('-0.00')).toBe('0.00')
    expect(dec(37, 0)('-0')).toBe('0')
    expect(dec(37, 0)('+1')).toBe('1')
    expect(dec(13, 3)('12.500000')).toBe('12.500')
  })
  it('accepts JSON numbers without going through arithmetic', () => {
    expect(dec(15, 2)(1234.5)).toBe('1234.50')
    expect(dec(15, 2)(-0.1)).toBe('-0.10')
    expect(dec(37, 0)(1e21)).toBe('1000000000000000000000')
    expect(dec(15, 9)(1.5e-7)).toBe('0.000000150')
  })
  it('keeps every digit of a 37-digit value (never via float)', () => {
    const big = '1234567890123456789012345678901234567'
    expect(dec(37, 0)(big)).toBe(big)
    expect(dec(38, 10)('-1234567890123456789012345678.0123456789')).toBe('-1234567890123456789012345678.0123456789')
    expect(canonicalDecimal('0.1', 38, 20)).toBe('0.10000000000000000000')
  })
  it('refuses rounding, overflow and garbage', () => {
    expect(() => dec(15, 2)('1.234')).toThrow(ValueError)
    expect(() => dec(15, 2)('1.234')).toThrow(/more than 2 decimal places/)
    expect(() => dec(5, 2)('1234.00')).toThrow(/does not fit Decimal\(5,2\)/)
    expect(() => dec(15, 2)('1,5')).toThrow(/not a decimal/)
    expect(() => dec(15, 2)('')).toThrow(/not a decimal/)
    expect(() => dec(15, 2)('-')).toThrow(/not a decimal/)
    expect(() => dec(15, 2)('1.24140-')).toThrow(/not a decimal/)
    expect(() => dec(15, 2)(Number.NaN)).toThrow()
    expect(() => dec(15, 2)(true)).toThrow(/not a decimal string/)
  })
})

describe('integers', () => {
  it('Int16/Int32 take numbers (and digit strings), range-checked', () => {
    expect(conv({ kind: 'int32' })(-2147483648)).toBe(-2147483648)
    expect(conv({ kind: 'int32' })('42')).toBe(42)
    expect(() => conv({ kind: 'int32' })(2147483648)).toThrow(/Int32/)
    expect(() => conv({ kind: 'int16' })(32768)).toThrow(/Int16/)
    expect(() => conv({ kind: 'int16' })(1.5)).toThrow(/Int16/)
    expect(() => conv({ kind: 'int32' })('4x')).toThrow(/Int32/)
  })
  it('Byte and SByte accept number or string', () => {
    expect(conv({ kind: 'uint8' })(255)).toBe(255)
    expect(conv({ kind: 'uint8' })('7')).toBe(7)
    expect(() => conv({ kind: 'uint8' })(-1)).toThrow(/Byte/)
    expect(conv({ kind: 'int8' })('-128')).toBe(-128)
    expect(() => conv({ kind: 'int8' })(128)).toThrow(/SByte/)
  })
  it('Int64 from a string becomes an exact bigint', () => {
    expect(conv({ kind: 'int64' })('9223372036854775807')).toBe(9223372036854775807n)
    expect(conv({ kind: 'int64' })('-9223372036854775808')).toBe(-9223372036854775808n)
    expect(conv({ kind: 'int64' })(12)).toBe(12n)
    expect(() => conv({ kind: 'int64' })('9223372036854775808')).toThrow(/Int64 range/)
    expect(() => conv({ kind: 'int64' })(2 ** 60)).toThrow(/Int64/)
    expect(() => conv({ kind: 'int64' })('1.5')).toThrow(/Int64/)
  })
})

describe('double, boolean, string', () => {
  it('Double/Single accept number or string, incl. INF/NaN', () => {
    const d = conv({ kind: 'double' })
    expect(d(1.5)).toBe(1.5)
    expect(d('-2.5E3')).toBe(-2500)
    expect(d('INF')).toBe(Infinity)
    expect(d('-INF')).toBe(-Infinity)
    expect(d('NaN')).toBeNaN()
    expect(() => d('abc')).toThrow(/floating-point/)
    expect(() => d('')).toThrow(/floating-point/)
  })
  it('Boolean', () => {
    const b = conv({ kind: 'boolean' })
    expect(b(true)).toBe(true)
    expect(b(false)).toBe(false)
    expect(b('true')).toBe(true)
    expect(() => b('X')).toThrow(/boolean/)
    expect(() => b(1)).toThrow(/boolean/)
  })
  it('String keeps leading zeros and multibyte text, refuses numbers', () => {
    const s = conv({ kind: 'string' })
    expect(s('0000004711')).toBe('0000004711')
    expect(s('Grüße – 日本語 🚀')).toBe('Grüße – 日本語 🚀')
    expect(() => s(4711)).toThrow(/not a string/)
  })
})

describe('dates and timestamps', () => {
  const date = conv({ kind: 'date' })
  const ts = conv({ kind: 'timestamp' })
  it('/Date(ms)/ as a calendar date at UTC midnight', () => {
    expect((date('/Date(1726531200000)/') as Date).toISOString()).toBe('2024-09-17T00:00:00.000Z')
    expect((date('/Date(0)/') as Date).toISOString()).toBe('1970-01-01T00:00:00.000Z')
    expect((date('/Date(-86400000)/') as Date).toISOString()).toBe('1969-12-31T00:00:00.000Z')
    expect((date('/Date(-62135596800000)/') as Date).toISOString()).toBe('0001-01-01T00:00:00.000Z')
    expect((date('/Date(253402214400000)/') as Date).toISOString()).toBe('9999-12-31T00:00:00.000Z')
  })
  it('the escaped form: JSON.parse already unescapes \\/, a double-escaped one is accepted too', () => {
    const parsed = JSON.parse('{"v":"\\/Date(1726531200000)\\/"}') as { v: string }
    expect(parsed.v).toBe('/Date(1726531200000)/')
    expect((date(parsed.v) as Date).getTime()).toBe(1726531200000)
    expect((date('\\/Date(1726531200000)\\/') as Date).getTime()).toBe(1726531200000)
    expect((ts('\\/Date(1500000000000)\\/') as Date).getTime()).toBe(1500000000000)
  })
  it('a date column ignores an offset suffix: the ticks are the UTC midnight', () => {
    expect((date('/Date(1726531200000+0060)/') as Date).toISOString()).toBe('2024-09-17T00:00:00.000Z')
  })
  it('refuses a time of day in a date column', () => {
    expect(() => date('/Date(1726534800000)/')).toThrow(/time of day/)
    expect(() => date('/Date(-3600000)/')).toThrow(/time of day/)
  })
  it('timestamps: ms since epoch are the UTC instant, the offset only names the zone', () => {
    expect((ts('/Date(1500000000000)/') as Date).getTime()).toBe(1500000000000)
    expect((ts('/Date(1500000000000+0060)/') as Date).getTime()).toBe(1500000000000)
    expect((ts('/Date(1500000000000-0330)/') as Date).getTime()).toBe(1500000000000)
    expect((ts('/Date(1500000000000+0000)/') as Date).getTime()).toBe(1500000000000)
    expect((ts('/Date(-1000)/') as Date).toISOString()).toBe('1969-12-31T23:59:59.000Z')
  })
  it('ISO strings (DateTimeOffset in some releases); no zone means UTC', () => {
    expect((ts('2025-09-14T15:46:09Z') as Date).toISOString()).toBe('2025-09-14T15:46:09.000Z')
    expect((ts('2025-09-14T15:46:09.1234567+02:00') as Date).toISOString()).toBe('2025-09-14T13:46:09.123Z')
    expect((ts('2025-09-14T15:46:09') as Date).toISOString()).toBe('2025-09-14T15:46:09.000Z')
    expect((date('2025-09-14') as Date).toISOString()).toBe('2025-09-14T00:00:00.000Z')
    expect((date('0001-01-01') as Date).toISOString()).toBe('0001-01-01T00:00:00.000Z')
    expect((ts('0099-12-31T23:59:59Z') as Date).toISOString()).toBe('0099-12-31T23:59:59.000Z')
  })
  it('refuses malformed dates', () => {
    expect(() => ts('/Date(abc)/')).toThrow(/Date/)
    expect(() => ts('Date(1)')).toThrow(/Date/)
    expect(() => ts('/Date(99999999999999999)/')).toThrow()
    expect(() => ts(1500000000000)).toThrow(/Date/)
    expect(() => ts('2025-13-01T00:00:00Z')).toThrow(/Date/)
  })
})

describe('Edm.Time', () => {
  it('PT..H..M..S → microseconds since midnight', () => {
    expect(parseEdmTime('PT00H00M00S')).toBe(0)
    expect(parseEdmTime('PT13H05M00S')).toBe((13 * 3600 + 5 * 60) * 1_000_000)
    expect(parseEdmTime('PT23H59M59S')).toBe(86_399_000_000)
  })
  it('PT24H00M00S is SAP 240000 = 86_400_000_000 µs', () => {
    expect(parseEdmTime('PT24H00M00S')).toBe(86_400_000_000)
  })
  it('fractional seconds exactly, digits beyond µs truncated', () => {
    expect(parseEdmTime('PT0.1S')).toBe(100_000)
    expect(parseEdmTime('PT13H05M00.000001S')).toBe(47_100_000_001)
    expect(parseEdmTime('PT1.9999999S')).toBe(1_999_999)
    expect(parseEdmTime('PT12H')).toBe(43_200_000_000)
    expect(parseEdmTime('P0DT1M')).toBe(60_000_000)
  })
  it('refuses malformed and over-long durations', () => {
    expect(() => parseEdmTime('PT')).toThrow(ValueError)
    expect(() => parseEdmTime('13:05:00')).toThrow(/Edm.Time/)
    expect(() => parseEdmTime('PT24H00M01S')).toThrow(/over 24 hours/)
    expect(() => parseEdmTime('-PT1H')).toThrow(/Edm.Time/)
    expect(() => conv({ kind: 'time' })(130500)).toThrow(/Edm.Time/)
  })
})

describe('binary and guid', () => {
  it('base64 → Uint8Array owning its bytes', () => {
    const b = conv({ kind: 'binary' })('AQL/') as Uint8Array
    expect(b).toBeInstanceOf(Uint8Array)
    expect([...b]).toEqual([1, 2, 255])
    expect(b.byteOffset).toBe(0)
    expect(b.buffer.byteLength).toBe(3)
    expect([...(conv({ kind: 'binary' })('') as Uint8Array)]).toEqual([])
    expect(() => conv({ kind: 'binary' })('no base64!')).toThrow(/base64/)
    expect(() => conv({ kind: 'binary' })('A')).toThrow(/base64/)
  })
  it('GUID lower-cased in 8-4-4-4-12', () => {
    const g = conv({ kind: 'guid' })
    expect(g('0050568D-393C-1ED4-9D97-E65F0F3FCC23')).toBe('0050568d-393c-1ed4-9d97-e65f0f3fcc23')
    expect(g('0050568D393C1ED49D97E65F0F3FCC23')).toBe('0050568d-393c-1ed4-9d97-e65f0f3fcc23')
    expect(() => g('xyz')).toThrow(/GUID/)
  })
})

describe('convertRows', () => {
  const columns: Column[] = [
    { name: 'VBELN', type: { kind: 'string', maxLength: 10 }, nullable: false, key: true },
    { name: 'POSNR', type: { kind: 'string', maxLength: 6 }, nullable: false, key: true },
    { name: 'NETWR', type: { kind: 'decimal', precision: 15, scale: 2 }, nullable: false, key: false },
    { name: 'ERDAT', type: { kind: 'date' }, nullable: true, key: false },
  ]
  const plan = buildRowPlan(columns)
  it('produces rows in column order, drops __metadata and extra properties, keeps null', () => {
    const rows = convertRows(
      [
        { __metadata: { id: 'x', type: 'T' }, ERDAT: '/Date(0)/', NETWR: '1.50', POSNR: '000010', VBELN: '0000004711', EXTRA: 1 },
        { __metadata: {}, VBELN: '0000004712', POSNR: '000020', NETWR: '-2.00', ERDAT: null },
      ],
      plan,
    )
    expect(rows).toEqual([
      ['0000004711', '000010', '1.50', new Date(0)],
      ['0000004712', '000020', '-2.00', null],
    ])
  })
  it('names column, row (with key) and value of a malformed value', () => {
    const results = [
      { VBELN: '1', POSNR: '10', NETWR: '1.00', ERDAT: null },
      { VBELN: '0000004711', POSNR: '000020', NETWR: '12,50', ERDAT: null },
    ]
    let err: unknown
    try {
      convertRows(results, plan, 100)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(SourceError)
    expect((err as SourceError).code).toBe('SOURCE_PROTOCOL')
    expect((err as SourceError).message).toBe(
      'column NETWR, row 102 (VBELN="0000004711", POSNR="000020"): value "12,50" is not a decimal number',
    )
  })
  it('a missing property is an error, not a silent null', () => {
    expect(() => convertRows([{ VBELN: '1', POSNR: '2', NETWR: '1.00' }], plan)).toThrow(/column ERDAT, row 1 .*is missing/)
  })
  it('a non-object row is an error', () => {
    expect(() => convertRows([42], plan)).toThrow(/row 1 .*not an object/)
  })
})
