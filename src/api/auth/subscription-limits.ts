import type { ExecutionResult, GraphQLError } from 'graphql'
import { isAsyncIterable, type Plugin } from 'graphql-yoga'
import type { ApiContext } from '../context.js'
import { refusal } from './coded-errors.js'

/**
 * What one token may hold open. Every subscription keeps an iterator, a listener on the progress
 * bus and a slot in its socket: without a bound, one viewer sending `subscribe` frames in a loop
 * took hundreds of MB and slowed every other request down to seconds. 0 = no limit.
 */
export interface SubscriptionLimits {
  /** Operations open at once on one websocket (subscriptions, and queries still running). */
  perSocket: number
  /** Subscriptions open at once per token, over websockets and SSE together. */
  perToken: number
  /** Websockets open at once per token. */
  socketsPerToken: number
}

const TOO_MANY_CODE = 'TOO_MANY_SUBSCRIPTIONS'

export const tooMany = (what: string, max: number, limit: keyof SubscriptionLimits): GraphQLError =>
  refusal(TOO_MANY_CODE, `too many ${what}: at most ${max}; complete some first`, 429, { limit })

/** Counts of something per token, taken and given back; take and check are one step, so a burst cannot overrun it. */
export class PerTokenCount {
  readonly #open = new Map<string, number>()

  constructor(readonly max: number) {}

  take(tokenId: string): boolean {
    const n = this.#open.get(tokenId) ?? 0
    if (this.max > 0 && n >= this.max) return false
    this.#open.set(tokenId, n + 1)
    return true
  }

  release(tokenId: string): void {
    const n = (this.#open.get(tokenId) ?? 1) - 1
    if (n > 0) this.#open.set(tokenId, n)
    else this.#open.delete(tokenId)
  }
}

/**
 * Subscriptions per token, over every transport (SSE and graphql-ws both subscribe through Yoga's
 * envelope). Counted in the subscribe function itself, which runs only once authorization and the
 * query limits let the operation through, and given back when the subscription ends however it
 * ends: completed by the client, its socket or SSE request closed, its token revoked, or done.
 */
export function useSubscriptionLimit(perToken: number): Plugin<ApiContext> {
  const open = new PerTokenCount(perToken)
  return {
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      const { principal } = args.contextValue as ApiContext
      if (!principal) return // useAuthorization has refused it already
      setSubscribeFn(async (a) => {
        if (!open.take(principal.tokenId))
          return { errors: [tooMany('subscriptions for this API token', perToken, 'perToken')] } as ExecutionResult
        let result
        try {
          result = await subscribeFn(a)
        } catch (e) {
          open.release(principal.tokenId)
          throw e
        }
        if (!isAsyncIterable(result)) {
          open.release(principal.tokenId)
          return result
        }
        return whenEnded(result, () => open.release(principal.tokenId))
      })
    },
  }
}

/** The same events; `end` is called once when the iterator finishes, fails or is returned. */
function whenEnded<T>(source: AsyncIterable<T>, end: () => void): AsyncIterableIterator<T> {
  const inner = source[Symbol.asyncIterator]()
  let ended = false
  const finish = () => {
    if (ended) return
    ended = true
    end()
  }
  return {
    async next() {
      try {
        const r = await inner.next()
        if (r.done) finish()
        return r
      } catch (e) {
        finish()
        throw e
      }
    },
    // Given back before waiting: an async generator's return() waits for a pending next().
    async return(value?: unknown) {
      finish()
      return (await inner.return?.(value)) ?? { done: true, value: undefined }
    },
    async throw(e?: unknown) {
      finish()
      if (inner.throw) return inner.throw(e)
      throw e
    },
    [Symbol.asyncIterator]() {
      return this
    },
  }
}
