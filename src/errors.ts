/**
 * Expected refusals of the service itself (not of SAP or storage): bad input, unknown ids, a state
 * that does not allow the request. The API turns them into GraphQL errors with `extensions.code`;
 * anything else that escapes a resolver is masked.
 */
export type DomainErrorCode = 'BAD_USER_INPUT' | 'NOT_FOUND' | 'CONFLICT' | 'FORBIDDEN' | 'UNAUTHENTICATED' | 'SECRET_KEY_ROTATED'

export class DomainError extends Error {
  override readonly name = 'DomainError'
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    /** Machine-readable detail for clients, e.g. `{ field: 'schedule' }`. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message)
  }
}

export const badInput = (message: string, field?: string) => new DomainError('BAD_USER_INPUT', message, field ? { field } : {})
export const notFound = (type: string, id: string) => new DomainError('NOT_FOUND', `${type} ${id} does not exist`, { type, id })
export const conflict = (message: string, details: Record<string, unknown> = {}) => new DomainError('CONFLICT', message, details)
