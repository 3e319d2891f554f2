/**
 * OData v2 verbose-JSON values → the column model's JS values (fields.ts), one precompiled converter
 * per column so the hot loop does no type dispatch per value (docs/sap-protocols.md §A.5).
 *
 * Every converter is exact: decimals stay decimal text, Int64 becomes bigint, times are integer
 * microseconds computed from digit strings. A value that does not fit its column throws
 * ValueError (src/sap/values.ts); {@link convertRows} turns that into a SourceError naming column, row
 * and value.
 */
import { MICROS_PER_DAY, type Column, type ColumnType, type Row, type Value } from '../fields.js'
import { SourceError } from '../errors.js'
import { badValue, canonicalDecimal, decimalText, rowLabel, ValueError } from '../values.js'

export type Converter = (raw: unknown) => Value

const MS_PER_DAY = 86_400_000
/** ECMAScript Date range (±100,000,000 days). */
const MAX_DATE_MS = 8.64e15

// ---------------------------------------------------------------------------------------------
// Decimal
// ---------------------------------------------------------------------------------------------

function decimalConverter(precision: number, scale: number): Converter {
  const canonical = decimalText(precision, scale)
  return (raw) => {
    if (typeof raw === 'string') return canonical(raw)
    if (typeof raw === 'number' && Number.isFinite(raw)) return canonicalDecimal(String(raw), precision, scale)
    throw new ValueError('is not a decimal string')
  }
}

// ---------------------------------------------------------------------------------------------
// Integers, floats, booleans
// ---------------------------------------------------------------------------------------------

const INT_TEXT_RE = /^[+-]?\d{1,20}$/

function intConverter(min: number, max: number, label: string): Converter {
  return (raw) => {
    let n: number
    if (typeof raw === 'number') n = raw
    else if (typeof raw === 'string' && INT_TEXT_RE.test(raw)) n = Number(raw)
    else throw new ValueError(`is not an ${label}`)
    if (!Number.isInteger(n) || n < min || n > max) throw new ValueError(`is not an ${label} (${min}…${max})`)
    return n
  }
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

const int64Converter: Converter = (raw) => {
  let n: bigint
  if (typeof raw === 'string' && INT_TEXT_RE.test(raw)) n = BigInt(raw)
  else if (typeof raw === 'number' && Number.isSafeInteger(raw)) n = BigInt(raw)
  else throw new ValueError('is not an Int64 (expected a string of digits)')
  if (n < INT64_MIN || n > INT64_MAX) throw new ValueError('is out of the Int64 range')
  return n
}

const DOUBLE_TEXT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
const DOUBLE_SPECIAL: Record<string, number> = { INF: Infinity, '-INF': -Infinity, Infinity, '-Infinity': -Infinity, NaN }

const doubleConverter: Converter = (raw) => {
  if (typeof raw === 'number') return raw
  if (typeof raw === 'string') {
    if (DOUBLE_TEXT_RE.test(raw)) return Number(raw)
    const special = DOUBLE_SPECIAL[raw]
    if (special !== undefined) return special
  }
  throw new ValueError('is not a floating-point number')
}

const booleanConverter: Converter = (raw) => {
  if (raw === true || raw === false) return raw
  if (raw === 'true') return true
  if (raw === 'false') return false
  throw new ValueError('is not a boolean')
}

const stringConverter: Converter = (raw) => {
  if (typeof raw === 'string') return raw
  throw new ValueError('is not a string')
}

// ---------------------------------------------------------------------------------------------
// Dates, timestamps, times
// ---------------------------------------------------------------------------------------------

/** `/Date(ms)/`, `/Date(ms+0060)/`; the escaped `\/Date(…)\/` only survives JSON.parse when double-escaped. */
const JSON_DATE_RE = /^\\?\/Date\((-?\d{1,16})(?:([+-])(\d{1,4}))?\)\\?\/$/
/** ISO 8601 as some releases send for DateTimeOffset; a missing zone means UTC. */
const ISO_RE = /^(-?\d{4,6})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?(Z|[+-]\d{2}:?\d{2})?$/

/**
 * A JSON or ISO date as the UTC instant and the calendar day it names.
 *
 * `/Date(ticks±mmmm)/`: MS-ODATA §2.2.6.3.1 gives ticks as "milliseconds since midnight January 1,
 * 1970" and the offset as minutes "to add or subtract"; we read ticks as the UTC instant and the offset
 * as the zone it was recorded in (ASP.NET's `/Date(ms+hhmm)/`, ODataLib writing `UtcTicks`). datajs and
 * SAPUI5 instead subtract the offset from the ticks. SAP Gateway sends `+0000` for TIMESTAMP(L)
 * (always UTC), where both readings agree.
 * ISO 8601 text (some releases for DateTimeOffset): clock time minus its zone, no zone = UTC.
 */
function parseJsonDate(raw: string): { instantMs: number; dayMs: number } | undefined {
  const fast = fastJsonDate(raw)
  if (fast !== undefined) return { instantMs: fast, dayMs: fast }
  const m = JSON_DATE_RE.exec(raw)
  if (m !== null) {
    const ticks = Number(m[1])
    return { instantMs: ticks, dayMs: ticks }
  }
  const iso = ISO_RE.exec(raw)
  if (iso === null) return undefined
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = iso
  const month = Number(mo)
  const day = Number(d)
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 24 || Number(mi) > 59 || Number(s) > 60) return undefined
  const ms = Number((frac + '000').slice(0, 3)) // the column model keeps milliseconds
  // Not Date.UTC: it maps years 0–99 to 1900–1999.
  const clock = new Date(0)
  clock.setUTCFullYear(Number(y), month - 1, day)
  clock.setUTCHours(Number(h), Number(mi), Number(s), ms)
  const clockMs = clock.getTime()
  let offsetMin = 0
  if (zone !== undefined && zone !== 'Z') {
    const digits = zone.replace(':', '')
    offsetMin = (digits[0] === '-' ? -1 : 1) * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5)))
  }
  return { instantMs: clockMs - offsetMin * 60_000, dayMs: clockMs }
}

