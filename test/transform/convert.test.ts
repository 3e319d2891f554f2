import { describe, expect, it } from 'vitest'
import type { Column, Value } from '../../src/sap/fields.js'
import {
  ValueConversionError,
  dateToDays,
  decimalToUnscaled,
  parseDecimal,
  timeToMicros,
  timestampToMillis,
  toBinary,
  toBoolean,
  toDouble,
  toGuid,
  toInt64,
  toSmallInt,
  toText,
  unscaledToDecimal,
} from '../../src/transform/convert.js'
import { col } from './helpers.js'

const dec = (precision: number, scale: number): Column => col('NETWR', { kind: 'decimal', precision, scale })

function conversionError(fn: () => unknown): ValueConversionError {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(ValueConversionError)
    return e as ValueConversionError
  }
  throw new Error('expected a ValueConversionError')
}

describe('decimal → unscaled integer', () => {
  it.each([
    ['-1234.50', 15, 2, -123450n],
    ['1234.5', 15, 2, 123450n], // missing fraction digits are padded
    ['12', 15, 2, 1200n],
    ['0', 15, 2, 0n],
    ['-0.00', 15, 2, 0n],
    ['0.05', 15, 2, 5n],
    ['.5', 3, 1, 5n],
    ['5.', 3, 1, 50n],
    ['+7', 3, 0, 7n],
    ['000123.4', 7, 2, 12340n], // leading zeros are not significant digits
    ['1.500', 15, 2, 150n], // zeros beyond the scale carry no value: exact, not rounded
    ['9999999999999.99', 15, 2, 999999999999999n],
    ['-9999999999999.99', 15, 2, -999999999999999n],
    ['99999.999', 8, 3, 99999999n],
    ['-12345678901234567.89012345678901', 31, 14, -1234567890123456789012345678901n],
    ['0.00000000000001', 31, 14, 1n],
    ['9999999999999999999999999999999999999', 37, 0, 9999999999999999999999999999999999999n],
    ['-9999999999999999999999999999999999999', 37, 0, -9999999999999999999999999999999999999n],
    ['123456789012345678', 18, 0, 123456789012345678n],
    ['-99999999999999.9999', 18, 4, -999999999999999999n],
    ['1.0000000000000001', 18, 16, 10000000000000001n],
    ['0.001', 3, 3, 1n],
  ])('%s at DECIMAL(%i,%i) → %s', (text, p, s, want) => {
    expect(decimalToUnscaled(text, dec(p, s))).toBe(want)
    // the hot-path form agrees: a number exactly when it fits 15 digits, a bigint otherwise
    const fast = parseDecimal(text, dec(p, s))
    expect(BigInt(fast)).toBe(want)
    if (p <= 15) expect(typeof fast).toBe('number')
  })

  it('never rounds: more fraction digits than the scale is an error naming column, value and scale', () => {
    const e = conversionError(() => decimalToUnscaled('1.005', dec(15, 2)))
    expect(e.column).toBe('NETWR')
    expect(e.value).toBe('1.005')
    expect(e.message).toBe('column NETWR: "1.005" has 3 fraction digits, DECIMAL(15,2) allows 2 (values are never rounded)')
  })

  it('rejects more digits than the precision allows', () => {
    expect(conversionError(() => decimalToUnscaled('1000', dec(5, 2))).message).toBe(
      'column NETWR: "1000" has 4 integer digits, DECIMAL(5,2) allows 3',
    )
    expect(() => decimalToUnscaled('99999999999999', dec(15, 2))).toThrow(/14 integer digits, DECIMAL\(15,2\) allows 13/)
    expect(() => decimalToUnscaled('0.0001', dec(3, 3))).toThrow(ValueConversionError)
    expect(() => decimalToUnscaled('99999999999999999999999999999999999999', dec(37, 0))).toThrow(/38 integer digits/)
  })

  it.each(['', '-', '.', '-.', '1e5', '1.2.3', ' 1', '1 ', '1,5', '0x10', 'NaN', '--1', '١٢'])('rejects non-canonical text %j', (text) => {
    const e = conversionError(() => decimalToUnscaled(text, dec(15, 2)))
    expect(e.message).toContain('is not a canonical decimal number for DECIMAL(15,2)')
  })

  it.each<[Value, string]>([
    [12.5, 'number 12.5'],
    [12n, '12n'],
    [true, 'boolean true'],
  ])('rejects %s: decimals travel as text, never as floats', (v, shown) => {
    expect(conversionError(() => decimalToUnscaled(v, dec(15, 2))).message).toBe(
      `column NETWR: ${shown} is not a decimal string (decimals travel as canonical text, never as floats)`,
    )
  })

  it('unscaledToDecimal is the inverse', () => {
    expect(unscaledToDecimal(-123450n, 2)).toBe('-1234.50')
    expect(unscaledToDecimal(5n, 3)).toBe('0.005')
    expect(unscaledToDecimal(-5n, 3)).toBe('-0.005')
    expect(unscaledToDecimal(42n, 0)).toBe('42')
    for (const text of ['-12345678901234567.89012345678901', '0.00000000000001', '7.00000000000000']) {
      expect(unscaledToDecimal(decimalToUnscaled(text, dec(31, 14)), 14)).toBe(text)
    }
  })
})

