/** WHERE validation and OPTIONS lines of at most 72 characters (docs/sap-protocols.md §C.6). */
import { describe, expect, it } from 'vitest'
import { SourceError } from '../../../src/sap/errors.js'
import type { AbapKind } from '../../../src/sap/rfc/values.js'
import { and, checkWhereSyntax, literal, optionLines, or, parseWhere } from '../../../src/sap/rfc/where.js'

const FIELDS = new Map<string, AbapKind>([
  ['VBELN', 'numc'],
  ['POSNR', 'numc'],
  ['MATNR', 'char'],
  ['ARKTX', 'char'],
  ['ERDAT', 'date'],
  ['ERZET', 'time'],
  ['NETWR', 'packed'],
  ['/BIC/ZFIELD', 'char'],
])

function badRequest(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(SourceError)
    expect((e as SourceError).code).toBe('SOURCE_BAD_REQUEST')
    return (e as SourceError).message
  }
  throw new Error('expected SOURCE_BAD_REQUEST')
}

describe('parseWhere', () => {
  it('accepts open-SQL conditions and normalizes names and keywords', () => {
    expect(parseWhere("erdat >= '20240101' and (matnr like 'HT%' or netwr < -5.5)", FIELDS)).toEqual([
      'ERDAT',
      '>=',
      "'20240101'",
      'AND',
      '(',
      'MATNR',
      'LIKE',
      "'HT%'",
      'OR',
      'NETWR',
      '<',
      '-5.5',
      ')',
    ])
    expect(
      parseWhere("VBELN BETWEEN '0000000001' AND '0000000100' AND POSNR IN ('000010','000020') AND ARKTX IS NOT NULL", FIELDS),
    ).toHaveLength(18)
    expect(parseWhere("NOT MATNR = 'X' AND ERZET NE '240000' AND /BIC/ZFIELD <> 'A'", FIELDS)).toContain('/BIC/ZFIELD')
    expect(parseWhere("ARKTX = 'O''Brien'", FIELDS)).toEqual(['ARKTX', '=', "'O''Brien'"])
  })

  it('refuses what SAP would answer with OPTION_NOT_VALID, saying why', () => {
    expect(badRequest(() => parseWhere("KUNNR = '1'", FIELDS))).toMatch(/unknown field KUNNR/)
    expect(badRequest(() => parseWhere("MATNR = 'abc", FIELDS))).toMatch(/unterminated literal/)
    expect(badRequest(() => parseWhere("ERDAT <= '20240231'", FIELDS))).toMatch(/not a valid date/)
    expect(badRequest(() => parseWhere("ERZET = '250000'", FIELDS))).toMatch(/not a valid time/)
    expect(badRequest(() => parseWhere("MATNR = 'A' AND", FIELDS))).toMatch(/ends too early/)
    expect(badRequest(() => parseWhere("(MATNR = 'A'", FIELDS))).toMatch(/expected \)/)
    expect(badRequest(() => parseWhere("MATNR = 'A'; DELETE", FIELDS))).toMatch(/unexpected character/)
    expect(badRequest(() => parseWhere('MATNR IN ( SELECT MATNR FROM MARA )', FIELDS))).toMatch(/unknown field SELECT/)
    expect(badRequest(() => parseWhere('', FIELDS))).toMatch(/empty/)
  })
})

describe('checkWhereSyntax (no connection needed)', () => {
  it('accepts any field name, refuses broken syntax', () => {
    expect(() => checkWhereSyntax("ANY_FIELD = 'X' AND /NS/F2 BETWEEN 1 AND 2")).not.toThrow()
    expect(badRequest(() => checkWhereSyntax("A = 'X' OR"))).toMatch(/ends too early/)
    expect(badRequest(() => checkWhereSyntax("A = 'X"))).toMatch(/unterminated/)
  })
})

describe('optionLines', () => {
  it('packs tokens into lines of at most 72 characters, never splitting a token or literal', () => {
    const lit = literal('Größe XL – Mütze with a long text that has many words in it')
    const tokens = parseWhere(
      `MATNR = 'HT-1000' AND ARKTX = ${lit} AND ERDAT >= '20240101' AND ( VBELN > '0000000042' OR POSNR <= '000010' )`,
      FIELDS,
    )
    const lines = optionLines(tokens)
    expect(lines.length).toBeGreaterThan(1)
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(72)
    // concatenating the lines (ABAP does, with the blank that ends every CHAR 72 line) gives the clause back
    expect(lines.join(' ')).toBe(tokens.join(' '))
    expect(lines.some((l) => l.includes(lit))).toBe(true)
  })

  it('a literal longer than one line cannot be sent', () => {
    const tokens = ['ARKTX', '=', literal('x'.repeat(71))]
    expect(badRequest(() => optionLines(tokens))).toMatch(/73 characters long/)
    expect(optionLines(['ARKTX', '=', literal('x'.repeat(70))])).toEqual(['ARKTX =', `'${'x'.repeat(70)}'`])
  })

  it('and/or build parenthesized conditions', () => {
    expect(and(['A', '=', "'1'"], [], ['B', '>', '2'])).toEqual(['(', 'A', '=', "'1'", ')', 'AND', '(', 'B', '>', '2', ')'])
    expect(or(['A', '=', "'1'"])).toEqual(['A', '=', "'1'"])
    expect(optionLines([])).toEqual([])
  })
})
