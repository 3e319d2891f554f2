/**
 * ABAP field text → the column model's JS values (fields.ts), for the fixed-width slots of
 * RFC_READ_TABLE's `WA` (docs/sap-protocols.md §C.3) and the raw rows of RODPS_REPL_ODP_FETCH (§B.4).
 * Both put each field into a slot of blanks: numbers right-aligned with a *trailing* minus, texts
 * left-aligned, dates `YYYYMMDD`, times `HHMMSS`. One converter per column is built up front so the
 * row loop does no type dispatch.
 *
 * Every converter is exact or throws ValueError (src/sap/values.ts): a `*` (the value did not fit its slot) or a
 * truncated float is an error, never a wrong number.
 */
import { MICROS_PER_DAY, type Column, type ColumnType, type Value } from '../fields.js'
import { decimalText, ValueError } from '../values.js'

/** What a field is, in terms of how its text must be read. */
export type AbapKind = 'char' | 'numc' | 'date' | 'time' | 'packed' | 'int1' | 'int2' | 'int4' | 'int8' | 'float' | 'raw' | 'unsupported'

/** One field as both RFC protocols describe it, reduced to what decoding and the column need. */
export interface RfcField {
  name: string
  kind: AbapKind
  /** DDIC type (CHAR, CURR, …) or the ABAP internal type (C, P, …) the server named. */
  sourceType: string
  /** DDIC length: characters for texts, digits for packed numbers (the decimal precision). */
  length: number
  decimals: number
  key: boolean
  label?: string
}

/** DDIC data types (ODP `ET_FIELDS-TYPE`, DD03L/DFIES `DATATYPE`) → kind. */
const DDIC_KINDS: Record<string, AbapKind> = {
  CHAR: 'char',
  CLNT: 'char',
  CUKY: 'char',
  UNIT: 'char',
  LANG: 'char',
  LCHR: 'char',
  SSTR: 'char',
  STRG: 'char',
  ACCP: 'char',
  DATN: 'date',
  TIMN: 'time',
  VARC: 'char',
  SHLP: 'char',
  PREC: 'int2',
  NUMC: 'numc',
  DATS: 'date',
  TIMS: 'time',
  DEC: 'packed',
  CURR: 'packed',
  QUAN: 'packed',
  INT1: 'int1',
  INT2: 'int2',
  INT4: 'int4',
  INT8: 'int8',
  FLTP: 'float',
  RAW: 'raw',
  LRAW: 'raw',
}

/** ABAP internal types (RFC_READ_TABLE `FIELDS-TYPE`, §C.1) → kind. `g`/`y` (strings) dump the module (§C.3). */
const INTERNAL_KINDS: Record<string, AbapKind> = {
  C: 'char',
  N: 'numc',
  D: 'date',
  T: 'time',
  P: 'packed',
  I: 'int4',
  s: 'int2',
  b: 'int1',
  '8': 'int8',
  F: 'float',
  X: 'raw',
  g: 'unsupported',
  y: 'unsupported',
  h: 'unsupported',
  r: 'unsupported',
  u: 'unsupported',
  v: 'unsupported',
}

/** Kind for a type name as the server reported it; DDIC names win over one-letter internal types. */
export function kindOf(type: string): AbapKind {
  const t = type.trim()
  return DDIC_KINDS[t.toUpperCase()] ?? INTERNAL_KINDS[t] ?? (t.length === 1 ? INTERNAL_KINDS[t.toUpperCase()] : undefined) ?? 'unsupported'
}

/**
 * Kind of an RFC_READ_TABLE field. The internal type the module reported decides for strings (DDIC
 * STRG/SSTR are internal type g, which make the module dump, §C.3); otherwise the DDIC type, which says
 * more (CURR vs DEC).
 */
export function readTableKind(datatype: string | undefined, internal: string): AbapKind {
  if (/^[gyhruv]$/.test(internal.trim())) return 'unsupported'
  return kindOf(datatype || internal)
}

/** The column a field becomes. Packed numbers keep their DDIC precision and scale (never a float). */
export function columnOf(f: RfcField): Column {
  return {
    name: f.name,
    type: columnType(f),
    nullable: !f.key,
    key: f.key,
    ...(f.label ? { label: f.label } : {}),
    sourceType: `${f.sourceType}(${f.length}${f.kind === 'packed' ? `,${f.decimals}` : ''})`,
  }
}

