import { setTimeout as sleep } from 'node:timers/promises'
import { backoff } from '../util/backoff.js'
import { DestinationError } from './destination.js'

/**
 * How often a whole storage operation (one object upload, one listing…) is repeated after a
 * retryable failure, on top of the SDK's own per-request retries. The SDK repeats single HTTP
 * requests; this layer repeats what the SDK cannot: a multipart upload whose stream broke, a block
 * list whose blocks went missing, a stored object whose checksum came back different.
 */
export interface RetryOptions {
  /** Total tries, first one included. */
  attempts: number
  /** Delay before the second try; doubles each time, with ±25 % jitter. */
  baseDelayMs: number
  maxDelayMs: number
}

export const DEFAULT_STORAGE_RETRY: RetryOptions = { attempts: 4, baseDelayMs: 1_000, maxDelayMs: 30_000 }

/** The backoff before try `attempt + 1` (attempt counts from 1). */
export function backoffDelay(attempt: number, o: RetryOptions, random = Math.random): number {
  return backoff({ baseMs: o.baseDelayMs, maxMs: o.maxDelayMs, jitter: [0.75, 1.25] }, attempt - 1, { random })
}

/**
 * Runs `op` until it succeeds, fails with something not retryable, or runs out of tries. Only
 * DestinationErrors marked retryable are repeated; an abort ends the wait at once and is re-thrown
 * as the signal's reason, so cancellation is never mistaken for a storage fault.
 */
export async function withRetry<T>(
  op: (attempt: number) => Promise<T>,
  options: RetryOptions,
  signal?: AbortSignal,
  onRetry?: (e: DestinationError, attempt: number, delayMs: number) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted()
    try {
      return await op(attempt)
    } catch (e) {
      if (signal?.aborted) throw signal.reason
      if (!(e instanceof DestinationError) || !e.retryable || attempt >= options.attempts) throw e
      const delayMs = backoffDelay(attempt, options)
      onRetry?.(e, attempt, delayMs)
      await sleep(delayMs, undefined, { signal }).catch(() => {
        throw signal!.reason
      })
    }
  }
}
