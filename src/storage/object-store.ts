import { OutboundPolicy } from '../net/outbound-policy.js'
import { DestinationError } from './destination.js'
import { DEFAULT_STORAGE_RETRY, type RetryOptions } from './retry.js'

/** Settings every object-store destination shares, tuned by the service (not per destination). */
export interface ObjectStoreOptions {
  /** Retries of a whole object operation (see retry.ts). */
  retry: RetryOptions
  /** Tries the SDK makes for one HTTP request before giving up to the layer above. */
  sdkTries: number
  /** Longest wait for one HTTP request (one block or part, not a whole file). */
  requestTimeoutMs: number
  /** Which hosts the SDKs may connect to; checked on every new connection. */
  outbound: OutboundPolicy
  /** Told each time a whole object operation is repeated (the service's retry metrics; storage knows nothing of them). */
  onRetry?: () => void
}

export const DEFAULT_OBJECT_STORE_OPTIONS: ObjectStoreOptions = {
  retry: DEFAULT_STORAGE_RETRY,
  sdkTries: 3,
  requestTimeoutMs: 120_000,
  outbound: new OutboundPolicy({ allowLoopback: false, allow: [] }),
}

/** One try only: testDestination must answer quickly, and says why it failed rather than waiting. */
export const PROBE_RETRY: RetryOptions = { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 }

/** Name of the throw-away object probe() writes, reads back and deletes. */
export const probeKey = (id: string) => `.delta-extractor-probe-${id}`

/**
 * The full object name of `key` under a destination's prefix. Keys come from validated path
 * templates and fixed file names; this refuses anything else rather than writing outside the prefix.
 */
export function objectName(prefix: string, key: string): string {
  const segments = key.split('/')
  if (!key || segments.some((s) => s === '' || s === '.' || s === '..') || /[\\\0]/.test(key))
    throw new DestinationError('DESTINATION_NOT_FOUND', `object key "${key}" is not a clean relative path`, false)
  return prefix ? `${prefix}/${key}` : key
}

/** Content type by file name, so browsers and tools show objects sensibly. */
export function contentTypeOf(key: string): string {
  if (key.endsWith('.parquet')) return 'application/vnd.apache.parquet'
  if (key.endsWith('.json')) return 'application/json'
  if (key.endsWith('.avro')) return 'avro/binary'
  return 'text/plain; charset=utf-8'
}

/** Runs `work` over `items`, at most `limit` at a time; the first failure is thrown once all settled. */
export async function forEachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let failure: { e: unknown } | undefined
  const lane = async () => {
    while (next < items.length && !failure) {
      const item = items[next++]
      await work(item).catch((e) => {
        failure ??= { e }
      })
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane))
  if (failure) throw failure.e
}
