/**
 * A small OData v2 `$filter` checker. Users type these by hand, so a wrong field, a non-filterable
 * measure (`sap:filterable="false"`, docs/sap-protocols.md §A.7) or broken syntax is reported here, with
 * the position and a hint, instead of as an opaque SAP 400 at the start of a long extraction.
 * The text itself is passed to SAP unchanged.
 */
import type { ColumnKind } from '../fields.js'
import { SourceError } from '../errors.js'
import type { EntitySetInfo } from './types.js'

type LitType = 'string' | 'number' | 'datetime' | 'time' | 'guid' | 'binary' | 'boolean' | 'null'
type Tok =
  | { t: 'lit'; lit: LitType; pos: number; text: string }
  | { t: 'id'; name: string; pos: number }
  | { t: 'op'; op: string; pos: number }
  | { t: 'punct'; c: '(' | ')' | ','; pos: number }
  | { t: 'end'; pos: number }

const COMPARE = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le'])
const ARITH = new Set(['add', 'sub', 'mul', 'div', 'mod'])
const KEYWORDS = new Set([...COMPARE, ...ARITH, 'and', 'or', 'not'])
const TYPED_PREFIX: Record<string, LitType> = {
  datetime: 'datetime',
  datetimeoffset: 'datetime',
  time: 'time',
  guid: 'guid',
  binary: 'binary',
  x: 'binary',
}
const BOOL_FUNCTIONS = new Set(['substringof', 'startswith', 'endswith', 'isof'])
const FUNCTIONS = new Set([
  ...BOOL_FUNCTIONS,
  'length',
  'indexof',
  'replace',
  'substring',
  'tolower',
  'toupper',
  'trim',
  'concat',
  'day',
  'hour',
  'minute',
  'month',
  'second',
  'year',
  'round',
  'floor',
  'ceiling',
  'cast',
])
const MISTAKES: Array<[RegExp, string]> = [
  [/^(==|=)/, "use 'eq' instead of '=' (OData operators are words: eq ne gt ge lt le)"],
  [/^(!=|<>)/, "use 'ne' instead of '!=' (OData operators are words: eq ne gt ge lt le)"],
  [/^<=/, "use 'le' instead of '<='"],
  [/^>=/, "use 'ge' instead of '>='"],
  [/^</, "use 'lt' instead of '<'"],
  [/^>/, "use 'gt' instead of '>'"],
  [/^&&?/, "use 'and' instead of '&&'"],
  [/^\|\|?/, "use 'or' instead of '||'"],
  [/^"/, "text values take single quotes: VBELN eq '0000004711'"],
]

/**
 * Throws SourceError SOURCE_BAD_REQUEST when the filter uses an unknown or non-filterable field,
 * compares a field with a literal of the wrong kind, or is not a well-formed boolean expression.
 */
export function validateFilter(filter: string, info: EntitySetInfo): void {
  new FilterChecker(filter, info).check()
}

type ExprType = LitType | 'field' | 'any'
interface Expr {
  type: ExprType
  pos: number
  /** Set when the expression is a bare field reference. */
  field?: { name: string; kind: ColumnKind; edm?: string }
  /** Set when the expression is a bare literal. */
  literal?: LitType
}

class FilterChecker {
  private toks: Tok[] = []
  private i = 0
  private readonly kinds: Map<string, { kind: ColumnKind; edm?: string }>
  private readonly filterable: Set<string>

  constructor(
    private readonly text: string,
    private readonly info: EntitySetInfo,
  ) {
    this.kinds = new Map(info.columns.map((c) => [c.name, { kind: c.type.kind, edm: c.sourceType }]))
    this.filterable = new Set(info.filterable)
  }

  check(): void {
    if (this.text.trim() === '') this.fail('the filter is empty', 0)
    this.toks = this.tokenize()
    const e = this.orExpr()
    const t = this.peek()
    if (t.t !== 'end') {
      const hint =
        t.t === 'punct' && t.c === ')'
          ? ' (a closing parenthesis without an opening one)'
          : t.t === 'id' || t.t === 'lit'
            ? " (missing 'and' / 'or' before it?)"
            : ''
      this.fail(`unexpected ${this.describe(t)}${hint}`, t.pos)
    }
    this.requireBool(e, 'the filter')
  }

  // ---------------------------------------------------------------------------- tokenizer

  private tokenize(): Tok[] {
    const s = this.text
    const out: Tok[] = []
    let p = 0
    while (p < s.length) {
      const c = s[p]
      if (/\s/.test(c)) {
        p++
      } else if (c === '(' || c === ')' || c === ',') {
        out.push({ t: 'punct', c, pos: p++ })
      } else if (c === "'") {
        const end = this.stringEnd(p)
        out.push({ t: 'lit', lit: 'string', pos: p, text: s.slice(p, end) })
        p = end
      } else {
        const tok = this.number(p, out) ?? this.word(p)
        if (tok) {
          out.push(tok)
          p = tok.pos + this.tokenLength(tok)
        } else if (c === '-') {
          out.push({ t: 'op', op: '-', pos: p++ })
        } else {
          for (const [re, hint] of MISTAKES) if (re.test(s.slice(p))) this.fail(hint, p)
          this.fail(`unexpected character ${JSON.stringify(c)}`, p)
        }
      }
    }
    out.push({ t: 'end', pos: s.length })
    return out
  }

  /** A number literal at `p`; a `-` is a sign only where an operand is expected. */
  private number(p: number, out: Tok[]): Tok | undefined {
    const s = this.text
    const num = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[mMdDfFlL]?/.exec(s.slice(p))
    if (!num || (s[p] === '-' && !this.expectsOperand(out))) return undefined
    const after = s[p + num[0].length]
    if (after !== undefined && /[A-Za-z_]/.test(after))
      this.fail(`malformed number ${JSON.stringify(s.slice(p, p + num[0].length + 1))}`, p)
    return { t: 'lit', lit: 'number', pos: p, text: num[0] }
  }

  /** A word at `p`: a typed literal (`datetime'…'`), true/false/null, an operator or a field. */
  private word(p: number): Tok | undefined {
    const s = this.text
    const id = /^[A-Za-z_][A-Za-z0-9_/]*/.exec(s.slice(p))
    if (!id) return undefined
    const word = id[0]
    const typed = TYPED_PREFIX[word.toLowerCase()]
    if (typed && s[p + word.length] === "'") return { t: 'lit', lit: typed, pos: p, text: s.slice(p, this.stringEnd(p + word.length)) }
    if (word === 'true' || word === 'false') return { t: 'lit', lit: 'boolean', pos: p, text: word }
    if (word === 'null') return { t: 'lit', lit: 'null', pos: p, text: word }
    if (!KEYWORDS.has(word) && KEYWORDS.has(word.toLowerCase()) && !this.kinds.has(word)) {
      this.fail(`write operators in lower case: '${word.toLowerCase()}' instead of '${word}'`, p)
    }
    if (KEYWORDS.has(word)) return { t: 'op', op: word, pos: p }
    return { t: 'id', name: word, pos: p }
  }

  /** Characters a token takes in the text. */
  private tokenLength(tok: Tok): number {
    switch (tok.t) {
      case 'lit':
        return tok.text.length
      case 'id':
        return tok.name.length
      case 'op':
        return tok.op.length
      default:
        return 1
    }
  }

  /** Index after the closing quote of a literal opening at `start` (`''` is an escaped quote). */
  private stringEnd(start: number): number {
    const s = this.text
    for (let p = start + 1; p < s.length; p++) {
      if (s[p] === "'") {
        if (s[p + 1] === "'") p++
        else return p + 1
      }
    }
    this.fail("unterminated text value: close it with ' (write '' for a quote inside the text)", start)
  }

  private expectsOperand(out: Tok[]): boolean {
    const last = out.at(-1)
    return !last || last.t === 'op' || (last.t === 'punct' && last.c !== ')')
  }

  // ---------------------------------------------------------------------------- parser

  private peek(): Tok {
    return this.toks[this.i]
  }

  private next(): Tok {
    return this.toks[this.i++]
  }

  private isOp(op: string): boolean {
    const t = this.peek()
    return t.t === 'op' && t.op === op
  }

  private orExpr(): Expr {
    let left = this.andExpr()
    while (this.isOp('or')) {
      const op = this.next()
      const right = this.andExpr()
      this.requireBool(left, `the left side of 'or'`)
      this.requireBool(right, `the right side of 'or'`)
      left = { type: 'boolean', pos: op.pos }
    }
    return left
  }

  private andExpr(): Expr {
    let left = this.compareExpr()
    while (this.isOp('and')) {
      const op = this.next()
      const right = this.compareExpr()
      this.requireBool(left, `the left side of 'and'`)
      this.requireBool(right, `the right side of 'and'`)
      left = { type: 'boolean', pos: op.pos }
    }
    return left
  }

  private compareExpr(): Expr {
    const left = this.arithExpr()
    const t = this.peek()
    if (t.t === 'op' && COMPARE.has(t.op)) {
      this.next()
      const right = this.arithExpr()
      this.checkComparison(left, right, t.op)
      return { type: 'boolean', pos: t.pos }
    }
    return left
  }

  private arithExpr(): Expr {
    let left = this.unary()
    for (let t = this.peek(); t.t === 'op' && ARITH.has(t.op); t = this.peek()) {
      this.next()
      this.unary()
      left = { type: 'number', pos: t.pos }
    }
    return left
  }

  private unary(): Expr {
    const t = this.peek()
    if (t.t === 'op' && t.op === 'not') {
      this.next()
      const e = this.unary()
      this.requireBool(e, "the operand of 'not' (write not (FIELD eq 'x'))")
      return { type: 'boolean', pos: t.pos }
    }
    if (t.t === 'op' && t.op === '-') {
      this.next()
      this.unary()
      return { type: 'number', pos: t.pos }
    }
    return this.primary()
  }

  private primary(): Expr {
    const t = this.next()
    switch (t.t) {
      case 'lit':
        return { type: t.lit, pos: t.pos, literal: t.lit }
      case 'punct':
        if (t.c === '(') {
          const e = this.orExpr()
          const close = this.next()
          if (close.t !== 'punct' || close.c !== ')')
            this.fail(`missing ')' for the '(' at column ${t.pos + 1}; found ${this.describe(close)}`, close.pos)
          return { ...e, field: undefined, literal: undefined }
        }
        return this.fail(`expected a field or a value but found ${this.describe(t)}`, t.pos)
      case 'id': {
        const open = this.peek()
        if (open.t === 'punct' && open.c === '(') return this.call(t.name, t.pos)
        return this.fieldRef(t.name, t.pos)
      }
      case 'op':
        return this.fail(`expected a field or a value but found '${t.op}'`, t.pos)
      case 'end':
        return this.fail('the filter ends too early: a comparison is incomplete', t.pos)
    }
  }

  private call(name: string, pos: number): Expr {
    if (!FUNCTIONS.has(name)) {
      const lower = name.toLowerCase()
      this.fail(`unknown function '${name}'${FUNCTIONS.has(lower) ? ` (did you mean '${lower}'?)` : ''}`, pos)
    }
    this.next() // (
    if (!(this.peek().t === 'punct' && (this.peek() as { c: string }).c === ')')) {
      for (;;) {
        this.orExpr()
        const sep = this.next()
        if (sep.t === 'punct' && sep.c === ')') break
        if (!(sep.t === 'punct' && sep.c === ','))
          this.fail(`expected ',' or ')' in the arguments of ${name}() but found ${this.describe(sep)}`, sep.pos)
      }
    } else this.next()
    return { type: BOOL_FUNCTIONS.has(name) ? 'boolean' : 'any', pos }
  }

  private fieldRef(name: string, pos: number): Expr {
    const col = this.kinds.get(name)
    if (!col) {
      const near = [...this.kinds.keys()].find((k) => k.toLowerCase() === name.toLowerCase())
      this.fail(
        `unknown field '${name}'${near ? ` (did you mean '${near}'? field names are case-sensitive)` : ''}; filterable fields of ${this.info.entitySet}: ${this.filterableList()}`,
        pos,
      )
    }
    if (!this.filterable.has(name)) {
      this.fail(
        `field ${name} cannot be filtered in ${this.info.entitySet} (sap:filterable="false"); filterable fields: ${this.filterableList()}`,
        pos,
      )
    }
    return { type: 'field', pos, field: { name, kind: col.kind, edm: col.edm } }
  }

  // ---------------------------------------------------------------------------- checks

  private requireBool(e: Expr, what: string): void {
    if (e.type === 'boolean' || e.type === 'any') return
    if (e.field?.kind === 'boolean') return
    const found = e.field ? `the field ${e.field.name} alone` : e.literal ? `a ${e.literal} value` : 'a value'
    this.fail(`${what} must be a condition such as FIELD eq 'value', but is ${found}`, e.pos)
  }

  private checkComparison(a: Expr, b: Expr, op: string): void {
    const [f, lit] = a.field && b.literal ? [a.field, b] : b.field && a.literal ? [b.field, a] : [undefined, undefined]
    if (!f || !lit || lit.literal === 'null') return
    const L = lit.literal!
    const bad = (hint: string) => this.fail(`${f.name} is ${hint}`, lit.pos)
    switch (f.kind) {
      case 'string':
        if (L !== 'string')
          bad(`text (${f.edm ?? 'Edm.String'}); quote the value, e.g. ${f.name} ${op} '0000004711' (NUMC values keep their leading zeros)`)
        break
      case 'date':
      case 'timestamp':
        if (L !== 'datetime') bad(`a date (${f.edm ?? 'Edm.DateTime'}); compare it with datetime'2025-09-14T00:00:00'`)
        break
      case 'time':
        if (L !== 'time') bad(`a time (Edm.Time); compare it with time'PT13H05M00S'`)
        break
      case 'boolean':
        if (L !== 'boolean') bad('a boolean; compare it with true or false')
        break
      case 'guid':
        if (L !== 'guid') bad(`a GUID; compare it with guid'00000000-0000-0000-0000-000000000000'`)
        break
      case 'binary':
        if (L !== 'binary') bad(`binary; compare it with binary'…' (hex)`)
        break
      default:
        if (L !== 'number') bad(`numeric (${f.edm ?? f.kind}); write the number without quotes, e.g. ${f.name} ${op} 100`)
    }
  }

  private filterableList(): string {
    const names = this.info.filterable
    return names.length === 0 ? '(none)' : names.length > 30 ? `${names.slice(0, 30).join(', ')}, …` : names.join(', ')
  }

  private describe(t: Tok): string {
    switch (t.t) {
      case 'lit':
        return `the value ${t.text}`
      case 'id':
        return `'${t.name}'`
      case 'op':
        return `'${t.op}'`
      case 'punct':
        return `'${t.c}'`
      case 'end':
        return 'the end of the filter'
    }
  }

  private fail(msg: string, pos: number): never {
    const s = this.text
    const from = Math.max(0, pos - 20)
    const snippet = `${from > 0 ? '…' : ''}${s.slice(from, pos)}⟶${s.slice(pos, pos + 20)}${pos + 20 < s.length ? '…' : ''}`
    throw new SourceError('SOURCE_BAD_REQUEST', `$filter: ${msg} (at column ${pos + 1}: ${snippet})`)
  }
}