/** `/Date(<digits>)/` without offset or escapes, the form of nearly every value: no regex, no object. */
function fastJsonDate(raw: string): number | undefined {
  const n = raw.length
  if (
    n < 10 ||
    n > 25 ||
    raw.charCodeAt(0) !== 47 ||
    raw.charCodeAt(n - 1) !== 47 ||
    raw.charCodeAt(n - 2) !== 41 ||
    !raw.startsWith('/Date(')
  )
    return undefined
  let start = 6
  if (raw.charCodeAt(6) === 45) start = 7 // '-'
  for (let k = start; k < n - 2; k++) {
    const c = raw.charCodeAt(k)
    if (c < 48 || c > 57) return undefined
  }
  return start === n - 2 ? undefined : Number(raw.slice(6, n - 2))
}

const timestampConverter: Converter = (raw) => {
  if (typeof raw !== 'string') throw new ValueError('is not a /Date(…)/ string')
  const p = parseJsonDate(raw)
  if (p === undefined) throw new ValueError('is not a /Date(ms)/ or ISO date-time')
  const ms = p.instantMs
  if (!(Math.abs(ms) <= MAX_DATE_MS)) throw new ValueError('is outside the representable date range')
  return new Date(ms)
}

/**
 * A calendar date at 00:00 UTC. DATS arrive as UTC midnight; a time of day means the column is not
 * the date we think it is, so it is refused rather than truncated.
 */
const dateConverter: Converter = (raw) => {
  if (typeof raw !== 'string') throw new ValueError('is not a /Date(…)/ string')
  const fast = fastJsonDate(raw)
  if (fast !== undefined && fast % MS_PER_DAY === 0 && Math.abs(fast) <= MAX_DATE_MS) return new Date(fast)
  const p = parseJsonDate(raw)
  if (p === undefined) throw new ValueError('is not a /Date(ms)/ or ISO date')
  if (!(Math.abs(p.dayMs) <= MAX_DATE_MS)) throw new ValueError('is outside the representable date range')
  if (p.dayMs % MS_PER_DAY !== 0) throw new ValueError('has a time of day in a date column (sap:display-format="Date")')
  return new Date(p.dayMs)
}

/** xs:duration as SAP sends Edm.Time: `PT13H05M00S`, `PT24H00M00S`, `PT0.5S`, also `P0DT…`. */
const DURATION_RE = /^P(?:(\d+)D)?T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d*))?S)?$/

/**
 * Edm.Time → microseconds since midnight, 0 … 86_400_000_000 inclusive (`PT24H00M00S` is SAP's
 * `240000`). Fraction digits are taken as text; digits beyond microseconds are truncated because
 * the column model has no finer unit.
 */
export function parseEdmTime(text: string): number {
  const m = DURATION_RE.exec(text)
  if (m === null || (m[2] === undefined && m[3] === undefined && m[4] === undefined)) {
    throw new ValueError('is not an Edm.Time duration like PT13H05M00S')
  }
  const seconds = Number(m[1] ?? 0) * 86_400 + Number(m[2] ?? 0) * 3_600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0)
  const micros = seconds * 1_000_000 + (m[5] ? Number((m[5] + '00000').slice(0, 6)) : 0)
  if (!Number.isSafeInteger(micros) || micros > MICROS_PER_DAY) throw new ValueError('is not a time of day (over 24 hours)')
  return micros
}

const timeConverter: Converter = (raw) => {
  if (typeof raw !== 'string') throw new ValueError('is not an Edm.Time string')
  // Fast path for SAP's fixed `PThhHmmMssS` (TIMS): digit arithmetic without a regex.
  if (
    raw.length === 11 &&
    raw.charCodeAt(0) === 80 &&
    raw.charCodeAt(1) === 84 &&
    raw.charCodeAt(4) === 72 &&
    raw.charCodeAt(7) === 77 &&
    raw.charCodeAt(10) === 83
  ) {
    const h = twoDigits(raw, 2)
    const m = twoDigits(raw, 5)
    const sec = twoDigits(raw, 8)
    if (h >= 0 && m >= 0 && sec >= 0) {
      const micros = ((h * 60 + m) * 60 + sec) * 1_000_000
      if (micros <= MICROS_PER_DAY) return micros
    }
  }
  return parseEdmTime(raw)
}

