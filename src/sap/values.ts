/**
 * What the protocols share about SAP values: the one error for a value that does not fit its column,
 * and exact decimal text (docs/architecture.md#rule-4). OData values (docs/sap-protocols.md#a-5) are
 * converted in odata/values.ts, RFC field texts (docs/sap-protocols.md#b-4, #c-3) in rfc/values.ts.
 */
import { SourceError } from './errors.js'

/**
 * SAP sent a value we cannot convert exactly. A converter throws it with the reason only; the row
 * loop that caught it knows column, row and key and turns it into a SourceError with {@link badValue}.
 */
export class ValueError extends Error {}

export interface BadValue {
  /** The column as the protocol names it: `column NETWR`, `ODP column NETWR (CURR)`. */
  column: string
  /** 1-based, counted over the whole read. */
  row: number
  /** The row's key values, `VBELN=4711, POSNR=10`; empty when the column is the key. */
  key: string
  /** The value as received, rendered for a message. */
  value: string
  reason: string
}

/** `row 12 (VBELN=4711)`: where a failing value sits, for messages. */
export function rowLabel(row: number, key: string): string {
  return `row ${row}${key ? ` (${key})` : ''}`
}

/**
 * The run error for a value SAP sent that does not fit: SOURCE_PROTOCOL, not the transform's
 * DATA_CONVERSION, because it is SAP's answer that breaks the type SAP itself declared.
 */
export function badValue(b: BadValue): SourceError {
  return new SourceError('SOURCE_PROTOCOL', `${b.column}, ${rowLabel(b.row, b.key)}: value ${b.value} ${b.reason}`)
}

const DECIMAL_RE = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?$/

/**
 * Canonical text of a DECIMAL(precision, scale) value: optional `-`, no leading zeros, exactly
 * `scale` fraction digits, no negative zero (`-0.00` → `0.00`). Digits beyond the scale are accepted
 * only when they are zeros: anything else would be rounding, which we never do silently.
 */
export function canonicalDecimal(text: string, precision: number, scale: number): string {
  const m = DECIMAL_RE.exec(text)
  if (m === null || (m[2] === '' && !m[3])) throw new ValueError('is not a decimal number')
  let [int, frac] = shiftExponent(m[2], m[3] ?? '', m[4])
  int = int.replace(/^0+/, '')
  if (frac.length > scale) {
    if (/[^0]/.test(frac.slice(scale))) throw new ValueError(`has more than ${scale} decimal places (Decimal(${precision},${scale}))`)
    frac = frac.slice(0, scale)
  } else if (frac.length < scale) {
    frac = frac.padEnd(scale, '0')
  }
  if (int.length > precision - scale) throw new ValueError(`does not fit Decimal(${precision},${scale})`)
  const negative = m[1] === '-' && (int !== '' || /[1-9]/.test(frac))
  return (negative ? '-' : '') + (int === '' ? '0' : int) + (scale > 0 ? '.' + frac : '')
}

/** Integer and fraction digits with the exponent applied (forms like 1e+21 a JS number prints). */
function shiftExponent(int: string, frac: string, exponent: string | undefined): [string, string] {
  if (exponent === undefined) return [int, frac]
  const digits = int + frac
  const point = int.length + Number(exponent)
  if (point <= 0) return ['', '0'.repeat(-point) + digits]
  if (point >= digits.length) return [digits + '0'.repeat(point - digits.length), '']
  return [digits.slice(0, point), digits.slice(point)]
}

/**
 * The canonical text of DECIMAL(precision, scale) values. What SAP sends nearly always is canonical
 * already ("1234.50", "-3.000", "0"), so one regular expression decides before the general parser.
 */
export function decimalText(precision: number, scale: number): (text: string) => string {
  const intDigits = precision - scale
  const intPart = intDigits > 0 ? `(?:0|[1-9]\\d{0,${intDigits - 1}})` : '0'
  const fast = new RegExp(`^-?${intPart}${scale > 0 ? `\\.\\d{${scale}}` : ''}$`)
  const negZero = /^-0(?:\.0*)?$/
  return (text) => (fast.test(text) && !negZero.test(text) ? text : canonicalDecimal(text, precision, scale))
}
