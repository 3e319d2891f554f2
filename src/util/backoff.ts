/**
 * The one retry delay of the service: doubling from a base, capped, spread by jitter where many
 * clients may retry at once, and replaced by the server's own Retry-After when it sent one. Every
 * retry loop (SAP over HTTP, RFC calls, storage operations, automatic runs) takes its delay here,
 * each with its own policy.
 */

export interface BackoffPolicy {
  /** The delay before the first retry. */
  baseMs: number
  /** The doubling stops here. */
  maxMs: number
  /**
   * The delay is the step times a random factor in [min, max): `[0.5, 1]` spreads retries of many
   * clients that failed together. Without it the delay is exact (for delays people are told).
   */
  jitter?: readonly [min: number, max: number]
}

export interface BackoffOptions {
  /** What the server asked for (Retry-After, see {@link retryAfterMs}): it wins over the policy. */
  retryAfterMs?: number
  /** For tests: stands in for Math.random. */
  random?: () => number
}

/** Retry-After values above this are taken as this: a server cannot park a run for an hour. */
export const MAX_RETRY_AFTER_MS = 300_000

/** The delay before retry number `retry` (0 = the first retry). */
export function backoff(policy: BackoffPolicy, retry: number, opts: BackoffOptions = {}): number {
  if (opts.retryAfterMs !== undefined) return opts.retryAfterMs
  // The exponent is bounded so that a base of 0 stays 0 (0 × 2^1024 would be NaN).
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(0, retry), 64))
  if (!policy.jitter) return step
  const [min, max] = policy.jitter
  return Math.round(step * (min + (opts.random ?? Math.random)() * (max - min)))
}

/** `Retry-After` as seconds or an HTTP date, in ms (capped); undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined
  const v = value.trim()
  let ms: number
  if (/^\d+$/.test(v)) ms = Number(v) * 1000
  else {
    const at = Date.parse(v)
    if (Number.isNaN(at)) return undefined
    ms = Math.max(0, at - now)
  }
  return Math.min(ms, MAX_RETRY_AFTER_MS)
}
