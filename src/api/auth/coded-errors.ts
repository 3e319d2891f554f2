import { GraphQLError } from 'graphql'

/**
 * Refusals made before anything runs. `http.status` sets the HTTP status of the response (Yoga
 * reads it and leaves it out of the body); over websockets only the code travels.
 */
export const refusal = (code: string, message: string, status: number, extra: Record<string, unknown> = {}) =>
  new GraphQLError(message, { extensions: { code, ...extra, http: { status } } })

export const unauthenticated = (message: string) => refusal('UNAUTHENTICATED', message, 401)
export const forbidden = (message: string, extra?: Record<string, unknown>) => refusal('FORBIDDEN', message, 403, extra)
