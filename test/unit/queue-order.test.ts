import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { mayStart, type RunsAhead, type SlotsInUse } from '../../src/orchestrator/limits/queue-order.js'

const inUse = (byConnection: Record<string, number>): SlotsInUse => ({
  total: Object.values(byConnection).reduce((a, b) => a + b, 0),
  byConnection: new Map(Object.entries(byConnection)),
})
const ahead = (counts: Record<string, [runs: number, limit: number | null]>): RunsAhead =>
  new Map(Object.entries(counts).map(([c, [runs, limit]]) => [c, { runs, limit }]))

describe('mayStart: who takes a free slot', () => {
  it('starts a run under its connection limit when nobody is ahead', () => {
    expect(mayStart('A', 2, ahead({}), inUse({ A: 1 }), null)).toBe(true)
    expect(mayStart('A', 2, ahead({}), inUse({ A: 2 }), null)).toBe(false)
  })

  it('lets the runs ahead in the queue take the free slots first (FIFO)', () => {
    expect(mayStart('A', 2, ahead({ A: [1, 2] }), inUse({ A: 1 }), null)).toBe(false)
    expect(mayStart('A', 3, ahead({ A: [1, 3] }), inUse({ A: 1 }), null)).toBe(true)
    expect(mayStart('B', null, ahead({ A: [2, null] }), inUse({}), 2)).toBe(false)
  })

  it('does not let a run whose connection is full hold back another connection under the global limit', () => {
    // A is full: its two runs ahead take no global slot, so B gets one of the two free.
    expect(mayStart('B', null, ahead({ A: [2, 1] }), inUse({ A: 1 }), 3)).toBe(true)
    // One A run ahead can start (A allows 2, 1 running); with B that makes the 3 the service allows.
    expect(mayStart('B', null, ahead({ A: [2, 2] }), inUse({ A: 1 }), 3)).toBe(true)
    expect(mayStart('B', null, ahead({ A: [2, 2] }), inUse({ A: 1 }), 2)).toBe(false)
  })

  it('counts runs of every connection against the global limit', () => {
    expect(mayStart('B', null, ahead({}), inUse({ A: 2 }), 2)).toBe(false)
    expect(mayStart('B', null, ahead({}), inUse({ A: 1 }), 2)).toBe(true)
  })

  it('starts anything when nothing limits it', () => {
    expect(mayStart('A', null, ahead({ A: [2, null] }), inUse({ A: 50 }), null)).toBe(true)
  })

  it('decides as a dispatcher walking the queue in order would, whatever the order of the runs ahead', () => {
    const connections = ['A', 'B', 'C']
    const limit = fc.option(fc.integer({ min: 1, max: 4 }), { nil: null })
    fc.assert(
      fc.property(
        fc.record({ A: limit, B: limit, C: limit }),
        fc.record({ A: fc.nat(5), B: fc.nat(5), C: fc.nat(5) }),
        fc.array(fc.constantFrom(...connections), { maxLength: 12 }),
        fc.constantFrom(...connections),
        fc.option(fc.integer({ min: 1, max: 8 }), { nil: null }),
        (limits, running, queue, mine, globalLimit) => {
          // The reference: walk the queue ahead in order, giving a slot to each run that fits.
          const byConnection = new Map(Object.entries(running))
          let total = Object.values(running).reduce((a, b) => a + b, 0)
          const fits = (c: string) =>
            total < (globalLimit ?? Number.POSITIVE_INFINITY) && byConnection.get(c)! < (limits[c as 'A'] ?? Number.POSITIVE_INFINITY)
          const before = inUse(running)
          for (const c of queue)
            if (fits(c)) {
              total++
              byConnection.set(c, byConnection.get(c)! + 1)
            }
          const counted = new Map<string, { runs: number; limit: number | null }>()
          for (const c of queue) counted.set(c, { runs: (counted.get(c)?.runs ?? 0) + 1, limit: limits[c as 'A'] })
          expect(mayStart(mine, limits[mine as 'A'], counted, before, globalLimit)).toBe(fits(mine))
        },
      ),
    )
  })
})
