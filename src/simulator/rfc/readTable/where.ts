/**
 * Parser for RFC_READ_TABLE's OPTIONS: the dynamic WHERE clause `SELECT … WHERE (OPTIONS)` (C.2 step 5,
 * C.6). Each OPTIONS line is a CHAR 72 line; ABAP reads the lines in order, and a token or a literal can
 * not continue on the next line, so a line boundary separates tokens and a literal left open at the end
 * of a line is a syntax error (C.6 "never split inside a token or a literal", C.8 "straddling tokens →
 * OPTION_NOT_VALID"). Any syntax error surfaces as the module's exception OPTION_NOT_VALID (C.2 step 6).
 *
 * Supported Open SQL: comparisons (= EQ <> NE >< < LT <= =< LE > GT >= => GE), [NOT] BETWEEN … AND …,
 * [NOT] LIKE … [ESCAPE …], [NOT] IN ( … ), IS [NOT] NULL, AND, OR, NOT, parentheses. Keywords and field
 * names are case-insensitive; literals in single quotes ('' escapes a quote) or unquoted numbers.
 * [INFERRED] Classic ABAP wants blanks around operators and inside parentheses; we also accept them
 * without, which is what newer releases do.
 */

export type Operand = { kind: 'lit'; text: string } | { kind: 'num'; text: string } | { kind: 'field'; name: string }

export type CmpOp = '=' | '<>' | '<' | '<=' | '>' | '>='

export type Cond =
  | { kind: 'and' | 'or'; items: Cond[] }
  | { kind: 'not'; item: Cond }
  | { kind: 'cmp'; field: string; op: CmpOp; value: Operand }
  | { kind: 'between'; field: string; lo: Operand; hi: Operand; not: boolean }
  | { kind: 'like'; field: string; pattern: Operand; escape?: string; not: boolean }
  | { kind: 'in'; field: string; values: Operand[]; not: boolean }
  | { kind: 'null'; field: string; not: boolean }

/** Thrown for any syntax error; RFC_READ_TABLE turns it into OPTION_NOT_VALID. */
export class WhereSyntaxError extends Error {}

interface Tok {
  k: 'word' | 'lit' | 'num' | 'op' | 'lp' | 'rp' | 'comma'
  v: string
}

const OPS: Record<string, CmpOp> = {
  '=': '=',
  EQ: '=',
  '<>': '<>',
  '><': '<>',
  NE: '<>',
  '<': '<',
  LT: '<',
  '<=': '<=',
  '=<': '<=',
  LE: '<=',
  '>': '>',
  GT: '>',
  '>=': '>=',
  '=>': '>=',
  GE: '>=',
}

function tokenizeLine(line: string, out: Tok[]): void {
  let i = 0
  while (i < line.length) {
    const c = line[i]
    if (c === ' ' || c === '\t') {
      i++
    } else if (c === "'") {
      let text = ''
      let j = i + 1
      for (;;) {
        if (j >= line.length) throw new WhereSyntaxError('literal not closed at the end of an OPTIONS line')
        if (line[j] === "'") {
          if (line[j + 1] === "'") {
            text += "'"
            j += 2
            continue
          }
          break
        }
        text += line[j++]
      }
      out.push({ k: 'lit', v: text })
      i = j + 1
    } else if (c === '(' || c === ')' || c === ',') {
      out.push({ k: c === '(' ? 'lp' : c === ')' ? 'rp' : 'comma', v: c })
      i++
    } else if ('<>='.includes(c)) {
      const two = line.slice(i, i + 2)
      const op = two in OPS ? two : c
      out.push({ k: 'op', v: op })
      i += op.length
    } else {
      const num = /^[+-]?\d+(?:\.\d+)?/.exec(line.slice(i))
      const word = /^[A-Za-z_/][A-Za-z0-9_/~]*/.exec(line.slice(i))
      if (num) {
        out.push({ k: 'num', v: num[0] })
        i += num[0].length
      } else if (word) {
        out.push({ k: 'word', v: word[0].toUpperCase() })
        i += word[0].length
      } else {
        throw new WhereSyntaxError(`unexpected character ${JSON.stringify(c)}`)
      }
    }
  }
}

class Parser {
  private i = 0
  constructor(private readonly toks: Tok[]) {}

