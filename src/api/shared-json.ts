import type { ExecutionResult } from 'graphql'

/**
 * The result of one execution that several waiting requests share (execution-queue.ts), serialized
 * to JSON once instead of once per request: Yoga's result processor calls a result's own
 * `stringify` when it has one (graphql-yoga's ExecutionResult type). Under 50 clients asking the same
 * `runs(first: 50)`, serializing the ~9 KB answer for each of them was the largest single item of a
 * request's CPU, all of it spent in the one turn in which the shared answer reaches every waiter
 * (README Performance).
 *
 * Only requests that share the execution can see this result object, and they share it only
 * because their key (document, operation, variables and token) is the same: the JSON never crosses
 * tokens. Not enumerable, so a copy a plugin makes of the result (`{ ...result, errors }`, Yoga's own
 * removal of internal error extensions) does not carry it; and a value other than this very result
 * is serialized on its own.
 */
export function serializedOnce<T>(result: T): T {
  if (!isPlainResult(result)) return result
  let json: string | undefined
  Object.defineProperty(result, 'stringify', {
    enumerable: false,
    value: (value: unknown) => (value === result ? (json ??= JSON.stringify(result)) : JSON.stringify(value)),
  })
  return result
}

/** An ExecutionResult object: not a stream of them (subscriptions, @defer), not an array (batches). */
const isPlainResult = (r: unknown): r is ExecutionResult =>
  !!r && typeof r === 'object' && !Array.isArray(r) && !(Symbol.asyncIterator in r) && !Object.isFrozen(r)
