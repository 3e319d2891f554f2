/**
 * Watermark deltas for TABLE_RFC (docs/sap-protocols.md §C.7): a table has no change queue, so a DELTA
 * re-reads the rows whose change date/time is at or after the last watermark minus an overlap window
 * (late-committing transactions, date-only granularity) and drops the rows it already delivered.
 *
 * De-duplication rule: the position remembers a fingerprint (hash of the row's full content) of every
 * row whose watermark lies inside the overlap window at the end of a run. The next DELTA skips a
 * re-read row iff its fingerprint is remembered — i.e. it was delivered before and has not changed
 * since. A row changed again on the same day (same AEDAT, new content) has a new fingerprint and is
 * delivered again. Limits (§C.7): deletions are invisible, a watermark that moves backwards is
 * missed, and changes that do not touch the watermark field are not seen.
 *
 * Supported watermark fields: a date (DATS `AEDAT`), a timestamp (DEC 15 `YYYYMMDDhhmmss`, DEC 21,7
 * long timestamps, or 14-digit NUMC/CHAR), or a date and a time field written `AEDAT+AEZET`.
 */
import { createHash } from 'node:crypto'
import { SourceError } from '../errors.js'
import type { RfcField } from './values.js'
import { literal, or, and, type Condition } from './where.js'

export type WatermarkKind = 'date' | 'timestamp' | 'date+time'

export interface Watermark {
  /** As the pipeline names it: `AEDAT`, `TIMESTAMP`, `AEDAT+AEZET`. */
  name: string
  kind: WatermarkKind
  fields: RfcField[]
}

/** The opaque position of a TABLE_RFC pipeline, serialized as JSON. */
export interface TablePosition {
  v: 1
  kind: 'TABLE_RFC'
  table: string
  watermarkField: string
  /** Highest watermark delivered: `YYYYMMDD` or `YYYYMMDDhhmmss[.fffffff]`; absent for an empty table. */
  watermark?: string
  overlapSeconds: number
  /** Fingerprints of the rows inside the overlap window (see the de-duplication rule above). */
  seen: string[]
}

function bad(msg: string): SourceError {
  return new SourceError('SOURCE_BAD_REQUEST', msg)
}

/** Resolves `spec.watermarkField` against the table's fields. */
export function resolveWatermark(name: string, fields: ReadonlyMap<string, RfcField>): Watermark {
  const parts = name.split('+').map((p) => p.trim().toUpperCase())
  const get = (n: string) => {
    const f = fields.get(n)
    if (!f) throw bad(`watermark field ${n} is not a field of the table`)
    return f
  }
  if (parts.length === 2) {
    const [d, t] = parts.map(get)
    if (d.kind !== 'date' || t.kind !== 'time')
      throw bad(
        `a watermark pair must be a date and a time field (DATS+TIMS), got ${d.name} (${d.sourceType}) and ${t.name} (${t.sourceType})`,
      )
    return { name: `${d.name}+${t.name}`, kind: 'date+time', fields: [d, t] }
  }
  if (parts.length !== 1)
    throw bad(`watermark field ${JSON.stringify(name)}: name one date/timestamp field, or a date and a time field as DATE+TIME`)
  const f = get(parts[0])
  if (f.kind === 'date') return { name: f.name, kind: 'date', fields: [f] }
  // TIMESTAMP is DEC 15,0 and TIMESTAMPL DEC 21,7 holding YYYYMMDDhhmmss (§C.7); some tables keep it as 14 digits of NUMC/CHAR.
  const stamp =
    f.kind === 'packed'
      ? f.length - f.decimals === 15 || f.length - f.decimals === 14
      : (f.kind === 'numc' || f.kind === 'char') && f.length === 14
  if (stamp) return { name: f.name, kind: 'timestamp', fields: [f] }
  throw bad(
    `watermark field ${f.name} (${f.sourceType} ${f.length}) is neither a date (DATS) nor a timestamp (DEC 15 / 14 digits YYYYMMDDhhmmss); for a separate time field use ${f.name}+<time field>`,
  )
}

/** A row's watermark in comparable form, or undefined when initial (never changed / not set). */
export function watermarkValue(w: Watermark, texts: string[]): string | undefined {
  if (w.kind === 'date') {
    const d = texts[0].trim()
    return /^\d{8}$/.test(d) && d !== '00000000' ? d : undefined
  }
  if (w.kind === 'date+time') {
    const d = texts[0].trim()
    const t = texts[1].trim() || '000000'
    return /^\d{8}$/.test(d) && d !== '00000000' && /^\d{6}$/.test(t) ? d + t : undefined
  }
  const raw = texts[0].trim()
  const m = /^(\d{1,14})(?:\.(\d+))?$/.exec(raw.endsWith('-') ? '' : raw)
  if (!m || /^0+$/.test(m[1])) return undefined
  const scale = w.fields[0].kind === 'packed' ? w.fields[0].decimals : 0
  return m[1].padStart(14, '0') + (scale > 0 ? '.' + (m[2] ?? '').padEnd(scale, '0') : '')
}

/** `wm − overlap`, in the same form. Dates step back whole days (at least the boundary day is re-read). */
export function lowerBound(w: Watermark, wm: string, overlapSeconds: number): string {
  if (w.kind === 'date') {
    const days = Math.ceil(Math.max(0, overlapSeconds) / 86_400)
    return formatStamp(parseStamp(wm + '000000') - days * 86_400_000).slice(0, 8)
  }
  const fraction = wm.length > 14 ? wm.slice(14) : ''
  const back = formatStamp(parseStamp(wm.slice(0, 14)) - Math.max(0, overlapSeconds) * 1000)
  return back + (fraction ? '.' + '0'.repeat(fraction.length - 1) : '')
}

