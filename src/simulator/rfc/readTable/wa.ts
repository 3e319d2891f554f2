/**
 * How RFC_READ_TABLE writes one field into its slice of DATA-WA: `MOVE <comp> TO <d>+offset(LENG)`
 * (sap-protocols.md C.2 step 5, C.3). The slice is DDIC LENG characters wide (digits for packed types),
 * so sign and decimal point of a packed number do not have their own room.
 */
import type { SapRow } from '../../types.js'
import type { DdicField } from '../ddic/ddic.js'
import { intType } from '../ddic/ddic.js'

/**
 * ABAP conversion of a packed number (or an integer) to a C field of `len` characters, per the ABAP
 * keyword documentation "Source Field Type p" → target c (7.00): right-aligned, '-' in the last position
 * for negatives and a blank for positives; if that does not fit, a positive number drops the blank
 * ("moved to the right"); if it still does not fit, or is negative, it is cut off on the left and '*' is
 * put in the first position. Observed: node-rfc #6 '*291847608.00' for CURR 13,2 while '4184374221.00'
 * (exactly 13 characters) fits; RSAP #19 '*.0' for a P(3) field; RSAP #14 trailing minus.
 */
export function packedToChar(canonical: string, len: number): string {
  const negative = canonical.startsWith('-')
  const abs = negative ? canonical.slice(1) : canonical
  const signed = abs + (negative ? '-' : ' ')
  if (signed.length <= len) return signed.padStart(len)
  if (!negative && abs.length <= len) return abs.padStart(len)
  const text = negative ? signed : abs
  return '*' + text.slice(text.length - (len - 1))
}

/** The LENG-character slice of one field: C left-aligned, N/D/T as stored, P/I via `packedToChar`. */
export function waValue(f: DdicField, value: SapRow[string]): string {
  switch (intType(f)) {
    case 'P':
    case 'I':
      return packedToChar(String(value), f.leng)
    default: {
      const s = String(value ?? '')
      return s.length >= f.leng ? s.slice(0, f.leng) : s.padEnd(f.leng)
    }
  }
}
