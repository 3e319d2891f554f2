/**
 * The key ranges of a partitioned load, searched for: for random key sets (NUMC-like digits and CHAR
 * text, blanks and odd characters included) and partition counts, the planned ranges cover the key
 * space exactly once — every key in exactly one range — in SAP's order, whatever the data's shape.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  compareKeys,
  coverageProblem,
  digitsDomain,
  domainOf,
  inRange,
  planKeyRanges,
  rangesBetween,
  textDomain,
  type KeyRange,
} from '../../src/sap/key-ranges.js'

/** A probe over an in-memory key set, as SAP would answer it. */
const probeOf = (keys: string[]) => async (r: KeyRange) => keys.some((k) => inRange(k, r))

const numc = (length: number) => fc.bigInt({ min: 0n, max: 10n ** BigInt(length) - 1n }).map((n) => n.toString().padStart(length, '0'))
const charKey = fc.string({ minLength: 0, maxLength: 12, unit: fc.constantFrom('A', 'B', 'Z', '0', '9', ' ', '~', 'é', '/', '\u0001') })

describe('key ranges', () => {
  it('cover every key exactly once, for random NUMC and CHAR key sets and partition counts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.array(numc(10), { maxLength: 300 }), fc.array(numc(3), { maxLength: 300 }), fc.array(charKey, { maxLength: 300 })),
        fc.integer({ min: 1, max: 64 }),
        fc.nat(),
        async (keys, parts, pick) => {
          const domain = keys.length ? domainOf(keys[0]) : textDomain()
          const anchor = keys.length ? keys[pick % keys.length] : undefined
          const ranges = await planKeyRanges(domain, parts, probeOf(keys), anchor)
          expect(coverageProblem(ranges)).toBeUndefined()
          expect(ranges.length).toBeLessThanOrEqual(parts)
          for (const k of keys) expect(ranges.filter((r) => inRange(k, r)).length).toBe(1)
        },
      ),
      { numRuns: 150 },
    )
  })

  it('any boundaries cut the space into ranges that hold each key once', () => {
    fc.assert(
      fc.property(fc.array(charKey, { maxLength: 20 }), fc.array(charKey, { maxLength: 200 }), (bounds, keys) => {
        const ranges = rangesBetween(bounds)
        expect(coverageProblem(ranges)).toBeUndefined()
        for (const k of keys) expect(ranges.filter((r) => inRange(k, r)).length).toBe(1)
      }),
    )
  })

  it('splits dense document numbers evenly, with few probes, wherever the numbers lie', async () => {
    for (const first of [1, 4_000_000, 4_000_000_000, 9_999_000_000])
      for (const [parts, bound] of [
        [2, 31],
        [4, 33],
        [16, 37],
        [64, 41],
      ]) {
        const keys = Array.from({ length: 10_000 }, (_, i) => String(first + i).padStart(10, '0'))
        let probes = 1 // the source's first sample, which gives the anchor
        const probe = probeOf(keys)
        const ranges = await planKeyRanges(digitsDomain(10), parts, (r) => (probes++, probe(r)), keys[0])
        expect(probes).toBeLessThanOrEqual(bound)
        const sizes = ranges.map((r) => keys.filter((k) => inRange(k, r)).length)
        expect(sizes).toHaveLength(parts)
        // each within 1/16 of an even share (the search stops at 1/64 of a partition's width)
        for (const n of sizes) expect(Math.abs(n - 10_000 / parts)).toBeLessThanOrEqual(10_000 / parts / 16)
      }
  })

  it('finds the span from an anchor anywhere among the keys', async () => {
    const keys = Array.from({ length: 4_000 }, (_, i) => `K${String(1_000 + i)}`)
    for (const anchor of [keys[0], keys[2_345], keys.at(-1)!]) {
      const ranges = await planKeyRanges(textDomain(), 4, probeOf(keys), anchor)
      const sizes = ranges.map((r) => keys.filter((k) => inRange(k, r)).length)
      expect(sizes.reduce((a, b) => a + b)).toBe(4_000)
      for (const n of sizes) expect(n).toBeGreaterThan(500)
    }
  })

  it('orders as SAP does: trailing blanks do not count, NUMC zeros do', () => {
    expect(compareKeys('A', 'A  ')).toBe(0)
    expect(compareKeys('A', 'A!')).toBeLessThan(0)
    expect(compareKeys('0000000100', '0000000099')).toBeGreaterThan(0)
    expect(coverageProblem([{ to: 'B' }, { from: 'C' }])).toMatch(/ends at B/)
    expect(coverageProblem([{ from: 'A' }])).toMatch(/not open below/)
  })

  it('an empty table is one range', async () => {
    expect(await planKeyRanges(digitsDomain(10), 8, probeOf([]), undefined)).toEqual([{}])
  })
})
