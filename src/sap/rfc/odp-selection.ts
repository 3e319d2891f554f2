/**
 * `spec.filter` of an ODP_RFC pipeline → the ABAP range rows of RODPS_REPL_ODP_OPEN's selection table
 * (`FIELDNAME`, `SIGN` I/E, `OPTION` EQ/BT/CP/GE…, `LOW`, `HIGH`; sap-protocols.md §B.1). The filter is
 * written in the same open-SQL syntax as TABLE_RFC's WHERE, restricted to what ranges can say: an
 * AND of conditions on single fields, where one field's conditions may be OR-ed in parentheses.
 * Each field must carry the matching selection capability (SEL_EQUAL, SEL_BETWEEN, SEL_PATTERN).
 */
import { SourceError } from '../errors.js'
import type { OdpFieldsInfo } from './odp-fields.js'
import type { AbapKind } from './values.js'
import { parseWhere } from './where.js'

export interface SelectionRow {
  FIELDNAME: string
  SIGN: 'I' | 'E'
  OPTION: string
  LOW: string
  HIGH: string
}

const OPS: Record<string, string> = { '=': 'EQ', EQ: 'EQ', '<>': 'NE', NE: 'NE', '<': 'LT', LT: 'LT', '<=': 'LE', LE: 'LE', '>': 'GT', GT: 'GT', '>=': 'GE', GE: 'GE' }

function bad(msg: string): SourceError {
  return new SourceError('SOURCE_BAD_REQUEST', `ODP selection: ${msg}`)
}

const unquote = (t: string) => (t.startsWith("'") ? t.slice(1, -1).replaceAll("''", "'") : t)

/** ABAP CP patterns use `*` and `+`; SQL LIKE uses `%` and `_`. */
function likeToCp(pattern: string): string {
  return pattern.replace(/[%_]/g, (c) => (c === '%' ? '*' : '+'))
}

export function parseSelection(filter: string, info: OdpFieldsInfo): SelectionRow[] {
  const kinds = new Map<string, AbapKind>(info.fields.map((f) => [f.name, f.kind]))
  const t = parseWhere(filter, kinds)
  const rows: SelectionRow[] = []
  let i = 0

  const predicate = (): SelectionRow[] => {
    let sign: 'I' | 'E' = 'I'
    const field = t[i++]
    if (!kinds.has(field)) throw bad(`expected a field, found ${field}`)
    let op = t[i++]
    if (op === 'NOT') {
      sign = 'E'
      op = t[i++]
    }
    const value = () => {
      const v = t[i++]
      if (kinds.has(v)) throw bad(`${field} can only be compared with values, not with the field ${v}`)
      return unquote(v)
    }
    if (OPS[op]) return [{ FIELDNAME: field, SIGN: sign, OPTION: OPS[op], LOW: value(), HIGH: '' }]
    if (op === 'BETWEEN') {
      const low = value()
      i++ // AND
      return [{ FIELDNAME: field, SIGN: sign, OPTION: 'BT', LOW: low, HIGH: value() }]
    }
    if (op === 'LIKE') {
      const low = likeToCp(value())
      if (t[i] === 'ESCAPE') throw bad('LIKE … ESCAPE has no ODP range equivalent')
      return [{ FIELDNAME: field, SIGN: sign, OPTION: 'CP', LOW: low, HIGH: '' }]
    }
    if (op === 'IN') {
      const out: SelectionRow[] = []
      i++ // (
      for (;;) {
        out.push({ FIELDNAME: field, SIGN: sign, OPTION: 'EQ', LOW: value(), HIGH: '' })
        if (t[i++] === ')') break
      }
      return out
    }
    throw bad(`${op} is not expressible as a selection range`)
  }

  const term = (): void => {
    if (t[i] === 'NOT') throw bad('use <>, NOT BETWEEN, NOT LIKE or NOT IN instead of a leading NOT')
    if (t[i] === '(') {
      i++
      const group: SelectionRow[] = [...predicate()]
      while (t[i] === 'OR') {
        i++
        group.push(...predicate())
      }
      if (t[i++] !== ')') throw bad('only OR-ed conditions on one field may be put in parentheses')
      if (new Set(group.map((r) => r.FIELDNAME)).size > 1) throw bad('OR may only combine conditions on the same field (different fields are AND-ed in ODP selections)')
      rows.push(...group)
    } else rows.push(...predicate())
  }

  term()
  while (i < t.length) {
    if (t[i] !== 'AND') throw bad(`${t[i]} here: combine conditions on different fields with AND only`)
    i++
    term()
  }
  checkCapabilities(rows, info)
  return rows
}

function checkCapabilities(rows: SelectionRow[], info: OdpFieldsInfo): void {
  // Systems whose ET_FIELDS carries no SEL_* flags at all: let SAP judge.
  if (!info.fields.some((f) => f.sel.equal || f.sel.between || f.sel.pattern)) return
  for (const r of rows) {
    const f = info.byName.get(r.FIELDNAME)!
    const ok = r.OPTION === 'EQ' ? f.sel.equal : r.OPTION === 'CP' ? f.sel.pattern : f.sel.between
    if (!ok) throw bad(`field ${r.FIELDNAME} of ODP ${info.odp} cannot be restricted with ${r.OPTION} (its ET_FIELDS selection flags: ${Object.entries(f.sel).filter(([, v]) => v).map(([k]) => k).join(', ') || 'none'})`)
  }
}
