/**
 * Value conversion: column-model values (see src/sap/fields.ts) → the physical values the Parquet
 * encoder writes. Every rule is exact: nothing is rounded, truncated or reinterpreted; a value that cannot be
 * written exactly raises a ValueConversionError that names the column, the value and the reason.
 *
 * | kind        | physical value handed to the writer                                   |
 * |-------------|------------------------------------------------------------------------|
 * | decimal     | the unscaled integer at the column's scale (`-1234.5` @2 → -123450):    |
 * |             | a number up to 15 digits (exact in a double), a bigint beyond           |
 * | date        | number, days since 1970-01-01                                          |
 * | time        | number, microseconds since 00:00 (86_400_000_000 = 24:00:00 allowed)   |
 * | timestamp   | number, milliseconds since the epoch (UTC)                             |
 * | int8…int32  | number, range-checked for the kind                                     |
 * | int64       | bigint, range-checked                                                  |
 * | double      | number                                                                 |
 * | boolean     | boolean                                                                |
 * | string/guid | string (UTF-8 encoded by the writer)                                   |
 * | binary      | Uint8Array                                                             |
 */
import { MICROS_PER_DAY, type Column, type Value } from '../sap/fields.js'

/** A value that cannot be written to its column exactly. Not retryable: the same data fails again. */
export class ValueConversionError extends Error {
  override readonly name = 'ValueConversionError'
  readonly code = 'VALUE_CONVERSION' as const
  readonly retryable = false

  constructor(
    readonly column: string,
    readonly value: unknown,
    readonly reason: string,
    /** 0-based index of the row in everything written to this roller, when known. */
    readonly row?: number,
  ) {
    super(`column ${column}${row === undefined ? '' : `, row ${row}`}: ${showValue(value)} ${reason}`)
  }

  /** The same error, located at a row. */
  atRow(row: number): ValueConversionError {
    return new ValueConversionError(this.column, this.value, this.reason, row)
  }
}

function showValue(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'a missing value'
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? value.slice(0, 60) + '…' : value)
  if (typeof value === 'bigint') return `${value}n`
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : `Date ${value.toISOString()}`
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`
  if (typeof value === 'object') return Object.prototype.toString.call(value)
  return `${typeof value} ${String(value)}`
}

function fail(column: Column, value: unknown, reason: string): never {
  throw new ValueConversionError(column.name, value, reason)
}

/** A null in a column whose metadata says it is never null. */
export function nullNotAllowed(column: Column): ValueConversionError {
  return new ValueConversionError(column.name, null, 'is null, but the column is not nullable')
}

// ---------------------------------------------------------------------------------------------------
// decimal

/** Largest digit count whose integers a double holds exactly (10^15 < 2^53). */
const SAFE_DIGITS = 15
const POW10: number[] = Array.from({ length: SAFE_DIGITS + 1 }, (_, i) => 10 ** i)

/**
 * Canonical decimal text → unscaled integer at `scale`, exactly: `"-1234.5"` at DECIMAL(15,2) → -123450n.
 * Accepts an optional sign, digits, and an optional fraction (`12`, `-0.5`, `.5`, `12.`); no exponent, no
 * spaces, no thousands separators. Missing fraction digits are padded. Fraction digits beyond the
 * scale are accepted only when they are zeros (`1.500` at scale 2 is exactly 150); anything else is an
 * error, never rounded. More significant digits than the precision allows is an error.
 */
export function decimalToUnscaled(value: Value, column: Column): bigint {
  const u = parseDecimal(value, column)
  return typeof u === 'bigint' ? u : BigInt(u)
}

/**
 * Like decimalToUnscaled but returns a number when the unscaled value has at most 15 digits (always
 * exact in a double); otherwise a bigint. Used on the hot path to avoid BigInt parsing.
 */
export function parseDecimal(value: Value, column: Column): number | bigint {
  if (typeof value !== 'string') {
    return fail(column, value, 'is not a decimal string (decimals travel as canonical text, never as floats)')
  }
  const type = column.type
  if (type.kind !== 'decimal') return fail(column, value, `is not a decimal column (${type.kind})`)
  const { precision, scale } = type
  const n = value.length
  let i = 0
  let negative = false
  let c = value.charCodeAt(0)
  if (c === 45 /* - */) {
    negative = true
    i = 1
  } else if (c === 43 /* + */) {
    i = 1
  }
  // One pass: `u` accumulates the significant digits while they stay exact in a double.
  let u = 0
  /** Integer digits after leading zeros. */
  let sig = 0
  let sigStart = -1
  const digitsStart = i
  for (; i < n; i++) {
    c = value.charCodeAt(i) - 48
    if (c < 0 || c > 9) break
    if (sig > 0 || c !== 0) {
      if (sig === 0) sigStart = i
      sig++
      u = u * 10 + c
    }
  }
  const intEnd = i
  /** Fraction digits up to the last non-zero one. */
  let frac = 0
  let zeros = 0
  let fracStart = i
  if (i < n && c === 46 - 48 /* . */) {
    fracStart = ++i
    for (; i < n; i++) {
      c = value.charCodeAt(i) - 48
      if (c < 0 || c > 9) break
      if (c === 0) {
        zeros++
      } else {
        frac += zeros + 1
        if (sig + frac <= SAFE_DIGITS) u = u * POW10[zeros + 1] + c
        zeros = 0
      }
    }
  }
  if (i !== n || (intEnd === digitsStart && i === fracStart)) {
    return fail(column, value, `is not a canonical decimal number for DECIMAL(${precision},${scale})`)
  }
  if (frac > scale) {
    return fail(column, value, `has ${frac} fraction digits, DECIMAL(${precision},${scale}) allows ${scale} (values are never rounded)`)
  }
  if (sig + scale > precision) {
    return fail(column, value, `has ${sig} integer digits, DECIMAL(${precision},${scale}) allows ${precision - scale}`)
  }
  if (sig + scale <= SAFE_DIGITS) {
    u *= POW10[scale - frac]
    return negative && u !== 0 ? -u : u
  }
  const intText = sig > 0 ? value.slice(sigStart, intEnd) : ''
  const big = BigInt(intText + value.slice(fracStart, fracStart + frac) + '0'.repeat(scale - frac) || '0')
  return negative ? -big : big
}

/** Unscaled integer → canonical decimal text (inverse of decimalToUnscaled; for tests and manifests). */
export function unscaledToDecimal(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n
  let digits = (negative ? -unscaled : unscaled).toString()
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0')
    digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`
  }
  return negative ? `-${digits}` : digits
}

