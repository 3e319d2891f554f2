import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql'
import { auditMutations } from '../auth/audit-mutations.js'
import { builder } from '../builder.js'
import './scalars.js'
import './enums.js'
import './connection.js'
import './destination.js'
import './pipeline.js'
import './run.js'
import './run-events.js'
import './token.js'
import './audit.js'
import './source-check.js'

let schema: GraphQLSchema | undefined

/** The schema, built once per process from the domain files above. */
export function getSchema(): GraphQLSchema {
  if (!schema) {
    schema = builder.toSchema({ sortSchema: true })
    auditMutations(schema)
  }
  return schema
}

/** The SDL committed as schema.graphql (and read by codegen). */
export function printedSchema(): string {
  return printSchema(lexicographicSortSchema(getSchema())) + '\n'
}
