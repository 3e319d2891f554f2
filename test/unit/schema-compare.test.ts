/**
 * What counts as a compatible schema change (src/orchestrator/schema/compare.ts, docs/architecture.md#schema-changes):
 * Iceberg's promotions are allowed under ALLOW_ADDITIVE, everything else is refused, and BLOCK refuses any change.
 */
import { describe, expect, it } from 'vitest'
import { compareSchemas, describeDiff, judge } from '../../src/orchestrator/schema/compare.js'
import type { TrackedColumn } from '../../src/orchestrator/schema/describe.js'

const col = (name: string, kind: string, more: Partial<TrackedColumn> = {}): TrackedColumn => ({
  name,
  kind,
  nullable: true,
  key: false,
  ...more,
})
const BASE = [
  col('VBELN', 'string', { key: true, nullable: false }),
  col('NETWR', 'decimal', { precision: 15, scale: 2 }),
  col('MENGE', 'int16'),
]

const verdict = (now: TrackedColumn[], policy: 'ALLOW_ADDITIVE' | 'BLOCK' = 'ALLOW_ADDITIVE') =>
  judge(compareSchemas(BASE, now), policy).allowed

describe('schema comparison', () => {
  it('sees no change in the same columns, whatever their order', () => {
    expect(compareSchemas(BASE, [...BASE].reverse())).toEqual({ added: [], removed: [], changed: [] })
    expect(verdict([...BASE].reverse(), 'BLOCK')).toBe(true)
  })

  it('allows added columns and Iceberg promotions under ALLOW_ADDITIVE, and refuses them under BLOCK', () => {
    const wider = [BASE[0], col('NETWR', 'decimal', { precision: 17, scale: 2 }), col('MENGE', 'int64'), col('ZZNEW', 'string')]
    expect(verdict(wider)).toBe(true)
    expect(verdict(wider, 'BLOCK')).toBe(false)
    const required = [BASE[0], BASE[1], col('MENGE', 'int16', { nullable: false })]
    expect(verdict(required)).toBe(false)
    expect(verdict([BASE[0], BASE[1], col('MENGE', 'int16', { key: true })])).toBe(false)
    expect(describeDiff(compareSchemas(BASE, wider))).toBe(
      'added ZZNEW (string nullable); NETWR changed from decimal(15,2) nullable to decimal(17,2) nullable; MENGE changed from int16 nullable to int64 nullable',
    )
  })

  it.each([
    ['a removed column', [BASE[0], BASE[1]]],
    ['a narrower decimal', [BASE[0], col('NETWR', 'decimal', { precision: 13, scale: 2 }), BASE[2]]],
    ['another decimal scale', [BASE[0], col('NETWR', 'decimal', { precision: 17, scale: 3 }), BASE[2]]],
    ['a narrower integer', [BASE[0], BASE[1], col('MENGE', 'int8')]],
    ['another kind', [BASE[0], BASE[1], col('MENGE', 'string')]],
  ])('refuses %s under ALLOW_ADDITIVE', (_, now) => {
    expect(verdict(now)).toBe(false)
  })
})
