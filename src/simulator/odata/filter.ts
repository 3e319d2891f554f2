/**
 * `$filter` for ODP entity sets: comparisons (eq ne gt ge lt le) of a filterable property with a literal,
 * combined with and / or / not and parentheses — what ODP can turn into selections (A.7). Literals are
 * converted once into the property's ABAP notation and compared the way ODP would compare the stored
 * value: an initial date is '00000000' (it sorts first and matches `eq null`), NUMC compares as text.
 */
import { compareDecimal, timestampFromMs, timsToMs } from '../model/abapValues.js'
import type { FieldDef } from '../model/fields.js'
import { isFilterable } from '../model/fields.js'
import type { SapRow } from '../types.js'
import { badRequest } from './errors.js'

type Op = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le'
const OPS = new Set<string>(['eq', 'ne', 'gt', 'ge', 'lt', 'le'])
const FLIP: Record<Op, Op> = { eq: 'eq', ne: 'ne', gt: 'lt', ge: 'le', lt: 'gt', le: 'ge' }

interface Literal {
  kind: 'string' | 'number' | 'datetime' | 'datetimeoffset' | 'time' | 'guid' | 'bool' | 'null' | 'binary'
  text: string
}

type Token = { t: 'ident'; v: string } | { t: 'lit'; v: Literal } | { t: 'punct'; v: '(' | ')' | ',' }

type Node =
  | { type: 'and' | 'or'; left: Node; right: Node }
  | { type: 'not'; inner: Node }
  | { type: 'cmp'; field: FieldDef; op: Op; lit: Literal }

export interface CompiledFilter {
  /** Canonical text: equal for filters that differ only in spacing or redundant parentheses. */
  canonical: string
  test(row: SapRow): boolean
  /** Bounds every matching row's first key field lies within, for an index-like scan (see keyBoundsOf). */
  keyBounds: KeyBounds
}

/** Inclusive bounds on the first key field (either open); a superset of what the filter selects. */
export interface KeyBounds {
  min?: string
  max?: string
}

const TYPED_PREFIXES = new Set(['datetime', 'datetimeoffset', 'time', 'guid', 'x', 'binary'])

function tokenize(src: string): Token[] {
  const out: Token[] = []
  let i = 0
  while (i < src.length) {
    const c = src[i]
    if (/\s/.test(c)) {
      i++
    } else if (c === '(' || c === ')' || c === ',') {
      out.push({ t: 'punct', v: c })
      i++
    } else if (c === "'") {
      const [text, next] = readQuoted(src, i)
      out.push({ t: 'lit', v: { kind: 'string', text } })
      i = next
    } else if (/[-+\d.]/.test(c)) {
      const m = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?[mMdDfFlL]?/.exec(src.slice(i))
      if (!m) throw badRequest(`Invalid token at position ${i} in $filter`)
      out.push({ t: 'lit', v: { kind: 'number', text: m[0].replace(/[mMdDfFlL]$/, '') } })
      i += m[0].length
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!
      const word = m[0]
      i += word.length
      if (src[i] === "'" && TYPED_PREFIXES.has(word.toLowerCase())) {
        const [text, next] = readQuoted(src, i)
        const kind = word.toLowerCase() === 'x' ? 'binary' : (word.toLowerCase() as Literal['kind'])
        out.push({ t: 'lit', v: { kind, text } })
        i = next
      } else if (word === 'true' || word === 'false') {
        out.push({ t: 'lit', v: { kind: 'bool', text: word } })
      } else if (word === 'null') {
        out.push({ t: 'lit', v: { kind: 'null', text: 'null' } })
      } else {
        out.push({ t: 'ident', v: word })
      }
    } else {
      throw badRequest(`Invalid character '${c}' at position ${i} in $filter`)
    }
  }
  return out
}

function readQuoted(src: string, start: number): [string, number] {
  let text = ''
  let i = start + 1
  for (;;) {
    if (i >= src.length) throw badRequest('Unterminated string literal in $filter')
    if (src[i] === "'") {
      if (src[i + 1] === "'") {
        text += "'"
        i += 2
        continue
      }
      return [text, i + 1]
    }
    text += src[i++]
  }
}

class Parser {
  private pos = 0
  constructor(
    private readonly tokens: Token[],
    private readonly fields: ReadonlyMap<string, FieldDef>,
  ) {}

