/** Column groups for rows wider than RFC_READ_TABLE's 512 characters (docs/sap-protocols.md §C.2, §C.5). */
import { describe, expect, it } from 'vitest'
import { SourceError } from '../../../src/sap/errors.js'
import { planColumnGroups, WA_WIDTH } from '../../../src/sap/rfc/column-groups.js'

const f = (name: string, width: number) => ({ name, width })

describe('planColumnGroups', () => {
  it('a narrow table is one group', () => {
    expect(planColumnGroups([f('MANDT', 3), f('VBELN', 10), f('NETWR', 15)], ['MANDT', 'VBELN'])).toEqual([['MANDT', 'VBELN', 'NETWR']])
  })

  it('a wide table is split into groups that each carry the full key and fit 512 characters', () => {
    const fields = [f('MANDT', 3), f('MATNR', 18), ...Array.from({ length: 12 }, (_, i) => f(`TXT${i}`, 132)), f('LAST', 1)]
    const groups = planColumnGroups(fields, ['MANDT', 'MATNR'])
    const width = new Map(fields.map((x) => [x.name, x.width]))
    for (const g of groups) {
      expect(g.slice(0, 2)).toEqual(['MANDT', 'MATNR'])
      expect(g.reduce((n, name) => n + width.get(name)!, 0)).toBeLessThanOrEqual(WA_WIDTH)
    }
    // every non-key field exactly once, in table order
    expect(groups.flatMap((g) => g.slice(2))).toEqual(fields.slice(2).map((x) => x.name))
    expect(groups).toHaveLength(4) // 21 + 3×132 = 417 per group; 12 texts → 4 groups, LAST fits the last
  })

  it('splits at exactly 512 characters (§C.2 step 4: the cursor may reach 512, not pass it)', () => {
    expect(planColumnGroups([f('K', 4), f('A', 254), f('B', 254)], ['K'])).toEqual([['K', 'A', 'B']])
    expect(planColumnGroups([f('K', 5), f('A', 254), f('B', 254)], ['K'])).toEqual([
      ['K', 'A'],
      ['K', 'B'],
    ])
  })

  it('refuses what cannot fit at all', () => {
    expect(() => planColumnGroups([f('K', 513)], ['K'])).toThrow(SourceError)
    expect(() => planColumnGroups([f('K', 10), f('HUGE', 600)], ['K'])).toThrow(/HUGE is 600 characters wide/)
  })
})
