import type { ServerResponse } from 'node:http'
import { STATUS_CODES } from 'node:http'

/**
 * An RFC 9457 problem: `type` about:blank (the status says what happened), `title` the status
 * phrase, `detail` the service's own message, and the same `code` (and `field`, when one is named)
 * a GraphQL client gets in `extensions`, so scripts can switch on one vocabulary for both APIs.
 */
export interface Problem {
  status: number
  code: string
  detail: string
  field?: string
  /** More members of the problem, e.g. retry_after. */
  extra?: Record<string, unknown>
}

/** HTTP status of each code the GraphQL layer answers with (architecture.md, GraphQL: Errors). */
const STATUS_OF_CODE: Record<string, number> = {
  BAD_REQUEST: 400,
  GRAPHQL_VALIDATION_FAILED: 400,
  QUERY_TOO_COMPLEX: 400,
  BAD_USER_INPUT: 422,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  SECRET_KEY_ROTATED: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
}

/** The status of a code; SAP and storage failures (SOURCE_…, DESTINATION_…) are a gateway's, anything else the service's own. */
export function statusOf(code: string): number {
  return STATUS_OF_CODE[code] ?? (/^(SOURCE|DESTINATION)_/.test(code) ? 502 : 500)
}

export function sendProblem(res: ServerResponse, p: Problem, headers: Record<string, string> = {}): void {
  const body = {
    type: 'about:blank',
    title: STATUS_CODES[p.status] ?? 'Error',
    status: p.status,
    detail: p.detail,
    code: p.code,
    ...(p.field ? { field: p.field } : {}),
    ...p.extra,
  }
  sendJson(res, p.status, body, { 'content-type': 'application/problem+json; charset=utf-8', ...headers })
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers })
  res.end(text)
}
