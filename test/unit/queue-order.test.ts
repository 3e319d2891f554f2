import { describe, expect, it } from 'vitest'
import { type Contender, mayStart, type SlotsInUse } from '../../src/orchestrator/limits/queue-order.js'

const on = (connectionId: string, connectionLimit: number | null = null): Contender => ({ connectionId, connectionLimit })
const inUse = (byConnection: Record<string, number>): SlotsInUse => ({
  total: Object.values(byConnection).reduce((a, b) => a + b, 0),
  byConnection: new Map(Object.entries(byConnection)),
})

describe('mayStart: who takes a free slot', () => {
  it('starts a run under its connection limit when nobody is ahead', () => {
    expect(mayStart(on('A', 2), [], inUse({ A: 1 }), null)).toBe(true)
    expect(mayStart(on('A', 2), [], inUse({ A: 2 }), null)).toBe(false)
  })

  it('lets the runs ahead in the queue take the free slots first (FIFO)', () => {
    expect(mayStart(on('A', 2), [on('A', 2)], inUse({ A: 1 }), null)).toBe(false)
    expect(mayStart(on('A', 3), [on('A', 3)], inUse({ A: 1 }), null)).toBe(true)
    expect(mayStart(on('B'), [on('A'), on('A')], inUse({}), 2)).toBe(false)
  })

  it('does not let a run whose connection is full hold back another connection under the global limit', () => {
    // A is full; the two A runs ahead take no global slot, so B gets one of the two free.
    expect(mayStart(on('B'), [on('A', 1), on('A', 1)], inUse({ A: 1 }), 3)).toBe(true)
    // Only one A run ahead can start (A allows 2, 1 running); with B that makes the 3 the service allows.
    expect(mayStart(on('B'), [on('A', 2), on('A', 2)], inUse({ A: 1 }), 3)).toBe(true)
    expect(mayStart(on('B'), [on('A', 2), on('A', 2)], inUse({ A: 1 }), 2)).toBe(false)
  })

  it('counts runs of every connection against the global limit', () => {
    expect(mayStart(on('B'), [], inUse({ A: 2 }), 2)).toBe(false)
    expect(mayStart(on('B'), [], inUse({ A: 1 }), 2)).toBe(true)
  })

  it('starts anything when nothing limits it', () => {
    expect(mayStart(on('A'), [on('A'), on('A')], inUse({ A: 50 }), null)).toBe(true)
  })
})