  parse(): Cond | undefined {
    if (this.toks.length === 0) return undefined
    const cond = this.or()
    if (this.i < this.toks.length) throw new WhereSyntaxError(`unexpected ${this.toks[this.i].v}`)
    return cond
  }

  private peek(offset = 0): Tok | undefined {
    return this.toks[this.i + offset]
  }

  private isWord(v: string, offset = 0): boolean {
    const t = this.peek(offset)
    return t !== undefined && t.k === 'word' && t.v === v
  }

  private next(): Tok {
    const t = this.toks[this.i++]
    if (!t) throw new WhereSyntaxError('condition ends too early')
    return t
  }

  private expectWord(v: string): void {
    if (!this.isWord(v)) throw new WhereSyntaxError(`${v} expected`)
    this.i++
  }

  private or(): Cond {
    const items = [this.and()]
    while (this.isWord('OR')) {
      this.i++
      items.push(this.and())
    }
    return items.length === 1 ? items[0] : { kind: 'or', items }
  }

  private and(): Cond {
    const items = [this.not()]
    while (this.isWord('AND')) {
      this.i++
      items.push(this.not())
    }
    return items.length === 1 ? items[0] : { kind: 'and', items }
  }

  private not(): Cond {
    if (this.isWord('NOT')) {
      this.i++
      return { kind: 'not', item: this.not() }
    }
    if (this.peek()?.k === 'lp') {
      this.i++
      const inner = this.or()
      if (this.next().k !== 'rp') throw new WhereSyntaxError(') expected')
      return inner
    }
    return this.predicate()
  }

  private operand(): Operand {
    const t = this.next()
    if (t.k === 'lit') return { kind: 'lit', text: t.v }
    if (t.k === 'num') return { kind: 'num', text: t.v }
    if (t.k === 'word' && !RESERVED.has(t.v)) return { kind: 'field', name: t.v }
    throw new WhereSyntaxError(`operand expected, got ${t.v}`)
  }

  private predicate(): Cond {
    const f = this.next()
    if (f.k !== 'word' || RESERVED.has(f.v)) throw new WhereSyntaxError(`field name expected, got ${f.v}`)
    const field = f.v
    const t = this.next()
    if (t.k === 'op' || (t.k === 'word' && t.v in OPS)) {
      const op = OPS[t.v]
      if (!op) throw new WhereSyntaxError(`unknown operator ${t.v}`)
      return { kind: 'cmp', field, op, value: this.operand() }
    }
    if (t.k !== 'word') throw new WhereSyntaxError(`operator expected after ${field}`)
    if (t.v === 'IS') {
      const not = this.isWord('NOT')
      if (not) this.i++
      this.expectWord('NULL')
      return { kind: 'null', field, not }
    }
    const not = t.v === 'NOT'
    const kw = not ? this.next().v : t.v
    if (kw === 'BETWEEN') {
      const lo = this.operand()
      this.expectWord('AND')
      return { kind: 'between', field, lo, hi: this.operand(), not }
    }
    if (kw === 'LIKE') {
      const pattern = this.operand()
      if (this.isWord('ESCAPE')) {
        this.i++
        const e = this.next()
        if (e.k !== 'lit' || e.v.length !== 1) throw new WhereSyntaxError('ESCAPE needs a one-character literal')
        return { kind: 'like', field, pattern, escape: e.v, not }
      }
      return { kind: 'like', field, pattern, not }
    }
    if (kw === 'IN') {
      if (this.next().k !== 'lp') throw new WhereSyntaxError('( expected after IN')
      const values = [this.operand()]
      while (this.peek()?.k === 'comma') {
        this.i++
        values.push(this.operand())
      }
      if (this.next().k !== 'rp') throw new WhereSyntaxError(') expected')
      return { kind: 'in', field, values, not }
    }
    throw new WhereSyntaxError(`unknown operator ${kw}`)
  }
}

const RESERVED = new Set([
  'AND',
  'OR',
  'NOT',
  'BETWEEN',
  'LIKE',
  'IN',
  'IS',
  'NULL',
  'ESCAPE',
  ...Object.keys(OPS).filter((k) => /^[A-Z]+$/.test(k)),
])

/** The condition of the OPTIONS lines; undefined when they are empty (no WHERE = every row). */
export function parseOptions(lines: readonly string[]): Cond | undefined {
  const toks: Tok[] = []
  for (const line of lines) tokenizeLine(line, toks)
  return new Parser(toks).parse()
}