function columnType(f: RfcField): ColumnType {
  switch (f.kind) {
    case 'char':
    case 'numc':
      return { kind: 'string', maxLength: f.length }
    case 'date':
      return { kind: 'date' }
    case 'time':
      return { kind: 'time' }
    case 'packed':
      return { kind: 'decimal', precision: Math.max(f.length, f.decimals, 1), scale: f.decimals }
    case 'int1':
      return { kind: 'uint8' }
    case 'int2':
      return { kind: 'int16' }
    case 'int4':
      return { kind: 'int32' }
    case 'int8':
      return { kind: 'int64' }
    case 'float':
      return { kind: 'double' }
    case 'raw':
      return { kind: 'binary', maxLength: f.length }
    case 'unsupported':
      return { kind: 'string' }
  }
}

export type TextConverter = (text: string) => Value

/** `text` is the field's slot as sliced from the row, blanks included. */
export function textConverter(f: RfcField): TextConverter {
  switch (f.kind) {
    case 'char':
    case 'numc':
    case 'unsupported':
      // Texts are left-aligned and blank-padded; NUMC keeps its leading zeros (no ALPHA exit over RFC, §C.3).
      return trimEnd
    case 'date':
      return parseDats
    case 'time':
      return parseTims
    case 'packed':
      return packedConverter(Math.max(f.length, f.decimals, 1), f.decimals)
    case 'int1':
      return intConverter(0, 255)
    case 'int2':
      return intConverter(-32_768, 32_767)
    case 'int4':
      return intConverter(-2_147_483_648, 2_147_483_647)
    case 'int8':
      return parseInt8
    case 'float':
      return parseFltp
    case 'raw':
      return parseRaw
  }
}

/** Converts the field at `start` (`width` characters) of a row text, without cutting out the slot first. */
export type SlotConverter = (row: string, start: number, width: number) => Value

export function slotConverter(f: RfcField): SlotConverter {
  if (f.kind === 'char' || f.kind === 'numc' || f.kind === 'unsupported') {
    // The hot case: one slice of the trimmed text instead of slot + trimmed copy.
    return (row, start, width) => {
      let end = start + width
      while (end > start && row.charCodeAt(end - 1) === 32) end--
      return row.slice(start, end)
    }
  }
  const convert = textConverter(f)
  return (row, start, width) => convert(row.substr(start, width))
}

function trimEnd(text: string): string {
  let end = text.length
  while (end > 0 && text.charCodeAt(end - 1) === 32) end--
  return end === text.length ? text : text.slice(0, end)
}

/**
 * The number inside a slot: blanks trimmed, a trailing minus moved to the front (`   100.00-`,
 * §C.3/§B.4). A `*` means ABAP truncated a value that did not fit the slot (§C.3, node-rfc #6).
 * Returns undefined for an all-blank slot.
 */
export function signedNumberText(text: string): string | undefined {
  const t = text.trim()
  if (t === '') return undefined
  if (t.includes('*')) {
    // §C.5's wider modules (/BODS/RFC_READ_TABLE, …) widen the row, not the field: every slot is still
    // DDIC LENG characters, so they would print the same '*'.
    throw new ValueError(
      `overflowed its output slot (SAP wrote ${JSON.stringify(t)}: the value with sign and decimal point is wider than the field's DDIC length, which sizes the field in every RFC_READ_TABLE variant; leave the field out with \`fields\`, or read the data over ODP, whose rows have room for sign and point)`,
    )
  }
  if (t.endsWith('-')) return '-' + t.slice(0, -1).trimEnd()
  if (t.endsWith('+')) return t.slice(0, -1).trimEnd()
  return t
}

function packedConverter(precision: number, scale: number): TextConverter {
  // Once the sign moved, what SAP writes is nearly always canonical; `.5`, `5.` and `-.5` (slots that
  // dropped a zero) take the general parser.
  const canonical = decimalText(precision, scale)
  return (text) => {
    const n = signedNumberText(text)
    return n === undefined ? null : canonical(n)
  }
}

const INT_RE = /^[+-]?\d{1,20}$/

function intConverter(min: number, max: number): TextConverter {
  return (text) => {
    const n = signedNumberText(text)
    if (n === undefined) return null
    if (!INT_RE.test(n)) throw new ValueError('is not an integer')
    const v = Number(n)
    if (v < min || v > max) throw new ValueError(`is outside ${min}…${max}`)
    return v
  }
}