  parse(): Node {
    const node = this.or()
    if (this.pos < this.tokens.length) throw badRequest(`Unexpected token after position ${this.pos} in $filter`)
    return node
  }

  private peekWord(): string | undefined {
    const tok = this.tokens[this.pos]
    return tok?.t === 'ident' ? tok.v : undefined
  }

  private or(): Node {
    let left = this.and()
    while (this.peekWord() === 'or') {
      this.pos++
      left = { type: 'or', left, right: this.and() }
    }
    return left
  }

  private and(): Node {
    let left = this.unary()
    while (this.peekWord() === 'and') {
      this.pos++
      left = { type: 'and', left, right: this.unary() }
    }
    return left
  }

  private unary(): Node {
    if (this.peekWord() === 'not') {
      this.pos++
      return { type: 'not', inner: this.unary() }
    }
    const tok = this.tokens[this.pos]
    if (tok?.t === 'punct' && tok.v === '(') {
      this.pos++
      const inner = this.or()
      const close = this.tokens[this.pos++]
      if (close?.t !== 'punct' || close.v !== ')') throw badRequest("Missing ')' in $filter")
      return inner
    }
    return this.comparison()
  }

  private comparison(): Node {
    const a = this.tokens[this.pos++]
    const opTok = this.tokens[this.pos++]
    const b = this.tokens[this.pos++]
    if (a?.t === 'ident' && this.tokens[this.pos - 2]?.t === 'punct') {
      throw badRequest(`Function '${a.v}' is not supported in $filter of an ODP entity set`)
    }
    if (!a || opTok?.t !== 'ident' || !OPS.has(opTok.v) || !b)
      throw badRequest('Invalid $filter: expected <property> <eq|ne|gt|ge|lt|le> <literal>')
    const op = opTok.v as Op
    if (a.t === 'ident' && b.t === 'lit') return { type: 'cmp', field: this.field(a.v), op, lit: b.v }
    if (a.t === 'lit' && b.t === 'ident') return { type: 'cmp', field: this.field(b.v), op: FLIP[op], lit: a.v }
    throw badRequest('Invalid $filter: a comparison needs one property and one literal')
  }

  private field(name: string): FieldDef {
    const f = this.fields.get(name)
    if (!f) throw badRequest(`Property '${name}' not found in $filter`)
    if (!isFilterable(f)) throw badRequest(`Property '${name}' is not filterable (sap:filterable="false")`)
    return f
  }
}

function print(n: Node): string {
  switch (n.type) {
    case 'and':
    case 'or':
      return `(${print(n.left)} ${n.type} ${print(n.right)})`
    case 'not':
      return `not ${print(n.inner)}`
    case 'cmp':
      return `${n.field.name} ${n.op} ${n.lit.kind}'${n.lit.text}'`
  }
}

type Value = string | number | bigint | boolean | null

function invalid(f: FieldDef, lit: Literal): never {
  throw badRequest(`Invalid literal ${lit.kind === 'string' ? `'${lit.text}'` : lit.text} for property '${f.name}' (${f.edm})`)
}

function isoToMs(f: FieldDef, lit: Literal): number {
  const text = /[zZ]|[+-]\d\d:\d\d$/.test(lit.text) || lit.kind !== 'datetime' ? lit.text : lit.text + 'Z'
  const ms = Date.parse(text)
  if (Number.isNaN(ms)) invalid(f, lit)
  return ms
}