function twoDigits(s: string, at: number): number {
  const a = s.charCodeAt(at) - 48
  const b = s.charCodeAt(at + 1) - 48
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1
}

// ---------------------------------------------------------------------------------------------
// Binary, Guid
// ---------------------------------------------------------------------------------------------

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/

const binaryConverter: Converter = (raw) => {
  if (typeof raw !== 'string' || !BASE64_RE.test(raw) || raw.length % 4 === 1) throw new ValueError('is not base64')
  // Copy out of Buffer's shared pool so the bytes own their ArrayBuffer.
  return new Uint8Array(Buffer.from(raw, 'base64'))
}

const GUID_RE = /^([0-9a-fA-F]{8})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{12})$/

const guidConverter: Converter = (raw) => {
  const m = typeof raw === 'string' ? GUID_RE.exec(raw) : null
  if (m === null) throw new ValueError('is not a GUID')
  return `${m[1]}-${m[2]}-${m[3]}-${m[4]}-${m[5]}`.toLowerCase()
}

// ---------------------------------------------------------------------------------------------
// Per-column plan and the page loop
// ---------------------------------------------------------------------------------------------

/** The converter for one column type. */
export function converterFor(type: ColumnType): Converter {
  switch (type.kind) {
    case 'string':
      return stringConverter
    case 'decimal':
      return decimalConverter(type.precision, type.scale)
    case 'int8':
      return intConverter(-128, 127, 'Edm.SByte')
    case 'uint8':
      return intConverter(0, 255, 'Edm.Byte')
    case 'int16':
      return intConverter(-32_768, 32_767, 'Edm.Int16')
    case 'int32':
      return intConverter(-2_147_483_648, 2_147_483_647, 'Edm.Int32')
    case 'int64':
      return int64Converter
    case 'double':
      return doubleConverter
    case 'boolean':
      return booleanConverter
    case 'date':
      return dateConverter
    case 'time':
      return timeConverter
    case 'timestamp':
      return timestampConverter
    case 'binary':
      return binaryConverter
    case 'guid':
      return guidConverter
  }
}

const NOT_AN_OBJECT = 'row is not an object'

/** Built once per read: property names and converters in column order. */
export interface RowPlan {
  names: string[]
  converters: Converter[]
  /** Indexes of key columns, to name the failing row in errors. */
  keyIndexes: number[]
}

export function buildRowPlan(columns: Column[]): RowPlan {
  return {
    names: columns.map((c) => c.name),
    converters: columns.map((c) => converterFor(c.type)),
    keyIndexes: columns.flatMap((c, i) => (c.key ? [i] : [])),
  }
}

/**
 * Converts one page of `d.results` into rows. `rowBase` is the number of rows before this page, so
 * errors can say "row 50,003". `__metadata` and properties outside the plan are never read.
 */
export function convertRows(results: unknown[], plan: RowPlan, rowBase = 0): Row[] {
  const { names, converters } = plan
  const width = names.length
  const out: Row[] = new Array(results.length)
  let j = 0
  let i = 0
  try {
    for (; j < results.length; j++) {
      const obj = results[j] as Record<string, unknown>
      if (obj === null || typeof obj !== 'object') throw new ValueError(NOT_AN_OBJECT)
      const row: Value[] = new Array(width)
      for (i = 0; i < width; i++) {
        const v = obj[names[i]]
        if (v === null) row[i] = null
        else if (v === undefined) throw new ValueError('is missing from the row')
        else row[i] = converters[i](v)
      }
      out[j] = row
    }
  } catch (e) {
    if (!(e instanceof ValueError)) throw e
    throw rowError({ obj: results[j], plan, row: rowBase + j + 1, col: i, reason: e.message })
  }
  return out
}

interface RowFailure {
  obj: unknown
  plan: RowPlan
  /** 1-based. */
  row: number
  col: number
  reason: string
}

function rowError({ obj, plan, row, col, reason }: RowFailure): SourceError {
  const o = (obj !== null && typeof obj === 'object' ? obj : {}) as Record<string, unknown>
  const name = plan.names[col]
  const key = plan.keyIndexes
    .filter((k) => k !== col)
    .map((k) => `${plan.names[k]}=${preview(o[plan.names[k]])}`)
    .join(', ')
  if (reason === NOT_AN_OBJECT) return new SourceError('SOURCE_PROTOCOL', `${rowLabel(row, key)} is not an object: ${preview(obj)}`)
  return badValue({ column: `column ${name}`, row, key, value: preview(o[name]), reason })
}

/** Short JSON rendering of a value for messages. */
function preview(v: unknown): string {
  if (v === undefined) return 'undefined'
  let s: string
  try {
    s = JSON.stringify(v) ?? String(v)
  } catch {
    s = String(v)
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s
}
