/**
 * Turns a parsed WHERE condition into a row predicate with Open SQL semantics: literals are converted
 * to the column's DDIC type first (NUMC right-aligned with zeros, DATS/TIMS validated), CHAR compares
 * without trailing blanks, packed numbers and INT4 compare numerically.
 *
 * Conversion failures are runtime errors, not syntax errors: a CHAR literal longer than the column or an
 * impossible date ('20240231') raises SAPSQL_DATA_LOSS (docs/sap-protocols.md C.6; SapCo2 #13 "Data was lost
 * while copying a value." for a too long literal) and a non-number against a numeric column CONVT_NO_NUMBER.
 */
import { compareDecimal } from '../../model/abapValues.js'
import type { SapRow } from '../../types.js'
import type { DdicField } from '../ddic/ddic.js'
import { intType } from '../ddic/ddic.js'
import { abapRuntimeError, dump } from '../errors.js'
import type { CmpOp, Cond, Operand } from './where.js'
import { WhereSyntaxError } from './where.js'

export type RowPredicate = (row: SapRow) => boolean

/** Value source of one side of a comparison: a constant or another column. */
type Value = { constant: string } | { field: DdicField }

function numeric(f: DdicField): boolean {
  const t = intType(f)
  return t === 'P' || t === 'I'
}

function validDate(s: string): boolean {
  if (s === '00000000') return true
  const y = +s.slice(0, 4)
  const m = +s.slice(4, 6)
  const d = +s.slice(6, 8)
  if (y < 1 || m < 1 || m > 12 || d < 1) return false
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)
  return d <= [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
}

/** A literal as the column's type would hold it. */
export function convertLiteral(f: DdicField, text: string): string {
  const t = intType(f)
  const trimmed = text.replace(/ +$/, '')
  const loss = () => dump('SAPSQL_DATA_LOSS')
  switch (t) {
    case 'P':
    case 'I': {
      const m = /^\s*([+-]?)(\d+(?:\.\d*)?|\.\d+)\s*$/.exec(text)
      if (!m) throw abapRuntimeError('CONVT_NO_NUMBER', `Unable to interpret "${text}" as a number.`)
      return (m[1] === '-' ? '-' : '') + m[2]
    }
    case 'N': {
      if (!/^\d*$/.test(trimmed)) throw loss()
      const digits = trimmed.replace(/^0+(?=\d)/, '')
      if (digits.length > f.leng) throw loss()
      return digits.padStart(f.leng, '0')
    }
    case 'D':
      if (!/^\d{8}$/.test(trimmed) || !validDate(trimmed)) throw loss()
      return trimmed
    case 'T':
      if (!/^\d{6}$/.test(trimmed) || +trimmed.slice(0, 2) > 24 || +trimmed.slice(2, 4) > 59 || +trimmed.slice(4, 6) > 59) throw loss()
      return trimmed
    default:
      if (trimmed.length > f.leng) throw loss()
      return trimmed
  }
}

function text(v: SapRow[string]): string {
  return String(v ?? '').replace(/ +$/, '')
}

function compare(f: DdicField, a: string, b: string): number {
  if (numeric(f)) return compareDecimal(a, b)
  return a < b ? -1 : a > b ? 1 : 0
}

function test(op: CmpOp, c: number): boolean {
  switch (op) {
    case '=':
      return c === 0
    case '<>':
      return c !== 0
    case '<':
      return c < 0
    case '<=':
      return c <= 0
    case '>':
      return c > 0
    case '>=':
      return c >= 0
  }
}

