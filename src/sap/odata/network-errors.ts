/**
 * Failures below HTTP (sockets, DNS, TLS, the outbound policy) as fetch reports them: which a retry
 * may cure, and a few words for the message that do not name the address a host resolved to.
 */
import { socketFailureText } from '../../util/socket-errors.js'

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
])

function errorCode(e: unknown): string | undefined {
  for (let c: unknown = e, depth = 0; c && depth < 4; c = (c as { cause?: unknown }).cause, depth++) {
    const code = (c as { code?: unknown }).code
    if (typeof code === 'string') return code
  }
  return undefined
}

export function isNetworkError(e: unknown): boolean {
  const code = errorCode(e)
  if (code && NETWORK_CODES.has(code)) return true
  // undici: "fetch failed" (connect), "terminated" (socket closed mid-body).
  return e instanceof TypeError && (e.message === 'fetch failed' || e.message === 'terminated' || !!(e as { cause?: unknown }).cause)
}

/**
 * The failure as a code and a few words. Socket messages name the address a host resolved to
 * (`connect ECONNREFUSED 10.1.2.3:8000`), which is not the caller's business; TLS failures keep
 * their code (ERR_TLS_CERT_ALTNAME_INVALID, UNABLE_TO_VERIFY_LEAF_SIGNATURE…), which says enough.
 */
export function describeNetworkError(e: unknown): string {
  const code = errorCode(e)
  const text = code && socketFailureText(code)
  if (code) return text ? `${code} (${text})` : code
  return (e as Error)?.message === 'terminated' ? 'the connection closed mid-answer' : 'the request failed'
}

/** The OutboundRefused somewhere in an error's cause chain (fetch wraps connector errors). */
export function outboundRefusal(e: unknown): Error | undefined {
  for (let c: unknown = e, depth = 0; c && depth < 4; c = (c as { cause?: unknown }).cause, depth++)
    if ((c as { code?: unknown }).code === 'E_OUTBOUND_REFUSED') return c as Error
  return undefined
}
