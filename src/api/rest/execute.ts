import type { IncomingMessage } from 'node:http'
import type { DocumentNode, ExecutionArgs, ExecutionResult } from 'graphql'
import type { YogaServerInstance } from 'graphql-yoga'
import type { Principal } from '../../auth/roles.js'
import type { AuthenticatedServerContext } from '../auth/http-auth.js'
import type { ApiContext } from '../context.js'

export type Yoga = YogaServerInstance<AuthenticatedServerContext, ApiContext>

/**
 * Runs one of the REST layer's own GraphQL operations through Yoga's envelope, exactly as
 * graphql-ws does (server.ts): validation, query limits, the input guard, authorization by role,
 * the mutation rate limit, the audit of mutations and error masking are the GraphQL API's own
 * plugins and resolvers, so REST cannot drift from them (architecture.md, "Security"). This is why
 * REST is thin handlers over GraphQL operations, not a second set of calls into the catalogue.
 */
export async function executeOperation(
  yoga: Yoga,
  req: IncomingMessage,
  principal: Principal,
  document: DocumentNode,
  variables: Record<string, unknown>,
): Promise<ExecutionResult> {
  const { schema, execute, contextFactory, validate } = yoga.getEnveloped({ req, params: { variables }, principal } as never)
  const errors = validate(schema, document)
  if (errors.length) return { errors }
  const args: ExecutionArgs = { schema, document, variableValues: variables, contextValue: await contextFactory() }
  return (await execute(args)) as ExecutionResult
}
