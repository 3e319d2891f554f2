import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { SourceError } from '../../../src/sap/errors.js'
import { validateFilter } from '../../../src/sap/odata/filter.js'
import { ServiceMetadata } from '../../../src/sap/odata/metadata.js'

const md = new ServiceMetadata(readFileSync(new URL('./fixtures/metadata-sales.xml', import.meta.url), 'utf8'))
const info = md.info('EntityOfZSALES')!
const types = md.info('FactsOfZTYPES')!

function errorOf(filter: string, i = info): SourceError {
  try {
    validateFilter(filter, i)
  } catch (e) {
    expect(e).toBeInstanceOf(SourceError)
    expect((e as SourceError).code).toBe('SOURCE_BAD_REQUEST')
    return e as SourceError
  }
  throw new Error(`filter ${JSON.stringify(filter)} was accepted`)
}

describe('validateFilter accepts', () => {
  it.each([
    "VBELN eq '0000004711'",
    "VBELN eq '0000004711' and POSNR eq '000010'",
    "(VBELN ge '0000000001' and VBELN le '0000009999') or WAERK eq 'EUR'",
    "not (WAERK eq 'EUR')",
    "WAERK ne 'O''Brien'",
    "ERDAT ge datetime'2025-01-01T00:00:00' and ERDAT lt datetime'2026-01-01T00:00:00'",
    "AEDAT gt datetimeoffset'2025-01-01T00:00:00Z'",
    "ERZET lt time'PT12H00M00S'",
    "substringof('Grüße', ARKTX)",
    "startswith(VBELN, '00000047') eq true",
    'ERDAT eq null',
    "tolower(WAERK) eq 'eur'",
  ])('%s', (f) => {
    expect(() => validateFilter(f, info)).not.toThrow()
  })
  it('numbers on numeric fields, guid and boolean literals', () => {
    expect(() => validateFilter('F_INT32 gt -5 and F_INT64 lt 10L and F_DOUBLE ge 1.5e3', types)).not.toThrow()
    expect(() => validateFilter("F_GUID eq guid'0050568d-393c-1ed4-9d97-e65f0f3fcc23' and F_BOOL eq false", types)).not.toThrow()
    expect(() => validateFilter('F_BOOL', types)).not.toThrow()
    expect(() => validateFilter('F_INT32 add 1 gt 5', types)).not.toThrow()
  })
})

describe('validateFilter explains what is wrong', () => {
  it('a non-filterable measure', () => {
    expect(errorOf('NETWR gt 100').message).toBe(
      '$filter: field NETWR cannot be filtered in EntityOfZSALES (sap:filterable="false"); filterable fields: VBELN, POSNR, ARKTX, WAERK, VRKME, ERDAT, ERZET, AEDAT (at column 1: ⟶NETWR gt 100)',
    )
    expect(errorOf("ODQ_CHANGEMODE eq 'D'").message).toContain('field ODQ_CHANGEMODE cannot be filtered')
  })
  it('an unknown field, with a case hint', () => {
    expect(errorOf("MATNR eq 'X'").message).toMatch(/^\$filter: unknown field 'MATNR'; filterable fields of EntityOfZSALES: VBELN, POSNR/)
    expect(errorOf("vbeln eq 'X'").message).toContain("did you mean 'VBELN'? field names are case-sensitive")
  })
  it('C-style and SQL-style operators', () => {
    expect(errorOf("VBELN = '1'").message).toContain("use 'eq' instead of '='")
    expect(errorOf("VBELN == '1'").message).toContain("use 'eq' instead of '='")
    expect(errorOf("VBELN != '1'").message).toContain("use 'ne'")
    expect(errorOf("VBELN eq '1' && POSNR eq '2'").message).toContain("use 'and'")
    expect(errorOf("VBELN eq '1' AND POSNR eq '2'").message).toContain("write operators in lower case: 'and' instead of 'AND'")
    expect(errorOf("VBELN > '1'").message).toContain("use 'gt'")
  })
  it('quoting mistakes', () => {
    expect(errorOf('VBELN eq "4711"').message).toContain('text values take single quotes')
    expect(errorOf("VBELN eq '4711").message).toMatch(/unterminated text value.*at column 10/)
    expect(errorOf('VBELN eq 4711').message).toContain("VBELN is text (Edm.String); quote the value, e.g. VBELN eq '0000004711'")
  })
  it('literal kinds that do not match the field', () => {
    expect(errorOf("ERDAT eq '20250101'").message).toContain(
      "ERDAT is a date (Edm.DateTime); compare it with datetime'2025-09-14T00:00:00'",
    )
    expect(errorOf("ERZET eq '130500'").message).toContain("time'PT13H05M00S'")
    expect(errorOf("F_INT32 eq '5'", types).message).toContain('F_INT32 is numeric (Edm.Int32); write the number without quotes')
  })
  it('broken structure', () => {
    expect(errorOf("(VBELN eq '1'").message).toContain("missing ')' for the '(' at column 1")
    expect(errorOf("VBELN eq '1')").message).toContain('a closing parenthesis without an opening one')
    expect(errorOf('VBELN eq').message).toContain('the filter ends too early')
    expect(errorOf('VBELN').message).toContain("the filter must be a condition such as FIELD eq 'value', but is the field VBELN alone")
    expect(errorOf("VBELN eq '1' POSNR eq '2'").message).toContain("missing 'and' / 'or' before it?")
    expect(errorOf("VBELN eq '1' and").message).toContain('ends too early')
    expect(errorOf("VBELN eq '1' and 'x'").message).toContain("the right side of 'and' must be a condition")
    expect(errorOf('   ').message).toContain('the filter is empty')
    expect(errorOf("contains(VBELN, '1')").message).toContain("unknown function 'contains'")
    expect(errorOf("VBELN eq '1' ; drop").message).toContain('unexpected character ";"')
  })
  it('points at the position with a snippet', () => {
    expect(errorOf("VBELN eq '0000004711' and NETWR gt 5").message).toMatch(/at column 27: …eq '0000004711' and ⟶NETWR gt 5\)$/)
  })
})