function parseInt8(text: string): Value {
  const n = signedNumberText(text)
  if (n === undefined) return null
  if (!INT_RE.test(n)) throw new ValueError('is not an integer')
  const v = BigInt(n)
  if (v < -(2n ** 63n) || v > 2n ** 63n - 1n) throw new ValueError('is outside the INT8 range')
  return v
}

const FLTP_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)[eE][+-]?\d{1,3}$/

/**
 * ABAP always renders FLTP as mantissa and exponent (`6.0000000000000000E+02`, §B.4). Text without an
 * exponent is a float cut off by a narrow slot (§C.3: "widely reported as unusable"), so refuse it.
 */
function parseFltp(text: string): Value {
  const n = signedNumberText(text)
  if (n === undefined) return null
  if (!FLTP_RE.test(n)) throw new ValueError('is not a complete floating-point number (FLTP truncated in its slot?)')
  return Number(n)
}

function parseRaw(text: string): Value {
  const t = text.trim()
  if (t === '') return null
  if (t.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(t)) throw new ValueError('is not hexadecimal RAW text')
  return new Uint8Array(Buffer.from(t, 'hex'))
}

const MS_PER_DAY = 86_400_000

/** Day numbers of dates already seen: real data repeats few distinct dates many times. */
const DATS_CACHE = new Map<string, number>()

/** `YYYYMMDD`; `00000000` and blanks are initial dates → null (docs/architecture.md#rule-4). */
function parseDats(text: string): Value {
  const t = text.length === 8 ? text : text.trim()
  const cached = DATS_CACHE.get(t)
  if (cached !== undefined) return new Date(cached)
  if (t === '' || t === '00000000' || t === '        ') return null
  const date = computeDats(t)
  if (date !== null && DATS_CACHE.size < 50_000) DATS_CACHE.set(t, date.getTime())
  return date
}

function computeDats(t: string): Date | null {
  let y: number, m: number, d: number
  if (t.length === 8 && /^\d{8}$/.test(t)) {
    y = +t.slice(0, 4)
    m = +t.slice(4, 6)
    d = +t.slice(6, 8)
  } else {
    // ODP rows are external format (§B.4): accept ISO and the common DD.MM.YYYY display form.
    const iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(t)
    const dot = /^(\d{2})\.(\d{2})\.(\d{4})$/.exec(t)
    if (iso) [y, m, d] = [+iso[1], +iso[2], +iso[3]]
    else if (dot) [y, m, d] = [+dot[3], +dot[2], +dot[1]]
    else throw new ValueError('is not a date YYYYMMDD')
    if (y === 0 && m === 0 && d === 0) return null
  }
  const date = new Date(0)
  date.setUTCFullYear(y, m - 1, d)
  if (m < 1 || m > 12 || d < 1 || date.getUTCDate() !== d) throw new ValueError('is not a valid calendar date')
  if (date.getTime() % MS_PER_DAY !== 0) throw new ValueError('is not a calendar date')
  return date
}

/** `HHMMSS` → µs since midnight; `240000` is legal ABAP and maps to 86_400_000_000 (§C.3). */
function parseTims(text: string): Value {
  if (text.length === 6) {
    // The usual case, without regex or substrings.
    let v = 0
    for (let i = 0; i < 6; i++) {
      const d = text.charCodeAt(i) - 48
      if (d < 0 || d > 9) {
        v = -1
        break
      }
      v = v * 10 + d
    }
    if (v >= 0) {
      const h = Math.floor(v / 10_000)
      const mi = Math.floor(v / 100) % 100
      const sec = v % 100
      if (mi <= 59 && sec <= 59 && (h < 24 || v === 240_000)) return ((h * 60 + mi) * 60 + sec) * 1_000_000
    }
  }
  let t = text.trim()
  if (t === '') return null
  if (t.length === 8 && t[2] === ':' && t[5] === ':') t = t.slice(0, 2) + t.slice(3, 5) + t.slice(6)
  if (t.length !== 6 || !/^\d{6}$/.test(t)) throw new ValueError('is not a time HHMMSS')
  const h = +t.slice(0, 2)
  const mi = +t.slice(2, 4)
  const s = +t.slice(4, 6)
  if (mi > 59 || s > 59) throw new ValueError('is not a valid time of day')
  const micros = ((h * 60 + mi) * 60 + s) * 1_000_000
  if (micros > MICROS_PER_DAY) throw new ValueError('is after 24:00:00')
  return micros
}
