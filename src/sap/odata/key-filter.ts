/**
 * A partition's key range as OData `$filter` (docs/sap-protocols.md §A.7: SAP turns `$filter` into ODP
 * selections), AND-ed with the pipeline's own filter. String comparison on a character key is SAP's
 * binary order, the order the ranges were cut in (src/sap/key-ranges.ts).
 */
import type { FieldKeyRange } from '../key-ranges.js'

const text = (v: string) => `'${v.replaceAll("'", "''")}'`

export function filterWithKeyRange(filter: string | undefined, range: FieldKeyRange | undefined): string | undefined {
  const bounds = [
    range?.from !== undefined ? `${range.field} ge ${text(range.from)}` : undefined,
    range?.to !== undefined ? `${range.field} lt ${text(range.to)}` : undefined,
  ].filter((b) => b !== undefined)
  if (bounds.length === 0) return filter
  const user = filter?.trim() ? [`(${filter.trim()})`] : []
  return [...user, ...bounds].join(' and ')
}
