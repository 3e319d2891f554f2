/** ABAP slot text → column values (docs/sap-protocols.md §C.3, §B.4), with fixtures written from the reference. */
import { describe, expect, it } from 'vitest'
import { columnOf, kindOf, signedNumberText, textConverter, type RfcField } from '../../../src/sap/rfc/values.js'
import { ValueError } from '../../../src/sap/values.js'

const field = (sourceType: string, length: number, decimals = 0, key = false): RfcField => ({
  name: 'F',
  kind: kindOf(sourceType),
  sourceType,
  length,
  decimals,
  key,
})
const conv = (sourceType: string, length: number, decimals = 0) => textConverter(field(sourceType, length, decimals))

describe('RFC value parsing (§C.3)', () => {
  it('packed numbers: right-aligned, trailing minus, canonical decimal text', () => {
    const curr = conv('CURR', 15, 2)
    expect(curr('         100.00')).toBe('100.00')
    expect(curr('        100.00-')).toBe('-100.00')
    expect(curr('          0.00 ')).toBe('0.00')
    expect(curr('          0.00-')).toBe('0.00') // no negative zero
    expect(curr('  1234567890123.45')).toBe('1234567890123.45')
    expect(conv('P', 5, 2)(' 99.99-')).toBe('-99.99')
    expect(conv('DEC', 15, 0)('20250131120000')).toBe('20250131120000')
    expect(conv('QUAN', 13, 3)('       .500')).toBe('0.500')
    expect(curr('               ')).toBeNull()
  })

  it('a * in a slot (value wider than its DDIC length) is an error, never a number', () => {
    const curr = conv('CURR', 11, 2)
    expect(() => curr('*291847608.00')).toThrow(ValueError)
    expect(() => curr('*291847608.00')).toThrow(/overflowed its output slot/)
    expect(() => curr('*291847608.00')).toThrow(/leave the field out with `fields`, or read the data over ODP/)
    expect(() => curr('*291847608.00')).not.toThrow(/wider function module/)
    expect(() => conv('P', 3, 1)('*.0')).toThrow(/overflowed/)
  })

  it('dates: YYYYMMDD at UTC midnight, 00000000 and blanks are null, impossible dates fail', () => {
    const d = conv('D', 8)
    expect(d('20240229')).toEqual(new Date('2024-02-29T00:00:00Z'))
    expect(d('00000000')).toBeNull()
    expect(d('        ')).toBeNull()
    expect(d('99991231')).toEqual(new Date('9999-12-31T00:00:00Z'))
    expect((d('00010101') as Date).getUTCFullYear()).toBe(1)
    expect(() => d('20240231')).toThrow(ValueError)
    expect(() => d('2024023X')).toThrow(ValueError)
    // ODP rows are external format: ISO and DD.MM.YYYY are accepted there
    expect(d('2024-02-29')).toEqual(new Date('2024-02-29T00:00:00Z'))
    expect(d('29.02.2024')).toEqual(new Date('2024-02-29T00:00:00Z'))
  })

  it('times: HHMMSS as microseconds, 240000 is the end of the day', () => {
    const t = conv('TIMS', 6)
    expect(t('000000')).toBe(0)
    expect(t('130500')).toBe((13 * 3600 + 5 * 60) * 1_000_000)
    expect(t('240000')).toBe(86_400_000_000)
    expect(t('13:05:00')).toBe((13 * 3600 + 5 * 60) * 1_000_000)
    expect(t('      ')).toBeNull()
    expect(() => t('240001')).toThrow(ValueError)
    expect(() => t('126000')).toThrow(ValueError)
  })

  it('NUMC keeps its leading zeros, CHAR loses only trailing blanks', () => {
    expect(conv('N', 10)('0000004711')).toBe('0000004711')
    expect(conv('NUMC', 6)('000010')).toBe('000010')
    expect(conv('C', 10)('  AB C    ')).toBe('  AB C')
    expect(conv('CHAR', 40)('Größe XL – Mütze                        ')).toBe('Größe XL – Mütze')
  })

  it('integers with trailing sign, INT8 as bigint, FLTP only with an exponent, RAW as bytes', () => {
    expect(conv('I', 10)('2147483647 ')).toBe(2147483647)
    expect(conv('INT4', 10)('2147483648-')).toBe(-2147483648)
    expect(() => conv('INT4', 10)('2147483648 ')).toThrow(ValueError)
    expect(conv('INT1', 3)('255')).toBe(255)
    expect(conv('INT8', 19)('9223372036854775807')).toBe(9223372036854775807n)
    expect(conv('INT8', 19)('9223372036854775808-')).toBe(-9223372036854775808n)
    expect(conv('FLTP', 22)('6.0000000000000000E+02')).toBe(600)
    expect(conv('F', 22)('1.5000000000000000E-01-')).toBe(-0.15)
    expect(() => conv('F', 16)('6.00000000000000')).toThrow(/truncated/)
    expect(conv('RAW', 4)('00FF10A0')).toEqual(new Uint8Array([0, 255, 16, 160]))
  })

  it('signedNumberText moves the trailing sign and keeps blanks out', () => {
    expect(signedNumberText('   1.24140-')).toBe('-1.24140')
    expect(signedNumberText('   12 ')).toBe('12')
    expect(signedNumberText('     ')).toBeUndefined()
  })

  it('column types keep DDIC precision and scale', () => {
    expect(columnOf(field('CURR', 15, 2, true))).toEqual({
      name: 'F',
      type: { kind: 'decimal', precision: 15, scale: 2 },
      nullable: false,
      key: true,
      sourceType: 'CURR(15,2)',
    })
    expect(columnOf(field('NUMC', 10)).type).toEqual({ kind: 'string', maxLength: 10 })
    expect(columnOf(field('DATS', 8)).type).toEqual({ kind: 'date' })
    expect(columnOf(field('TIMS', 6)).type).toEqual({ kind: 'time' })
    expect(columnOf(field('INT8', 19)).type).toEqual({ kind: 'int64' })
    expect(kindOf('g')).toBe('unsupported')
    expect(kindOf('STRG')).toBe('char')
  })
})
