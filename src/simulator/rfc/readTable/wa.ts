/**
 * How RFC_READ_TABLE writes one field into its slice of DATA-WA: `MOVE <comp> TO <d>+offset(LENG)`
 * (docs/sap-protocols.md C.2 step 5, C.3). The slice is DDIC LENG characters wide (digits for packed types),
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
function packedToChar(canonical: string, len: number): string {
  const negative = canonical.startsWith('-')
  const abs = negative ? canonical.slice(1) : canonical
  const signed = abs + (negative ? '-' : ' ')
  if (signed.length <= len) return signed.padStart(len)
  if (!negative && abs.length <= len) return abs.padStart(len)
  const text = negative ? signed : abs
  return '*' + text.slice(text.length - (len - 1))
}

/**
 * ABAP conversion of a float (type f) to a C field of `len` characters (keyword documentation "Source
 * Field Type f" → target c): scientific notation, one digit before the point, an exponent with its sign
 * and at least two digits, and the first position for the sign (blank when positive); the mantissa
 * keeps as many decimals as fit, rounded. FLTP's DDIC LENG is 16, so RFC_READ_TABLE carries 10
 * significant digits: ' 6.000000000E+02', '-1.234567890E-07' (C.3 "scientific notation that may not fit
 * the slot").
 */
function floatToChar(value: number, len: number): string {
  const sign = value < 0 || Object.is(value, -0) ? '-' : ' '
  // sign, digit, point and 'E±dd' take 7 places; a three-digit exponent costs one decimal
  for (let decimals = len - 7; decimals >= 0; decimals--) {
    const [mantissa, e] = Math.abs(value).toExponential(decimals).split('e')
    const exp = Number(e)
    const text = `${sign}${mantissa}E${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`
    if (text.length <= len) return text.padStart(len)
  }
  return '*'.padStart(len)
}

/**
 * ABAP conversion of a byte field (type x) to C: two hex digits per byte, cut off at the target's
 * length. The slot is DDIC LENG characters and LENG counts bytes, so only the first half of the bytes
 * arrives (observed: RAW 8 password hashes of USR02 come back as 8 hex digits, mydoghasworms/nwrfc #1;
 * RAW 16 GUIDs cut after 16 digits, PyRFC #208). `value` is base64 (SapRow convention).
 */
function rawToChar(value: string, len: number): string {
  return Buffer.from(value, 'base64').toString('hex').toUpperCase().slice(0, len).padEnd(len)
}

/** The LENG-character slice of one field: C left-aligned, N/D/T as stored, P/I via `packedToChar`, F and X converted. */
export function waValue(f: DdicField, value: SapRow[string]): string {
  switch (intType(f)) {
    case 'P':
    case 'I':
      return packedToChar(String(value), f.leng)
    case 'F':
      return floatToChar(Number(value), f.leng)
    case 'X':
      return rawToChar(String(value ?? ''), f.leng)
    default: {
      const s = String(value ?? '')
      return s.length >= f.leng ? s.slice(0, f.leng) : s.padEnd(f.leng)
    }
  }
}
