import { GraphQLError } from 'graphql'
import { randomUUID } from 'node:crypto'
import { StoredRowError } from '../catalog/stored-json.js'
import { DomainError } from '../errors.js'
import { SourceError } from '../sap/errors.js'
import { DestinationError } from '../storage/destination.js'
import type { Logger } from '../util/logger.js'

/**
 * Yoga's error masking, extended: expected errors keep their message and gain
 * `extensions.code`; anything else becomes "Unexpected error" with an id that is also in the log.
 */
export function maskError(log: Logger) {
  return (error: unknown): Error => {
    const original = error instanceof GraphQLError && error.originalError ? error.originalError : error
    const path = error instanceof GraphQLError ? error.path : undefined
    if (original instanceof DomainError)
      return new GraphQLError(original.message, { path, extensions: { code: original.code, ...original.details } })
    if (original instanceof SourceError || original instanceof DestinationError)
      return new GraphQLError(original.message, { path, extensions: { code: original.code, retryable: original.retryable } })
    // Validation and parse errors: their messages are scrubbed of request values (input-guard.ts).
    if (original instanceof GraphQLError) return withoutOriginalError(original)
    const id = randomUUID()
    // Our own words (row, column, what does not fit; never the value): the caller learns which row to save again.
    if (original instanceof StoredRowError) {
      log.error({ err: original, errorId: id, path }, 'a stored row does not fit its schema')
      return new GraphQLError(original.message, { path, extensions: { code: 'INTERNAL_SERVER_ERROR', errorId: id } })
    }
    log.error({ err: original, errorId: id, path }, 'unexpected error in a GraphQL operation')
    return new GraphQLError(`Unexpected error (id ${id})`, { path, extensions: { code: 'INTERNAL_SERVER_ERROR', errorId: id } })
  }
}

/**
 * Yoga puts the message of the JSON parser that refused a body into `extensions.originalError`,
 * and V8's message quotes the body (a password with it). Nothing a parser said about the request
 * goes back: the error's own message says what was wrong.
 */
function withoutOriginalError(e: GraphQLError): GraphQLError {
  if (!e.extensions || !('originalError' in e.extensions)) return e
  const { originalError: _, ...extensions } = e.extensions
  // Yoga answers such an error 400 because originalError is there (otherwise 200 to application/json
  // clients, under `http.spec`): the status stays what it was.
  const http = extensions.http as { spec?: boolean } | undefined
  if (http?.spec) extensions.http = { ...http, spec: false }
  return new GraphQLError(e.message, { nodes: e.nodes, source: e.source, positions: e.positions, path: e.path, extensions })
}
