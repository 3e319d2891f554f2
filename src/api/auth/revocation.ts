import type { ExecutionResult } from 'graphql'
import type { TokenService } from '../../auth/tokens.js'
import type { Principal } from '../../auth/roles.js'
import { unauthenticated } from './coded-errors.js'

/**
 * A subscription's events until the token that opened it is revoked; then one UNAUTHENTICATED
 * error and the end. Covers SSE, where no socket can be closed; websockets are also closed.
 */
export function untilRevoked<T extends ExecutionResult>(
  source: AsyncIterable<T>,
  tokens: TokenService,
  principal: Principal,
): AsyncIterableIterator<T | ExecutionResult> {
  const inner = source[Symbol.asyncIterator]()
  let revoke!: () => void
  const revoked = new Promise<'revoked'>((r) => (revoke = () => r('revoked')))
  const stop = tokens.onRevoke(principal.tokenId, revoke)
  let done = false
  // Not awaited: an async generator's return() waits for a pending next(), which may never come.
  const finish = () => {
    done = true
    stop()
    void Promise.resolve(inner.return?.()).catch(() => undefined)
  }
  return {
    async next() {
      if (done) return { done: true, value: undefined }
      const r = await Promise.race([inner.next(), revoked])
      if (r === 'revoked') {
        finish()
        return { done: false, value: { errors: [unauthenticated('the API token was revoked')] } }
      }
      if (r.done) {
        done = true
        stop()
      }
      return r
    },
    async return() {
      if (!done) finish()
      return { done: true, value: undefined }
    },
    async throw(e?: unknown) {
      if (!done) finish()
      throw e
    },
    [Symbol.asyncIterator]() {
      return this
    },
  }
}