/** The literal in the field's comparable form; null stands for the null literal. */
function convert(f: FieldDef, lit: Literal): Value {
  if (lit.kind === 'null') return f.abap === 'DATS' ? '00000000' : null
  switch (f.abap) {
    case 'CHAR':
    case 'NUMC':
    case 'CUKY':
    case 'UNIT':
      return lit.kind === 'string' ? lit.text : invalid(f, lit)
    case 'INT1':
    case 'INT2':
    case 'INT4':
    case 'FLTP':
      return lit.kind === 'number' && Number.isFinite(Number(lit.text)) ? Number(lit.text) : invalid(f, lit)
    case 'INT8':
      return lit.kind === 'number' && /^[-+]?\d+$/.test(lit.text) ? BigInt(lit.text) : invalid(f, lit)
    case 'DEC':
    case 'CURR':
    case 'QUAN':
      return lit.kind === 'number' && !/[eE]/.test(lit.text) ? lit.text.replace(/^\+/, '') : invalid(f, lit)
    case 'BOOL':
      return lit.kind === 'bool' ? lit.text === 'true' : invalid(f, lit)
    case 'GUID':
      return lit.kind === 'guid' || lit.kind === 'string' ? lit.text.toLowerCase() : invalid(f, lit)
    case 'DATS':
      return lit.kind === 'datetime' ? timestampFromMs(isoToMs(f, lit)).slice(0, 8) : invalid(f, lit)
    case 'TIMS': {
      const m = /^PT(\d+)H(\d+)M(\d+(?:\.\d+)?)S$/.exec(lit.text)
      if (lit.kind !== 'time' || !m) invalid(f, lit)
      return (+m[1] * 3600 + +m[2] * 60) * 1000 + Math.round(+m[3] * 1000)
    }
    case 'TIMESTAMP':
    case 'TIMESTAMPL':
      return lit.kind === 'datetime' || lit.kind === 'datetimeoffset' ? timestampFromMs(isoToMs(f, lit)) : invalid(f, lit)
    case 'RAW':
      return invalid(f, lit)
  }
}

function rowValue(f: FieldDef, v: SapRow[string]): Value {
  if (v === null || v === undefined) return null
  switch (f.abap) {
    case 'INT8':
      return BigInt(v as string)
    case 'TIMS':
      return timsToMs(v as string)
    default:
      return v
  }
}

function compare(f: FieldDef, a: Value, b: Value): number {
  if (f.abap === 'DEC' || f.abap === 'CURR' || f.abap === 'QUAN') return compareDecimal(a as string, b as string)
  return a! < b! ? -1 : a! > b! ? 1 : 0
}

function compile(n: Node): (row: SapRow) => boolean {
  switch (n.type) {
    case 'and': {
      const l = compile(n.left)
      const r = compile(n.right)
      return (row) => l(row) && r(row)
    }
    case 'or': {
      const l = compile(n.left)
      const r = compile(n.right)
      return (row) => l(row) || r(row)
    }
    case 'not': {
      const inner = compile(n.inner)
      return (row) => !inner(row)
    }
    case 'cmp': {
      const { field, op } = n
      const lit = convert(field, n.lit)
      return (row) => {
        const v = rowValue(field, row[field.name])
        if (v === null || lit === null) {
          if (op === 'eq') return v === lit
          if (op === 'ne') return v !== lit
          return false
        }
        const c = compare(field, v, lit)
        switch (op) {
          case 'eq':
            return c === 0
          case 'ne':
            return c !== 0
          case 'gt':
            return c > 0
          case 'ge':
            return c >= 0
          case 'lt':
            return c < 0
          case 'le':
            return c <= 0
        }
      }
    }
  }
}

/**
 * Bounds on the first key field from the comparisons with a text literal that every matching row must
 * pass: those of the top-level conjunction (nested `and`s included). A database serves such a filter
 * from its primary index instead of scanning the table; anything else (or, not, other fields) leaves
 * the bounds open and the scan whole. Character keys only: their order is the text order `compare` uses.
 */
function keyBoundsOf(n: Node, key: string | undefined): KeyBounds {
  if (n.type === 'and') {
    const [l, r] = [keyBoundsOf(n.left, key), keyBoundsOf(n.right, key)]
    const pick = (a: string | undefined, b: string | undefined, higher: boolean) =>
      a === undefined ? b : b === undefined ? a : a > b === higher ? a : b
    return { min: pick(l.min, r.min, true), max: pick(l.max, r.max, false) }
  }
  if (n.type !== 'cmp' || n.field.name !== key || n.lit.kind !== 'string' || (n.field.abap !== 'CHAR' && n.field.abap !== 'NUMC')) return {}
  const v = n.lit.text
  return { min: ['eq', 'gt', 'ge'].includes(n.op) ? v : undefined, max: ['eq', 'lt', 'le'].includes(n.op) ? v : undefined }
}

/**
 * Parses and compiles `$filter` against the entity type's properties (`firstKey`: the first key
 * field, whose range bounds the scan); throws a 400 SapHttpError.
 */
export function compileFilter(text: string, properties: readonly FieldDef[], firstKey?: string): CompiledFilter {
  const fields = new Map(properties.map((f) => [f.name, f]))
  const ast = new Parser(tokenize(text), fields).parse()
  return { canonical: print(ast), test: compile(ast), keyBounds: keyBoundsOf(ast, firstKey) }
}
