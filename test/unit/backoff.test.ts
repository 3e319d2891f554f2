import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_RETRY } from '../../src/orchestrator/orchestrator.js'
import { backoffDelay, DEFAULT_STORAGE_RETRY } from '../../src/storage/retry.js'
import { backoff, MAX_RETRY_AFTER_MS, retryAfterMs, type BackoffPolicy } from '../../src/util/backoff.js'

const policy = fc
  .record({ baseMs: fc.integer({ min: 0, max: 120_000 }), maxMs: fc.integer({ min: 0, max: 3_600_000 }) })
  .filter((p) => p.baseMs <= p.maxMs)
const jitter = fc
  .tuple(fc.double({ min: 0, max: 2, noNaN: true }), fc.double({ min: 0, max: 2, noNaN: true }))
  .map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const)
const retry = fc.integer({ min: 0, max: 2_000 })
const random = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })

describe('backoff', () => {
  it('without jitter: the base first, doubling, never above the cap', () => {
    fc.assert(
      fc.property(policy, retry, (p, n) => {
        const d = backoff(p, n)
        expect(d).toBe(Math.min(p.maxMs, p.baseMs * 2 ** Math.min(n, 64)))
        expect(d).toBeLessThanOrEqual(p.maxMs)
        expect(backoff(p, n + 1)).toBeGreaterThanOrEqual(d)
        expect(backoff(p, 0)).toBe(p.baseMs)
      }),
    )
  })

  it('once capped, stays at the cap', () => {
    fc.assert(
      fc.property(
        policy.filter((p) => p.baseMs > 0),
        retry,
        (p, n) => {
          if (backoff(p, n) === p.maxMs) expect(backoff(p, n + 1)).toBe(p.maxMs)
        },
      ),
    )
  })

  it('with jitter: the capped step times a factor inside the jitter range', () => {
    fc.assert(
      fc.property(policy, jitter, retry, random, (p, j, n, r) => {
        const step = Math.min(p.maxMs, p.baseMs * 2 ** Math.min(n, 64))
        const d = backoff({ ...p, jitter: j }, n, { random: () => r })
        expect(d).toBeGreaterThanOrEqual(Math.floor(step * j[0]))
        expect(d).toBeLessThanOrEqual(Math.ceil(step * j[1]))
        expect(Number.isInteger(d)).toBe(true)
      }),
    )
  })

  it('takes the Retry-After the server sent instead of the formula', () => {
    fc.assert(
      fc.property(policy, retry, fc.integer({ min: 0, max: MAX_RETRY_AFTER_MS }), (p, n, after) => {
        expect(backoff({ ...p, jitter: [0.5, 1] }, n, { retryAfterMs: after })).toBe(after)
      }),
    )
  })

  it('a negative retry number counts as the first retry', () => {
    const p: BackoffPolicy = { baseMs: 500, maxMs: 30_000 }
    expect(backoff(p, -3)).toBe(500)
  })
})

describe('the policies of the retry loops', () => {
  it('automatic runs: 30 s, then 60 s, doubling to 10 minutes, exactly', () => {
    const p = { baseMs: DEFAULT_RETRY.baseDelayMs, maxMs: DEFAULT_RETRY.maxDelayMs }
    expect([0, 1, 2, 3, 4, 5].map((n) => backoff(p, n))).toEqual([30_000, 60_000, 120_000, 240_000, 480_000, 600_000])
  })

  it('storage operations: doubling from 1 s with ±25 %', () => {
    expect(backoffDelay(1, DEFAULT_STORAGE_RETRY, () => 0.5)).toBe(1_000)
    expect(backoffDelay(2, DEFAULT_STORAGE_RETRY, () => 0)).toBe(1_500)
    expect(backoffDelay(10, DEFAULT_STORAGE_RETRY, () => 0.999_999)).toBe(37_500)
  })
})

describe('retryAfterMs', () => {
  it('reads seconds and HTTP dates, capped, and nothing else', () => {
    expect(retryAfterMs(' 5 ')).toBe(5_000)
    expect(retryAfterMs('')).toBeUndefined()
    expect(retryAfterMs('soon')).toBeUndefined()
    expect(retryAfterMs('99999')).toBe(MAX_RETRY_AFTER_MS)
    expect(retryAfterMs('Thu, 01 Jan 1970 00:00:10 GMT', 4_000)).toBe(6_000)
  })
})
