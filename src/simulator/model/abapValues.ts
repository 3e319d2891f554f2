/**
 * Conversions between ABAP notation (how `SapRow` holds values) and numbers. Shared by the data
 * generators, the JSON serialiser and the `$filter` evaluator so the three cannot drift apart.
 */
import { pad } from './prng.js'

const DAY_MS = 86_400_000

/** Decimal text with exactly `scale` fraction digits from an integer count of 10^-scale units. */
export function formatScaled(units: bigint | number, scale: number): string {
  const big = typeof units === 'bigint' ? units : BigInt(units)
  const neg = big < 0n
  const digits = (neg ? -big : big).toString()
  if (scale === 0) return (neg ? '-' : '') + digits
  const padded = digits.padStart(scale + 1, '0')
  return (neg ? '-' : '') + padded.slice(0, -scale) + '.' + padded.slice(-scale)
}

/** Decimal text → integer count of 10^-scale units (exact); throws on text that is no decimal. */
function parseScaled(text: string, scale: number): bigint {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text.trim())
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new Error(`not a decimal: ${text}`)
  const frac = (m[3] ?? '').padEnd(scale, '0')
  if (frac.length > scale && /[1-9]/.test(frac.slice(scale))) {
    // more fraction digits than the scale: compare at the finer scale instead of rounding
    throw new RangeError('scale')
  }
  const units = BigInt((m[2] || '0') + frac.slice(0, scale))
  return m[1] === '-' ? -units : units
}

/** Number of fraction digits in a decimal text. */
function fractionDigits(text: string): number {
  const dot = text.indexOf('.')
  return dot < 0 ? 0 : text.length - dot - 1
}

/** Compare two decimal texts exactly. */
export function compareDecimal(a: string, b: string): number {
  const scale = Math.max(fractionDigits(a), fractionDigits(b))
  const x = parseScaled(a, scale)
  const y = parseScaled(b, scale)
  return x < y ? -1 : x > y ? 1 : 0
}

/** Date.UTC that also works for years 0..99 (Date.UTC maps them to 1900..1999). */
function utc(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number {
  const date = new Date(0)
  date.setUTCFullYear(y, mo, d)
  date.setUTCHours(h, mi, s, 0)
  return date.getTime()
}

/** 'YYYYMMDD' of a UTC day number (days since 1970-01-01). */
export function datsFromDay(day: number): string {
  const d = new Date(day * DAY_MS)
  return pad(d.getUTCFullYear(), 4) + pad(d.getUTCMonth() + 1, 2) + pad(d.getUTCDate(), 2)
}

/** ms since epoch (UTC midnight) of a DATS value; null for the initial date '00000000'. */
export function datsToMs(dats: string): number | null {
  if (dats === '00000000' || dats === '') return null
  return utc(+dats.slice(0, 4), +dats.slice(4, 6) - 1, +dats.slice(6, 8))
}

/** 'YYYYMMDDhhmmss' of a UTC instant in ms (the ms fraction is dropped). */
export function timestampFromMs(ms: number): string {
  const d = new Date(ms)
  return (
    pad(d.getUTCFullYear(), 4) +
    pad(d.getUTCMonth() + 1, 2) +
    pad(d.getUTCDate(), 2) +
    pad(d.getUTCHours(), 2) +
    pad(d.getUTCMinutes(), 2) +
    pad(d.getUTCSeconds(), 2)
  )
}

/** ms since epoch of a 'YYYYMMDDhhmmss' UTC timestamp; null for the initial value. */
export function timestampToMs(ts: string): number | null {
  if (/^0+$/.test(ts)) return null
  return utc(+ts.slice(0, 4), +ts.slice(4, 6) - 1, +ts.slice(6, 8), +ts.slice(8, 10), +ts.slice(10, 12), +ts.slice(12, 14))
}

/** 'HHMMSS' or 'HHMMSS.fff' → xs:duration as SAP sends it: 'PT13H05M00S', 'PT13H05M00.120S', 'PT24H00M00S'. */
export function timsToDuration(tims: string): string {
  const frac = tims.length > 6 ? tims.slice(7) : ''
  const secs = tims.slice(4, 6) + (frac !== '' && /[1-9]/.test(frac) ? '.' + frac : '')
  return 'PT' + tims.slice(0, 2) + 'H' + tims.slice(2, 4) + 'M' + secs + 'S'
}

/** Milliseconds since midnight of a TIMS value ('240000' → 86 400 000). */
export function timsToMs(tims: string): number {
  const frac = tims.length > 6 ? Number('0.' + tims.slice(7)) : 0
  return (+tims.slice(0, 2) * 3600 + +tims.slice(2, 4) * 60 + +tims.slice(4, 6)) * 1000 + Math.round(frac * 1000)
}
