/** Output of the listing commands: aligned tables for people, JSON (--json) for scripts. */
import { printable } from '../util/control-chars.js'

/** The widest a column gets in a table; longer values are cut with an ellipsis (--json has them whole). */
const MAX_WIDTH = 40

/**
 * Prints rows as an aligned table with a header. Values are made printable (a name holding
 * control characters must not move the cursor of the terminal reading it).
 */
export function printTable(columns: readonly string[], rows: ReadonlyArray<readonly unknown[]>, empty: string): void {
  if (!rows.length) {
    console.log(empty)
    return
  }
  const cells = rows.map((r) => r.map(cellText))
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)))
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  console.log(line(columns.map((c) => c.toUpperCase())))
  for (const r of cells) console.log(line(r))
}

function cellText(v: unknown): string {
  const text = v == null ? '-' : v instanceof Date ? v.toISOString().replace(/\.\d{3}Z$/, 'Z') : String(v)
  const shown = printable(text)
  return shown.length > MAX_WIDTH ? `${shown.slice(0, MAX_WIDTH - 1)}…` : shown
}

/** JSON on stdout, as the GraphQL API answers: camelCase fields, counts (BigInt) as strings of digits. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? String(v) : v), 2))
}
