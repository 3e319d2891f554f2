import { GraphQLError } from 'graphql'
import { DomainError } from '../errors.js'
import { SourceError } from '../sap/errors.js'
import { DestinationError } from '../storage/destination.js'
import type { Logger } from '../util/logger.js'

/**
 * Yoga's logger, on the service's pino logger. Yoga hands it errors (every error masking changed,
 * which includes each refused request); printed as strings, a GraphQLError quotes the query around
 * the error's location (and with it any password typed inline), past pino's redaction, and user
 * mistakes came out at level error. Here each argument becomes structured fields:
 *
 * - a refusal of the service (bad input, not found, conflict…): info, its code, field and message
 * - an SAP or storage failure that reached the API: warn, its code and message
 * - anything else was logged by maskError already, with its id; here only at debug
 *
 * Never the query text, the variables or the error's source.
 */
export function yogaLogger(log: Logger) {
  const plain =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...args: unknown[]) => {
      for (const a of args) {
        if (a instanceof Error) logError(log, a, level)
        else log[level](typeof a === 'string' ? a : { value: typeof a })
      }
    }
  return { debug: plain('debug'), info: plain('info'), warn: plain('warn'), error: plain('error') }
}

function logError(log: Logger, e: Error, level: 'debug' | 'info' | 'warn' | 'error'): void {
  const original = e instanceof GraphQLError && e.originalError ? e.originalError : e
  const path = e instanceof GraphQLError ? e.path : undefined
  if (original instanceof DomainError)
    return log.info({ code: original.code, ...fieldOf(original), path, error: original.message }, 'request refused')
  if (original instanceof SourceError || original instanceof DestinationError)
    return log.warn(
      { code: original.code, retryable: original.retryable, path, error: original.message },
      'SAP or storage failure in a request',
    )
  // GraphQL's own errors quote request values: the code is enough.
  if (e instanceof GraphQLError && !e.originalError)
    return log.info({ code: e.extensions?.code ?? 'GRAPHQL_VALIDATION_FAILED', path }, 'request refused')
  // Unexpected: maskError has logged it in full, under the id the client got.
  log[level === 'error' ? 'debug' : level]({ errorName: original.name, path }, 'GraphQL error (logged above with its id)')
}

const fieldOf = (e: DomainError) => (typeof e.details.field === 'string' ? { field: e.details.field } : {})
