/**
 * `spec.filter` of an ODP_RFC pipeline → the ABAP range rows of RODPS_REPL_ODP_OPEN's selection table
 * (`FIELDNAME`, `SIGN` I/E, `OPTION` EQ/BT/CP/GE…, `LOW`, `HIGH`; docs/sap-protocols.md §B.1). The filter is
 * written in the same open-SQL syntax as TABLE_RFC's WHERE, restricted to what ranges can say: an
 * AND of conditions on single fields, where one field's conditions may be OR-ed in parentheses.
 * Each field must carry the matching selection capability (SEL_EQUAL, SEL_BETWEEN, SEL_PATTERN).
 */
import { SourceError } from '../errors.js'
import type { OdpFieldsInfo } from './odp-fields.js'
import type { AbapKind } from './values.js'
import { parseWhere, type Condition } from './where.js'

export interface SelectionRow {
  FIELDNAME: string
  SIGN: 'I' | 'E'
  OPTION: string
  LOW: string
  HIGH: string
}

const OPS: Record<string, string> = {
  '=': 'EQ',
  EQ: 'EQ',
  '<>': 'NE',
  NE: 'NE',
  '<': 'LT',
  LT: 'LT',
  '<=': 'LE',
  LE: 'LE',
  '>': 'GT',
  GT: 'GT',
  '>=': 'GE',
  GE: 'GE',
}

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
  const rows = new SelectionParser(parseWhere(filter, kinds), kinds).parse()
  checkCapabilities(rows, info)
  return rows
}

/** Walks the tokens parseWhere accepted: conditions AND-ed, one field's conditions OR-ed in parentheses. */
class SelectionParser {
  private i = 0

  constructor(
    private readonly t: Condition,
    private readonly kinds: ReadonlyMap<string, AbapKind>,
  ) {}

  parse(): SelectionRow[] {
    const rows = this.term()
    while (this.i < this.t.length) {
      if (this.t[this.i] !== 'AND') throw bad(`${this.t[this.i]} here: combine conditions on different fields with AND only`)
      this.i++
      rows.push(...this.term())
    }
    return rows
  }

  private term(): SelectionRow[] {
    const t = this.t
    if (t[this.i] === 'NOT') throw bad('use <>, NOT BETWEEN, NOT LIKE or NOT IN instead of a leading NOT')
    if (t[this.i] !== '(') return this.predicate()
    this.i++
    const group = this.predicate()
    while (t[this.i] === 'OR') {
      this.i++
      group.push(...this.predicate())
    }
    if (t[this.i++] !== ')') throw bad('only OR-ed conditions on one field may be put in parentheses')
    if (new Set(group.map((r) => r.FIELDNAME)).size > 1)
      throw bad('OR may only combine conditions on the same field (different fields are AND-ed in ODP selections)')
    return group
  }

  /** One condition on one field: its range rows (several for IN). */
  private predicate(): SelectionRow[] {
    const t = this.t
    const field = t[this.i++]
    if (!this.kinds.has(field)) throw bad(`expected a field, found ${field}`)
    let sign: 'I' | 'E' = 'I'
    let op = t[this.i++]
    if (op === 'NOT') {
      sign = 'E'
      op = t[this.i++]
    }
    const row = (OPTION: string, LOW: string, HIGH = ''): SelectionRow => ({ FIELDNAME: field, SIGN: sign, OPTION, LOW, HIGH })
    if (OPS[op]) return [row(OPS[op], this.value(field))]
    if (op === 'BETWEEN') {
      const low = this.value(field)
      this.i++ // AND
      return [row('BT', low, this.value(field))]
    }
    if (op === 'LIKE') {
      const low = likeToCp(this.value(field))
      if (t[this.i] === 'ESCAPE') throw bad('LIKE … ESCAPE has no ODP range equivalent')
      return [row('CP', low)]
    }
    if (op !== 'IN') throw bad(`${op} is not expressible as a selection range`)
    const out: SelectionRow[] = []
    this.i++ // (
    do out.push(row('EQ', this.value(field)))
    while (t[this.i++] !== ')')
    return out
  }

  private value(field: string): string {
    const v = this.t[this.i++]
    if (this.kinds.has(v)) throw bad(`${field} can only be compared with values, not with the field ${v}`)
    return unquote(v)
  }
}

function checkCapabilities(rows: SelectionRow[], info: OdpFieldsInfo): void {
  // Systems whose ET_FIELDS carries no SEL_* flags at all: let SAP judge.
  if (!info.fields.some((f) => f.sel.equal || f.sel.between || f.sel.pattern)) return
  for (const r of rows) {
    const f = info.byName.get(r.FIELDNAME)!
    const ok = r.OPTION === 'EQ' ? f.sel.equal : r.OPTION === 'CP' ? f.sel.pattern : f.sel.between
    if (!ok)
      throw bad(
        `field ${r.FIELDNAME} of ODP ${info.odp} cannot be restricted with ${r.OPTION} (its ET_FIELDS selection flags: ${
          Object.entries(f.sel)
            .filter(([, v]) => v)
            .map(([k]) => k)
            .join(', ') || 'none'
        })`,
      )
  }
}