// ---------------------------------------------------------------------------------------------------
// date, time, timestamp

const MILLIS_PER_DAY = 86_400_000

/** Date at 00:00 UTC → days since 1970-01-01 (Parquet DATE). A time-of-day part is an error. */
export function dateToDays(value: Value, column: Column): number {
  if (!(value instanceof Date)) return fail(column, value, 'is not a Date')
  const ms = value.getTime()
  if (Number.isNaN(ms)) return fail(column, value, 'is an invalid Date')
  const days = ms / MILLIS_PER_DAY
  if (!Number.isInteger(days)) {
    return fail(column, value, 'is not a calendar date at 00:00 UTC (a date column never carries a time)')
  }
  return days
}

/**
 * Microseconds since 00:00 → Parquet TIME(MICROS) value. 0 … 86_400_000_000 inclusive: SAP `240000` is a
 * valid time and is written as 24:00:00 (DuckDB reads it back as `24:00:00`).
 */
export function timeToMicros(value: Value, column: Column): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    return fail(column, value, 'is not an integer number of microseconds since 00:00')
  }
  if (value < 0 || value > MICROS_PER_DAY) {
    return fail(column, value, `is outside 0 … ${MICROS_PER_DAY} microseconds (00:00:00 … 24:00:00)`)
  }
  return value
}

/** Date (UTC instant) → milliseconds since the epoch (Parquet TIMESTAMP(MILLIS, UTC)). */
export function timestampToMillis(value: Value, column: Column): number {
  if (!(value instanceof Date)) return fail(column, value, 'is not a Date')
  const ms = value.getTime()
  if (Number.isNaN(ms)) return fail(column, value, 'is an invalid Date')
  return ms
}

/**
 * Date (UTC instant) → microseconds since the epoch (Parquet TIMESTAMP(MICROS, UTC), Iceberg's
 * timestamptz). A bigint: SAP's 9999-12-31 is 2.5e17 µs, beyond a double's exact integers.
 */
export function timestampToMicros(value: Value, column: Column): bigint {
  return BigInt(timestampToMillis(value, column)) * 1000n
}

// ---------------------------------------------------------------------------------------------------
// numbers, booleans, strings, bytes

const INT_RANGES = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32_768, 32_767],
  int32: [-2_147_483_648, 2_147_483_647],
} as const

export type SmallIntKind = keyof typeof INT_RANGES

/** int8/uint8/int16/int32 → number (Parquet INT32 with the matching INTEGER logical type). */
export function toSmallInt(value: Value, column: Column): number {
  const kind = column.type.kind as SmallIntKind
  const range = INT_RANGES[kind]
  if (typeof value !== 'number' || !Number.isInteger(value)) return fail(column, value, `is not an integer (${kind})`)
  if (value < range[0] || value > range[1]) return fail(column, value, `is outside the ${kind} range ${range[0]} … ${range[1]}`)
  return value
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/** int64 bigint → bigint (Parquet INT64). */
export function toInt64(value: Value, column: Column): bigint {
  if (typeof value !== 'bigint') return fail(column, value, 'is not a bigint (int64 values travel as bigint)')
  if (value < INT64_MIN || value > INT64_MAX) return fail(column, value, 'is outside the int64 range')
  return value
}

export function toDouble(value: Value, column: Column): number {
  if (typeof value !== 'number') return fail(column, value, 'is not a number (double)')
  return value
}

export function toBoolean(value: Value, column: Column): boolean {
  if (typeof value !== 'boolean') return fail(column, value, 'is not a boolean')
  return value
}

export function toText(value: Value, column: Column): string {
  if (typeof value !== 'string') return fail(column, value, 'is not a string')
  return value
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export function toGuid(value: Value, column: Column): string {
  if (typeof value !== 'string' || !GUID.test(value)) {
    return fail(column, value, 'is not a lower-case GUID (8-4-4-4-12 hex digits)')
  }
  return value
}

export function toBinary(value: Value, column: Column): Uint8Array {
  if (!(value instanceof Uint8Array)) return fail(column, value, 'is not a Uint8Array')
  return value
}
