import { getOperationAST, type ExecutionArgs, type GraphQLError } from 'graphql'
import { isAsyncIterable, type Plugin } from 'graphql-yoga'
import { atLeast } from '../../auth/roles.js'
import type { ApiContext } from '../context.js'
import { forbidden, refusal, unauthenticated } from './coded-errors.js'
import { rootFields } from './operation-fields.js'
import { requiredRole } from './policy.js'
import { MutationRateLimiter } from './rate-limit.js'
import { untilRevoked } from './revocation.js'

/**
 * The one place that decides whether an operation may run, for HTTP, SSE and graphql-ws alike
 * (all three execute through Yoga's envelope). Before any resolver runs it checks that the
 * caller's token is still valid, that its role reaches every root field the operation selects
 * (policy.ts), and that a mutation fits the token's rate limit. A refused operation runs nothing.
 */
export function useAuthorization(opts: { mutationsPerMinute: number }): Plugin<ApiContext> {
  const limiter = new MutationRateLimiter(opts.mutationsPerMinute)

  const refuse = async (args: ExecutionArgs): Promise<GraphQLError | undefined> => {
    const { app, principal } = args.contextValue as ApiContext
    if (!principal) return unauthenticated('an API token is required (Authorization: Bearer <token>)')
    if (!(await app.tokens.isActive(principal))) return unauthenticated('the API token was revoked')
    const operation = getOperationAST(args.document, args.operationName)
    if (!operation) return undefined // execution reports the unknown or ambiguous operation itself
    const fields = rootFields(operation, args.document)
    const denied = [...new Set(fields)].filter((f) => !atLeast(principal.role, requiredRole(operation.operation, f)))
    if (denied.length) {
      const needed = denied.map((f) => requiredRole(operation.operation, f)).includes('ADMIN') ? 'ADMIN' : 'OPERATOR'
      app.log.warn({ actor: principal.name, role: principal.role, denied }, 'operation refused: role too low')
      return forbidden(`role ${principal.role} may not use ${denied.join(', ')} (needs ${needed})`, { fields: denied })
    }
    if (operation.operation === 'mutation' && !limiter.take(principal.tokenId, fields.length)) {
      const retryAfter = limiter.retryAfter(principal.tokenId)
      return refusal(
        'RATE_LIMITED',
        `too many mutations for this token: at most ${opts.mutationsPerMinute} a minute; retry in ${retryAfter} s`,
        429,
        { retryAfter },
      )
    }
    return undefined
  }

  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const error = await refuse(args)
      if (error) setResultAndStopExecution({ errors: [error] })
    },
    async onSubscribe({ args, setResultAndStopExecution }) {
      const error = await refuse(args)
      if (error) return setResultAndStopExecution({ errors: [error] })
      const { app, principal } = args.contextValue as ApiContext
      return {
        onSubscribeResult({ result, setResult }) {
          if (principal && isAsyncIterable(result)) setResult(untilRevoked(result, app.tokens, principal))
        },
      }
    },
  }
}
