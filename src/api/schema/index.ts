import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql'
import { builder } from '../builder.js'
import './scalars.js'
import './enums.js'
import './connection.js'
import './destination.js'
import './pipeline.js'
import './run.js'
import './source-check.js'

let schema: GraphQLSchema | undefined

/** The schema, built once per process from the domain files above. */
export function getSchema(): GraphQLSchema {
  return (schema ??= builder.toSchema({ sortSchema: true }))
}

/** The SDL committed as schema.graphql (and read by codegen). */
export function printedSchema(): string {
  return printSchema(lexicographicSortSchema(getSchema())) + '\n'
}
