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
    if (original instanceof GraphQLError) return original // validation and parse errors, already safe
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