function likeRegex(pattern: string, escape?: string): RegExp {
  let re = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (escape !== undefined && c === escape && i + 1 < pattern.length) re += pattern[++i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    else if (c === '%') re += '[\\s\\S]*'
    else if (c === '_') re += '[\\s\\S]'
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`, 'u')
}

/** Bounds on the first key field that every matching row satisfies (for narrowing the scan). */
export interface KeyBounds {
  min?: string
  max?: string
}

export interface CompiledWhere {
  predicate: RowPredicate
  bounds: KeyBounds
}

export function compileWhere(cond: Cond | undefined, fields: readonly DdicField[], firstKey: string): CompiledWhere {
  if (!cond) return { predicate: () => true, bounds: {} }
  const byName = new Map(fields.map((f) => [f.name, f]))
  const fieldOf = (name: string): DdicField => {
    const f = byName.get(name)
    if (!f) throw new WhereSyntaxError(`unknown field ${name}`)
    return f
  }
  const valueOf = (f: DdicField, o: Operand): Value => {
    if (o.kind === 'field') {
      const other = fieldOf(o.name)
      if (numeric(other) !== numeric(f)) throw new WhereSyntaxError(`${f.name} and ${other.name} cannot be compared`)
      return { field: other }
    }
    return { constant: convertLiteral(f, o.text) }
  }
  const read = (v: Value, row: SapRow): string => ('constant' in v ? v.constant : text(row[v.field.name]))

  const build = (c: Cond): RowPredicate => {
    switch (c.kind) {
      case 'and': {
        const items = c.items.map(build)
        return (row) => items.every((p) => p(row))
      }
      case 'or': {
        const items = c.items.map(build)
        return (row) => items.some((p) => p(row))
      }
      case 'not': {
        const inner = build(c.item)
        return (row) => !inner(row)
      }
      case 'cmp': {
        const f = fieldOf(c.field)
        const v = valueOf(f, c.value)
        return (row) => test(c.op, compare(f, text(row[f.name]), read(v, row)))
      }
      case 'between': {
        const f = fieldOf(c.field)
        const lo = valueOf(f, c.lo)
        const hi = valueOf(f, c.hi)
        return (row) => {
          const x = text(row[f.name])
          return (compare(f, x, read(lo, row)) >= 0 && compare(f, x, read(hi, row)) <= 0) !== c.not
        }
      }
      case 'in': {
        const f = fieldOf(c.field)
        const values = c.values.map((o) => valueOf(f, o))
        return (row) => values.some((v) => compare(f, text(row[f.name]), read(v, row)) === 0) !== c.not
      }
      case 'like': {
        const f = fieldOf(c.field)
        if (numeric(f) || c.pattern.kind === 'field') throw new WhereSyntaxError(`LIKE is not possible for ${f.name}`)
        const re = likeRegex(c.pattern.text, c.escape)
        return (row) => re.test(text(row[f.name])) !== c.not
      }
      case 'null': {
        fieldOf(c.field)
        // dictionary columns are NOT NULL: IS NULL never holds
        return () => c.not
      }
    }
  }
  return { predicate: build(cond), bounds: boundsOf(cond, byName.get(firstKey)) }
}

/** A conjunction's terms, nested conjunctions (`( a ) AND ( ( b ) AND ( c ) )`) taken apart. */
const conjuncts = (c: Cond): Cond[] => (c.kind === 'and' ? c.items.flatMap(conjuncts) : [c])

/** Bounds from the top-level conjunction's comparisons of the first key field with a literal. */
function boundsOf(cond: Cond, key: DdicField | undefined): KeyBounds {
  if (!key || numeric(key)) return {}
  const items = conjuncts(cond)
  const b: KeyBounds = {}
  const lower = (v: string) => (b.min = b.min === undefined || v > b.min ? v : b.min)
  const upper = (v: string) => (b.max = b.max === undefined || v < b.max ? v : b.max)
  for (const c of items) {
    if (c.kind === 'cmp' && c.field === key.name && c.value.kind !== 'field') {
      const v = convertLiteral(key, c.value.text)
      if (c.op === '=' || c.op === '>' || c.op === '>=') lower(v)
      if (c.op === '=' || c.op === '<' || c.op === '<=') upper(v)
    } else if (c.kind === 'between' && !c.not && c.field === key.name && c.lo.kind !== 'field' && c.hi.kind !== 'field') {
      lower(convertLiteral(key, c.lo.text))
      upper(convertLiteral(key, c.hi.text))
    }
  }
  return b
}
