/**
 * The expected column-model value of a simulator row, computed from ABAP notation (admin.rows(),
 * changeLog) independently of the client's converters, so a client bug cannot agree with itself.
 */
import type { Column, Row, Value } from '../../../src/sap/fields.js'

type SapValue = string | number | boolean | null | undefined

export function expectedValue(col: Column, v: SapValue): Value {
  if (v === null || v === undefined) return null
  switch (col.type.kind) {
    case 'string':
    case 'decimal':
      return String(v)
    case 'int64':
      return BigInt(v as string)
    case 'date': {
      const s = String(v)
      if (s === '00000000') return null
      return utc(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8))
    }
    case 'timestamp': {
      const s = String(v)
      if (/^0+$/.test(s)) return null
      return utc(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(8, 10), +s.slice(10, 12), +s.slice(12, 14))
    }
    case 'time': {
      // 'HHMMSS' or 'HHMMSS.fff'
      const s = String(v)
      const whole = (+s.slice(0, 2) * 3600 + +s.slice(2, 4) * 60 + +s.slice(4, 6)) * 1_000_000
      const frac = s.length > 7 ? Number(s.slice(7).padEnd(6, '0').slice(0, 6)) : 0
      return whole + frac
    }
    case 'binary':
      return new Uint8Array(Buffer.from(String(v), 'base64'))
    case 'guid':
      return String(v).toLowerCase()
    default:
      return v as Value
  }
}

/** Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear does not. */
function utc(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): Date {
  const out = new Date(0)
  out.setUTCFullYear(y, mo, d)
  out.setUTCHours(h, mi, s, 0)
  return out
}

/** A simulator row + ODQ fields → the row the client must produce for `columns`. */
export function expectedRow(columns: Column[], row: Record<string, SapValue>, mode = '', counter = '0'): Row {
  return columns.map((c) => (c.name === 'ODQ_CHANGEMODE' ? mode : c.name === 'ODQ_ENTITYCNTR' ? counter : expectedValue(c, row[c.name])))
}
