/**
 * Splitting a table's fields into RFC_READ_TABLE calls whose rows fit `DATA-WA` (CHAR 512). The
 * classic module lays the requested fields side by side in DDIC `LENG` characters each and raises
 * DATA_BUFFER_EXCEEDED past 512 (docs/sap-protocols.md §C.2 step 4). The workaround (§C.5): several column
 * groups, each carrying the full primary key, joined on the key client-side.
 */
import { SourceError } from '../errors.js'

/** `DATA-WA` is `TAB512-WA`, CHAR 512 (§C.1). */
export const WA_WIDTH = 512

export interface WidthField {
  name: string
  /** Characters the field takes in WA: its DDIC LENG (§C.2), not its output length. */
  width: number
}

/**
 * Groups of field names (table order inside each group, keys first) such that each group's widths,
 * plus `delimiterWidth` between neighbours, fit `limit`. Greedy in table order: deterministic,
 * and for typical tables within one group of optimal.
 *
 * @param fields every field to read, in table order (keys included)
 * @param keys the primary key, repeated in every group so the groups can be joined
 */
export function planColumnGroups(fields: readonly WidthField[], keys: readonly string[], limit = WA_WIDTH, delimiterWidth = 0): string[][] {
  const byName = new Map(fields.map((f) => [f.name, f]))
  const keyFields = keys.map((k) => {
    const f = byName.get(k)
    if (!f) throw new SourceError('SOURCE_PROTOCOL', `key field ${k} is not among the table's fields`)
    return f
  })
  const width = (fs: readonly WidthField[]) => fs.reduce((n, f) => n + f.width, 0) + Math.max(0, fs.length - 1) * delimiterWidth
  const keyWidth = width(keyFields)
  if (keyWidth > limit) {
    throw new SourceError(
      'SOURCE_BAD_REQUEST',
      `the primary key (${keys.join(', ')}) is ${keyWidth} characters wide; RFC_READ_TABLE rows hold ${limit}, so this table cannot be read in column groups`,
    )
  }
  const keySet = new Set(keys)
  const rest = fields.filter((f) => !keySet.has(f.name))
  const groups: string[][] = []
  let current: WidthField[] = []
  for (const f of rest) {
    if (width([...keyFields, f]) > limit) {
      throw new SourceError(
        'SOURCE_BAD_REQUEST',
        `field ${f.name} is ${f.width} characters wide; with the key (${keyWidth}) it exceeds the ${limit} characters of an RFC_READ_TABLE row; leave it out of the field list`,
      )
    }
    if (width([...keyFields, ...current, f]) > limit) {
      groups.push([...keys, ...current.map((c) => c.name)])
      current = []
    }
    current.push(f)
  }
  if (current.length > 0 || groups.length === 0) groups.push([...keys, ...current.map((c) => c.name)])
  return groups
}