/** The WHERE part `watermark >= from` for the field(s). */
export function sinceCondition(w: Watermark, from: string): Condition {
  const [f, t] = w.fields
  if (w.kind === 'date') return [f.name, '>=', literal(from)]
  if (w.kind === 'date+time') {
    const d = from.slice(0, 8)
    return or([f.name, '>', literal(d)], and([f.name, '=', literal(d)], [t.name, '>=', literal(from.slice(8, 14))]))
  }
  return [f.name, '>=', f.kind === 'packed' ? from : literal(from)]
}

/** The WHERE part `watermark < to` for the field(s): `to` in the watermark's own form. */
export function beforeCondition(w: Watermark, to: string): Condition {
  const [f, t] = w.fields
  if (w.kind === 'date') return [f.name, '<', literal(to)]
  if (w.kind === 'date+time') {
    const d = to.slice(0, 8)
    return or([f.name, '<', literal(d)], and([f.name, '=', literal(d)], [t.name, '<', literal(to.slice(8, 14))]))
  }
  return [f.name, '<', f.kind === 'packed' ? to : literal(to)]
}

/** How far ahead of now a watermark may lie and still be a real change stamp (see {@link capFuture}). */
const FUTURE_MS = 86_400_000

/** A future watermark (a `99991231` placeholder) must not become the new high mark. */
export function capFuture(_w: Watermark, wm: string | undefined, now: Date): string | undefined {
  if (wm === undefined) return undefined
  const limit = formatStamp(now.getTime() + FUTURE_MS)
  return wm.slice(0, 14) > limit.slice(0, wm.length >= 14 ? 14 : 8) ? undefined : wm
}

/**
 * Where a watermark's values are counted for a search: whole days for a date, seconds otherwise.
 * `valueAt(i)` is the watermark form of step i (dates `YYYYMMDD`, stamps `YYYYMMDDhhmmss`, with the
 * field's zero fraction for long timestamps), so it compares as {@link watermarkValue}s do.
 */
export interface WatermarkSteps {
  /** One step past the newest value {@link capFuture} still accepts at `now`. */
  end: number
  /** Step of `now` (never above `end`). */
  now: number
  /** Step of 0001-01-01, the first value a watermark can take. */
  first: number
  valueAt(i: number): string
}

export function watermarkSteps(w: Watermark, now: Date): WatermarkSteps {
  const unit = w.kind === 'date' ? 86_400_000 : 1000
  const scale = w.kind === 'timestamp' && w.fields[0].kind === 'packed' ? w.fields[0].decimals : 0
  const fraction = scale > 0 ? '.' + '0'.repeat(scale) : ''
  const step = (ms: number) => Math.floor(ms / unit)
  return {
    end: step(now.getTime() + FUTURE_MS) + 1,
    now: step(now.getTime()),
    first: step(parseStamp('00010101000000')),
    valueAt: (i) => {
      const s = formatStamp(i * unit)
      return w.kind === 'date' ? s.slice(0, 8) : s + fraction
    },
  }
}

/** Content fingerprint of a row (its raw field texts): 96 bits, base64url. */
export function fingerprint(texts: readonly string[]): string {
  return createHash('sha1').update(texts.join('\u0001')).digest('base64url').slice(0, 16)
}

export function encodePosition(p: TablePosition): string {
  return JSON.stringify(p)
}

/**
 * Reads a stored position. A bare watermark (`20250131`, the run's token) is accepted too, with an
 * empty fingerprint set: the overlap window is then delivered again (idempotent upserts absorb it).
 */
export function decodePosition(text: string, table: string, w: Watermark, overlapSeconds: number): TablePosition {
  const t = text.trim()
  if (/^\d{8}(?:\d{6}(?:\.\d+)?)?$/.test(t))
    return { v: 1, kind: 'TABLE_RFC', table, watermarkField: w.name, watermark: t, overlapSeconds, seen: [] }
  let p: Partial<TablePosition>
  try {
    p = JSON.parse(t) as Partial<TablePosition>
  } catch {
    throw new SourceError('DELTA_POSITION_LOST', 'the stored TABLE_RFC position is not readable; run a DELTA_INIT')
  }
  if (p.kind !== 'TABLE_RFC' || p.v !== 1 || !Array.isArray(p.seen))
    throw new SourceError('DELTA_POSITION_LOST', 'the stored position does not belong to a TABLE_RFC pipeline; run a DELTA_INIT')
  if (p.table !== table || p.watermarkField !== w.name) {
    throw new SourceError(
      'DELTA_POSITION_LOST',
      `the stored position follows ${p.table}.${p.watermarkField}, the pipeline now reads ${table}.${w.name}; run a DELTA_INIT`,
    )
  }
  return p as TablePosition
}

function parseStamp(s: string): number {
  const d = new Date(0)
  d.setUTCFullYear(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8))
  d.setUTCHours(+s.slice(8, 10), +s.slice(10, 12), +s.slice(12, 14), 0)
  return d.getTime()
}

function formatStamp(ms: number): string {
  const d = new Date(ms)
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`
}
