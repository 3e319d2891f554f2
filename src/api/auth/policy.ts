import type { OperationTypeNode } from 'graphql'
import type { Role } from '../../auth/roles.js'

/**
 * The least role each root field needs. Only the lower roles are listed: a field that is not
 * (a new query, mutation or subscription) needs ADMIN until someone decides otherwise, so adding
 * one can never open it by accident. test/e2e/roles.test.ts walks the built schema and
 * checks every root field against this table.
 */
const VIEWER_FIELDS: Record<OperationTypeNode, ReadonlySet<string>> = {
  query: new Set(['me', 'connection', 'connections', 'destination', 'destinations', 'pipeline', 'pipelines', 'run', 'runs', 'runEvents']),
  subscription: new Set(['runProgress', 'runUpdates', 'runEvents']),
  mutation: new Set(),
}

const OPERATOR_FIELDS: Record<OperationTypeNode, ReadonlySet<string>> = {
  query: new Set(),
  subscription: new Set(),
  mutation: new Set(['runPipeline', 'cancelRun', 'resetDelta', 'testConnection', 'testDestination']),
}

export function requiredRole(operation: OperationTypeNode, field: string): Role {
  // Introspection (__schema, __type, __typename) describes the API, not its data: GraphiQL and
  // code generators need it, and it is still only for holders of a token.
  if (field.startsWith('__')) return 'VIEWER'
  if (VIEWER_FIELDS[operation].has(field)) return 'VIEWER'
  if (OPERATOR_FIELDS[operation].has(field)) return 'OPERATOR'
  return 'ADMIN'
}
