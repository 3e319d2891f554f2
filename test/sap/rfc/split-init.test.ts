/**
 * The search for a table's highest watermark (split-init.ts) against stamps held in memory: the
 * probe answers as RFC_READ_TABLE would ("a row with a stamp in [from, before)?"), so the result can be
 * held against the true maximum — a lower bound within the precision, never above it.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { highestWatermark, joinInitEnds, initStart, searchPrecision } from '../../../src/sap/rfc/split-init.js'
import { watermarkSteps, type Watermark } from '../../../src/sap/rfc/watermark.js'
import type { RfcField } from '../../../src/sap/rfc/values.js'

const field = (name: string, kind: RfcField['kind'], length: number, decimals = 0) =>
  ({ name, kind, length, decimals, sourceType: kind === 'packed' ? 'DEC' : 'DATS' }) as RfcField
const STAMP: Watermark = { name: 'CHANGED_AT', kind: 'timestamp', fields: [field('CHANGED_AT', 'packed', 15)] }
const DATE: Watermark = { name: 'AEDAT', kind: 'date', fields: [field('AEDAT', 'date', 8)] }
const NOW = new Date('2026-12-05T21:00:00Z')

const stampOf = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14)
const secondsOf = (s: string) =>
  Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(8, 10), +s.slice(10, 12), +s.slice(12, 14)) / 1000

/** A probe over `stamps`, counting its calls. */
function probeOver(stamps: string[]) {
  const probe = async (from: string, before: string) => {
    probe.calls++
    return stamps.some((s) => s >= from && s < before)
  }
  probe.calls = 0
  return probe
}

describe('highestWatermark', () => {
  it('timestamps: at most the true maximum, within 1/16 of the overlap of it; placeholders beyond now + 1 day are not a maximum', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 5 * 365 * 86_400 }), { minLength: 1, maxLength: 20 }),
        fc.boolean(),
        async (ago, placeholder) => {
          const stamps = ago.map((s) => stampOf(NOW.getTime() - s * 1000))
          const probe = probeOver(placeholder ? [...stamps, '99991231235959'] : stamps)
          const found = await highestWatermark(watermarkSteps(STAMP, NOW), searchPrecision(STAMP, 3_600), probe)
          const max = stamps.sort().at(-1)!
          expect(found! <= max).toBe(true)
          expect(secondsOf(max) - secondsOf(found!)).toBeLessThanOrEqual(225)
          const d = Math.max(1, secondsOf(stampOf(NOW.getTime())) - secondsOf(max))
          // doubling to the maximum, halving down to 225 s (about the bound sap-protocols.md §C.7 gives), or the day above now searched when the maximum is that recent
          expect(probe.calls).toBeLessThanOrEqual(Math.max(11, 4 + Math.log2(d) + Math.max(0, Math.log2(d / 225))))
        },
      ),
    )
  })

  it('dates: the exact maximum, in a dozen probes for a month-old change; none: undefined', async () => {
    const probe = probeOver(['20251103', '20261105', '20240101'])
    expect(await highestWatermark(watermarkSteps(DATE, NOW), searchPrecision(DATE, 86_400), probe)).toBe('20261105')
    expect(probe.calls).toBeLessThanOrEqual(13)
    expect(await highestWatermark(watermarkSteps(DATE, NOW), 1, probeOver([]))).toBeUndefined()
    expect(await highestWatermark(watermarkSteps(DATE, NOW), 1, probeOver(['99991231']))).toBeUndefined()
  })

  it("the join takes the start and every partition's fingerprints, and refuses an end from another start", () => {
    const start = initStart('ZSD_ITEMS', STAMP, 3_600, '20261205200000')
    const end = (watermark: string, seen: string[]) => ({ position: JSON.stringify({ ...start, watermark, seen }) })
    const joined = joinInitEnds(start, STAMP, [end('20261205200000', ['b', 'a']), end('20261205200000', ['c', 'a'])])
    expect(JSON.parse(joined.position!)).toEqual({ ...start, seen: ['a', 'b', 'c'] })
    expect(joined.token).toBe('20261205200000')
    expect(() => joinInitEnds(start, STAMP, [end('20261205210000', [])])).toThrow(/not at the run's start/)
    expect(() => joinInitEnds(start, STAMP, [{}])).toThrow(/without a position/)
  })
})
