import { afterEach, describe, expect, it, vi } from 'vitest'
import { stopWithin } from '../../src/cli/service-process.js'
import { silentLogger as log } from '../../src/util/logger.js'

describe('stopWithin (SIGTERM is bounded)', () => {
  afterEach(() => vi.useRealTimers())

  it('exits with 1 once the grace and its margin have passed, when the stop never ends', async () => {
    vi.useFakeTimers()
    const exits: number[] = []
    let graceSeen: number | undefined
    const stopping = stopWithin(
      ({ graceMs }) => ((graceSeen = graceMs), new Promise<void>(() => {})),
      { graceMs: 5_000 },
      log,
      (code) => exits.push(code),
    )
    await vi.advanceTimersByTimeAsync(14_999)
    expect(exits).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    await stopping
    expect(exits).toEqual([1])
    expect(graceSeen).toBe(5_000) // the app gets the whole grace for its runs
  })

  it('returns without exiting when the stop ends in time, however close to the limit', async () => {
    vi.useFakeTimers()
    const exits: number[] = []
    const stopping = stopWithin(
      () => new Promise<void>((resolve) => setTimeout(resolve, 10_999)),
      { graceMs: 1_000 },
      log,
      (code) => exits.push(code),
    )
    await vi.advanceTimersByTimeAsync(10_999)
    await stopping
    await vi.advanceTimersByTimeAsync(60_000) // and no timer is left behind to exit later
    expect(exits).toEqual([])
  })
})
