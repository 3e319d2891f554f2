/**
 * RFC_READ_TABLE `OPTIONS`: an open-SQL WHERE clause spread over lines of at most 72 characters
 * (docs/sap-protocols.md §C.1, §C.6). ABAP concatenates the lines, so a line may end only between two
 * tokens, never inside a field name or a literal. A user's WHERE is tokenized, checked against the
 * table's fields and a small grammar before anything is sent (SAP would answer OPTION_NOT_VALID
 * without saying why), and re-emitted with one blank between tokens: classic ABAP wants blanks
 * around parentheses.
 */
import { SourceError } from '../errors.js'
import type { AbapKind } from './values.js'

/** `TEXT` of `RFC_DB_OPT` is CHAR 72 (§C.1). */
const OPTION_LINE_LENGTH = 72

/** A condition as tokens; joined with blanks it is valid open SQL. */
export type Condition = string[]

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'BETWEEN', 'LIKE', 'IN', 'IS', 'NULL', 'ESCAPE', 'EQ', 'NE', 'LT', 'LE', 'GT', 'GE'])
const COMPARE = new Set(['=', '<>', '<', '>', '<=', '>=', 'EQ', 'NE', 'LT', 'LE', 'GT', 'GE'])

type TokenType = 'lit' | 'num' | 'ident' | 'op' | 'punct'
interface Token {
  type: TokenType
  text: string
  at: number
}

function bad(msg: string): SourceError {
  return new SourceError('SOURCE_BAD_REQUEST', `invalid WHERE clause: ${msg}`)
}

function tokenize(src: string): Token[] {
  const out: Token[] = []
  let i = 0
  while (i < src.length) {
    const c = src[i]
    if (/\s/.test(c)) {
      i++
    } else if (c === "'") {
      // ABAP doubles a quote inside a literal: 'O''Brien'.
      let j = i + 1
      for (;;) {
        if (j >= src.length) throw bad(`unterminated literal starting at position ${i + 1}`)
        if (src[j] === "'") {
          if (src[j + 1] === "'") j += 2
          else break
        } else j++
      }
      out.push({ type: 'lit', text: src.slice(i, j + 1), at: i })
      i = j + 1
    } else if (/\d/.test(c) || (c === '-' && /\d/.test(src[i + 1] ?? '') && !isOperand(out[out.length - 1]))) {
      const m = /^-?\d+(?:\.\d+)?/.exec(src.slice(i))!
      out.push({ type: 'num', text: m[0], at: i })
      i += m[0].length
    } else if (/[A-Za-z_/]/.test(c)) {
      const m = /^[A-Za-z_/][A-Za-z0-9_/]*/.exec(src.slice(i))!
      out.push({ type: KEYWORDS.has(m[0].toUpperCase()) ? 'op' : 'ident', text: m[0].toUpperCase(), at: i })
      i += m[0].length
    } else if (c === '(' || c === ')' || c === ',') {
      out.push({ type: 'punct', text: c, at: i })
      i++
    } else {
      const m = /^(<>|<=|>=|=|<|>)/.exec(src.slice(i))
      if (!m) throw bad(`unexpected character ${JSON.stringify(c)} at position ${i + 1}`)
      out.push({ type: 'op', text: m[0], at: i })
      i += m[0].length
    }
  }
  return out
}

function isOperand(t: Token | undefined): boolean {
  return t !== undefined && (t.type === 'lit' || t.type === 'num' || t.type === 'ident' || t.text === ')')
}

/**
 * Recursive descent over: cond := and (OR and)* ; and := not (AND not)* ;
 * not := NOT not | '(' cond ')' | predicate. Predicates: `a op b`, `f [NOT] BETWEEN a AND b`,
 * `f [NOT] LIKE 'x' [ESCAPE 'y']`, `f [NOT] IN ( a, … )`, `f IS [NOT] NULL`.
 */
class Parser {
  private i = 0
  constructor(
    private readonly t: Token[],
    private readonly fields: ReadonlyMap<string, AbapKind>,
  ) {}

  parse(): void {
    if (this.t.length === 0) throw bad('it is empty')
    this.cond()
    if (this.i < this.t.length) throw bad(`unexpected ${this.t[this.i].text} at position ${this.t[this.i].at + 1}`)
  }

  private peek(): Token | undefined {
    return this.t[this.i]
  }

  private take(text?: string): Token {
    const tok = this.t[this.i]
    if (!tok) throw bad(text ? `expected ${text} at the end` : 'it ends too early')
    if (text !== undefined && tok.text !== text) throw bad(`expected ${text} at position ${tok.at + 1}, found ${tok.text}`)
    this.i++
    return tok
  }

  private cond(): void {
    this.and()
    while (this.peek()?.text === 'OR') {
      this.i++
      this.and()
    }
  }

  private and(): void {
    this.not()
    while (this.peek()?.text === 'AND') {
      this.i++
      this.not()
    }
  }

  private not(): void {
    const tok = this.peek()
    if (tok?.text === 'NOT') {
      this.i++
      this.not()
    } else if (tok?.text === '(') {
      this.i++
      this.cond()
      this.take(')')
    } else this.predicate()
  }