describe('dates, times, timestamps', () => {
  const date = col('ERDAT', { kind: 'date' })
  const time = col('ERZET', { kind: 'time' })
  const ts = col('CHANGED', { kind: 'timestamp' })

  it('date at 00:00 UTC → days since 1970-01-01', () => {
    expect(dateToDays(new Date('1970-01-01T00:00:00Z'), date)).toBe(0)
    expect(dateToDays(new Date('2024-02-29T00:00:00Z'), date)).toBe(19782)
    expect(dateToDays(new Date('1969-12-31T00:00:00Z'), date)).toBe(-1)
    expect(dateToDays(new Date('0001-01-01T00:00:00Z'), date)).toBe(-719162)
    expect(dateToDays(new Date('9999-12-31T00:00:00Z'), date)).toBe(2932896)
  })

  it('a date with a time of day is an error, not truncated', () => {
    expect(conversionError(() => dateToDays(new Date('2024-02-29T12:00:00Z'), date)).message).toBe(
      'column ERDAT: Date 2024-02-29T12:00:00.000Z is not a calendar date at 00:00 UTC (a date column never carries a time)',
    )
    expect(() => dateToDays(new Date(NaN), date)).toThrow('column ERDAT: Invalid Date is an invalid Date')
    expect(() => dateToDays('20240229', date)).toThrow('column ERDAT: "20240229" is not a Date')
  })

  it('time: 0 … 86_400_000_000 µs inclusive (SAP 240000 is valid)', () => {
    expect(timeToMicros(0, time)).toBe(0)
    expect(timeToMicros(86_400_000_000, time)).toBe(86_400_000_000)
    expect(timeToMicros(45_296_000_001, time)).toBe(45_296_000_001)
    expect(() => timeToMicros(86_400_000_001, time)).toThrow(/outside 0 … 86400000000 microseconds/)
    expect(() => timeToMicros(-1, time)).toThrow(ValueConversionError)
    expect(() => timeToMicros(1.5, time)).toThrow(/not an integer number of microseconds/)
    expect(() => timeToMicros('120000', time)).toThrow(ValueConversionError)
  })

  it('timestamp → milliseconds since the epoch', () => {
    expect(timestampToMillis(new Date('2023-11-14T22:13:20.123Z'), ts)).toBe(1_700_000_000_123)
    expect(timestampToMillis(new Date(-1), ts)).toBe(-1)
    expect(() => timestampToMillis(new Date(NaN), ts)).toThrow(/invalid Date/)
    expect(() => timestampToMillis(1_700_000_000_123, ts)).toThrow(/is not a Date/)
  })
})

describe('numbers, booleans, text, bytes', () => {
  it.each([
    ['int8', -128, 127],
    ['uint8', 0, 255],
    ['int16', -32768, 32767],
    ['int32', -2147483648, 2147483647],
  ] as const)('%s accepts %i … %i and nothing beyond', (kind, min, max) => {
    const c = col('N', { kind })
    expect(toSmallInt(min, c)).toBe(min)
    expect(toSmallInt(max, c)).toBe(max)
    expect(() => toSmallInt(min - 1, c)).toThrow(`outside the ${kind} range ${min} … ${max}`)
    expect(() => toSmallInt(max + 1, c)).toThrow(ValueConversionError)
    expect(() => toSmallInt(1.5, c)).toThrow(`is not an integer (${kind})`)
    expect(() => toSmallInt('1', c)).toThrow(ValueConversionError)
  })

  it('int64 takes bigints in range only', () => {
    const c = col('ID', { kind: 'int64' })
    expect(toInt64(-(2n ** 63n), c)).toBe(-(2n ** 63n))
    expect(toInt64(2n ** 63n - 1n, c)).toBe(2n ** 63n - 1n)
    expect(() => toInt64(2n ** 63n, c)).toThrow('outside the int64 range')
    expect(() => toInt64(5, c)).toThrow('column ID: number 5 is not a bigint (int64 values travel as bigint)')
  })

  it('double, boolean, string, guid, binary', () => {
    expect(toDouble(-0.1, col('F', { kind: 'double' }))).toBe(-0.1)
    expect(() => toDouble('1', col('F', { kind: 'double' }))).toThrow(ValueConversionError)
    expect(toBoolean(false, col('B', { kind: 'boolean' }))).toBe(false)
    expect(() => toBoolean('X', col('B', { kind: 'boolean' }))).toThrow('column B: "X" is not a boolean')
    expect(toText('0000012345', col('VBELN', { kind: 'string' }))).toBe('0000012345')
    expect(() => toText(12345, col('VBELN', { kind: 'string' }))).toThrow('column VBELN: number 12345 is not a string')
    const g = col('GUID', { kind: 'guid' })
    expect(toGuid('01234567-89ab-cdef-0123-456789abcdef', g)).toBe('01234567-89ab-cdef-0123-456789abcdef')
    expect(() => toGuid('01234567-89AB-CDEF-0123-456789ABCDEF', g)).toThrow('is not a lower-case GUID')
    expect(() => toGuid('0123456789abcdef0123456789abcdef', g)).toThrow(ValueConversionError)
    const bytes = new Uint8Array([0, 255])
    expect(toBinary(bytes, col('RAW', { kind: 'binary' }))).toBe(bytes)
    expect(() => toBinary('00ff', col('RAW', { kind: 'binary' }))).toThrow('column RAW: "00ff" is not a Uint8Array')
  })

  it('error messages shorten long values and locate rows', () => {
    const e = conversionError(() => toSmallInt('x'.repeat(100), col('N', { kind: 'int8' })))
    expect(e.message).toBe(`column N: "${'x'.repeat(60)}…" is not an integer (int8)`)
    const located = e.atRow(41)
    expect(located.row).toBe(41)
    expect(located.message).toMatch(/^column N, row 41: /)
    expect(located.code).toBe('VALUE_CONVERSION')
    expect(located.retryable).toBe(false)
  })
})
