/**
 * ODP selections and projections (RODPS_REPL_ODP_OPEN's IT_SELECTIONS / IT_PROJECTION, B.1): ABAP ranges
 * (FIELDNAME, SIGN I/E, OPTION, LOW, HIGH) on fields whose SEL_* flags allow the option. A range set
 * holds for a record when, per field, some I line matches (or there is none) and no E line matches —
 * the semantics of ABAP `IN seltab`. The canonical form decides "Illegal change in selection parameters"
 * (B.5): it ignores line order and case of the option, but not values.
 */
import { compareDecimal } from '../../model/abapValues.js'
import type { SapRow } from '../../types.js'
import type { DdicField } from '../ddic/ddic.js'
import { intType } from '../ddic/ddic.js'
import { convertLiteral } from '../readTable/whereCompile.js'

export interface SelectionLine {
  FIELDNAME: string
  SIGN: string
  OPTION: string
  LOW: string
  HIGH: string
}

export interface Selection {
  lines: SelectionLine[]
  canonical: string
  matches(row: SapRow): boolean
}

/** A user error in a selection or projection, reported in ET_RETURN. */
export class SelectionError extends Error {
  constructor(
    readonly number: string,
    message: string,
    readonly vars: string[],
  ) {
    super(message)
  }
}

const OPTIONS: Record<string, 'equal' | 'between' | 'pattern'> = {
  EQ: 'equal',
  NE: 'equal',
  BT: 'between',
  NB: 'between',
  GE: 'between',
  GT: 'between',
  LE: 'between',
  LT: 'between',
  CP: 'pattern',
  NP: 'pattern',
}

function numeric(f: DdicField): boolean {
  return intType(f) === 'P' || intType(f) === 'I'
}

function cmp(f: DdicField, a: string, b: string): number {
  if (numeric(f)) return compareDecimal(a, b)
  return a < b ? -1 : a > b ? 1 : 0
}

/** ABAP CP pattern: '*' any string, '+' one character, '#' escapes. */
function patternRegex(p: string): RegExp {
  let re = ''
  for (let i = 0; i < p.length; i++) {
    const c = p[i]
    if (c === '#' && i + 1 < p.length) re += p[++i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    else if (c === '*') re += '[\\s\\S]*'
    else if (c === '+') re += '[\\s\\S]'
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`, 'u')
}

function lineTest(f: DdicField, option: string, low: string, high: string): (value: string) => boolean {
  switch (option) {
    case 'EQ':
      return (v) => cmp(f, v, low) === 0
    case 'NE':
      return (v) => cmp(f, v, low) !== 0
    case 'BT':
      return (v) => cmp(f, v, low) >= 0 && cmp(f, v, high) <= 0
    case 'NB':
      return (v) => cmp(f, v, low) < 0 || cmp(f, v, high) > 0
    case 'GE':
      return (v) => cmp(f, v, low) >= 0
    case 'GT':
      return (v) => cmp(f, v, low) > 0
    case 'LE':
      return (v) => cmp(f, v, low) <= 0
    case 'LT':
      return (v) => cmp(f, v, low) < 0
    case 'CP': {
      const re = patternRegex(low)
      return (v) => re.test(v)
    }
    default: {
      const re = patternRegex(low)
      return (v) => !re.test(v)
    }
  }
}

function convert(f: DdicField, text: string): string {
  try {
    return convertLiteral(f, text)
  } catch {
    throw new SelectionError('012', `Value ${text} is not valid for field ${f.name}`, [text, f.name])
  }
}

export function parseSelection(odpName: string, fields: readonly DdicField[], raw: ReadonlyArray<Record<string, unknown>>): Selection {
  const lines: SelectionLine[] = raw.map((r) => ({
    FIELDNAME: String(r.FIELDNAME ?? ''),
    SIGN: String(r.SIGN ?? '').toUpperCase(),
    OPTION: String(r.OPTION ?? '').toUpperCase(),
    LOW: String(r.LOW ?? ''),
    HIGH: String(r.HIGH ?? ''),
  }))
  const byField = new Map<string, { include: Array<(v: string) => boolean>; exclude: Array<(v: string) => boolean> }>()
  const canonical: string[] = []
  for (const line of lines) {
    const f = fields.find((x) => x.name === line.FIELDNAME)
    if (!f) throw new SelectionError('010', `Field ${line.FIELDNAME} does not exist in ${odpName}`, [line.FIELDNAME, odpName])
    const cap = OPTIONS[line.OPTION]
    if ((line.SIGN !== 'I' && line.SIGN !== 'E') || cap === undefined) {
      throw new SelectionError('013', `Invalid selection for field ${f.name}: sign ${line.SIGN}, option ${line.OPTION}`, [
        f.name,
        line.SIGN,
        line.OPTION,
      ])
    }
    if (!f.sel?.[cap])
      throw new SelectionError('011', `Field ${f.name} cannot be used in selections with option ${line.OPTION}`, [f.name, line.OPTION])
    const low = cap === 'pattern' ? line.LOW.replace(/ +$/, '') : convert(f, line.LOW)
    const high = line.OPTION === 'BT' || line.OPTION === 'NB' ? convert(f, line.HIGH) : ''
    const entry = byField.get(f.name) ?? { include: [], exclude: [] }
    ;(line.SIGN === 'I' ? entry.include : entry.exclude).push(lineTest(f, line.OPTION, low, high))
    byField.set(f.name, entry)
    canonical.push(JSON.stringify([f.name, line.SIGN, line.OPTION, low, high]))
  }
  const tests = [...byField.entries()]
  return {
    lines,
    canonical: canonical.sort().join('\n'),
    matches: (row) =>
      tests.every(([name, t]) => {
        const v = String(row[name] ?? '').replace(/ +$/, '')
        return (t.include.length === 0 || t.include.some((x) => x(v))) && !t.exclude.some((x) => x(v))
      }),
  }
}

/** The delivered fields: the projected ones plus every key field, in ET_FIELDS order [INFERRED]. */
export function parseProjection(odpName: string, fields: readonly DdicField[], raw: ReadonlyArray<Record<string, unknown>>): DdicField[] {
  if (raw.length === 0) return [...fields]
  const names = new Set(raw.map((r) => String(r.FIELDNAME ?? '')))
  for (const n of names) {
    if (!fields.some((f) => f.name === n)) throw new SelectionError('010', `Field ${n} does not exist in ${odpName}`, [n, odpName])
  }
  return fields.filter((f) => f.key || names.has(f.name))
}