  private predicate(): void {
    const left = this.operand()
    const op = this.take()
    if (COMPARE.has(op.text)) {
      const right = this.operand()
      this.checkLiteral(left, right)
      this.checkLiteral(right, left)
      return
    }
    if (left.type !== 'ident') throw bad(`${op.text} needs a field on its left (position ${left.at + 1})`)
    if (op.text === 'IS') {
      if (this.peek()?.text === 'NOT') this.i++
      this.take('NULL')
      return
    }
    let kw = op
    if (kw.text === 'NOT') kw = this.take()
    if (kw.text === 'BETWEEN') {
      this.checkLiteral(left, this.operand())
      this.take('AND')
      this.checkLiteral(left, this.operand())
    } else if (kw.text === 'LIKE') {
      const pattern = this.take()
      if (pattern.type !== 'lit') throw bad(`LIKE needs a quoted pattern (position ${pattern.at + 1})`)
      if (this.peek()?.text === 'ESCAPE') {
        this.i++
        if (this.take().type !== 'lit') throw bad('ESCAPE needs a quoted character')
      }
    } else if (kw.text === 'IN') {
      this.take('(')
      do this.checkLiteral(left, this.operand())
      while (this.peek()?.text === ',' && ++this.i)
      this.take(')')
    } else throw bad(`expected a comparison after ${left.text}, found ${kw.text} at position ${kw.at + 1}`)
  }

  private operand(): Token {
    const tok = this.take()
    if (tok.type === 'lit' || tok.type === 'num') return tok
    if (tok.type === 'ident') {
      if (!this.fields.has(tok.text)) throw bad(`unknown field ${tok.text} at position ${tok.at + 1}`)
      return tok
    }
    throw bad(`expected a field or a value at position ${tok.at + 1}, found ${tok.text}`)
  }

  /** Date literals must be real dates: `'20240231'` fails on SAP with SAPSQL_DATA_LOSS (§C.6). */
  private checkLiteral(field: Token, value: Token): void {
    if (field.type !== 'ident' || value.type !== 'lit') return
    const kind = this.fields.get(field.text)
    const v = value.text.slice(1, -1)
    if (kind === 'date' && v !== '00000000' && !validDats(v)) throw bad(`${value.text} is not a valid date YYYYMMDD for ${field.text}`)
    if (kind === 'time' && !/^(?:[01]\d|2[0-3])[0-5]\d[0-5]\d$|^240000$/.test(v))
      throw bad(`${value.text} is not a valid time HHMMSS for ${field.text}`)
  }
}

function validDats(v: string): boolean {
  if (!/^\d{8}$/.test(v)) return false
  const y = +v.slice(0, 4)
  const m = +v.slice(4, 6)
  const d = +v.slice(6, 8)
  const date = new Date(0)
  date.setUTCFullYear(y, m - 1, d)
  return m >= 1 && m <= 12 && d >= 1 && date.getUTCDate() === d
}

/**
 * Validates a user's WHERE clause against the table's fields (name → kind) and returns it as
 * normalized tokens (field names and keywords upper-case, literals untouched). Throws
 * SOURCE_BAD_REQUEST naming the problem.
 */
export function parseWhere(where: string, fields: ReadonlyMap<string, AbapKind>): Condition {
  const tokens = tokenize(where)
  new Parser(tokens, fields).parse()
  return tokens.map((t) => t.text)
}

/**
 * Syntax check without the table's fields (pipeline validation before any connection exists): any
 * identifier counts as a field. The run validates the field names against SAP's dictionary again.
 */
export function checkWhereSyntax(where: string): void {
  const anyField: ReadonlyMap<string, AbapKind> = Object.assign(new Map<string, AbapKind>(), { has: () => true, get: () => undefined })
  parseWhere(where, anyField)
}

/** An ABAP character literal: single quotes, inner quotes doubled. */
export function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`
}

/** Parenthesized conjunction of the given conditions (empty ones skipped). */
export function and(...conds: Array<Condition | undefined>): Condition {
  const parts = conds.filter((c): c is Condition => c !== undefined && c.length > 0)
  if (parts.length === 0) return []
  if (parts.length === 1) return parts[0]
  return parts.flatMap((c, i) => [...(i > 0 ? ['AND'] : []), '(', ...c, ')'])
}

/** Parenthesized disjunction. */
export function or(...conds: Condition[]): Condition {
  const parts = conds.filter((c) => c.length > 0)
  if (parts.length === 1) return parts[0]
  return parts.flatMap((c, i) => [...(i > 0 ? ['OR'] : []), '(', ...c, ')'])
}

/**
 * Packs tokens into `OPTIONS` lines of at most 72 characters, breaking only between tokens. A single
 * token longer than a line (a literal of 71+ characters) cannot be sent at all: SOURCE_BAD_REQUEST.
 */
export function optionLines(cond: Condition, width = OPTION_LINE_LENGTH): string[] {
  const lines: string[] = []
  let line = ''
  for (const tok of cond) {
    if (tok.length > width) throw bad(`the token ${tok.slice(0, 40)}… is ${tok.length} characters long; an OPTIONS line holds ${width}`)
    if (line === '') line = tok
    else if (line.length + 1 + tok.length <= width) line += ' ' + tok
    else {
      lines.push(line)
      line = tok
    }
  }
  if (line !== '') lines.push(line)
  return lines
}
