/**
 * A few words for a socket or DNS failure code (Node's and undici's), for messages that must not
 * name the address a host resolved to. Shared by the SAP clients and the object stores, which each
 * decide for themselves which codes a retry may cure.
 */
const SOCKET_FAILURE_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connect timeout',
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed (temporary)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_SOCKET: 'connection closed by the server',
  UND_ERR_CLOSED: 'connection closed',
}

/** The words for `code`, or undefined for a code without any. */
export function socketFailureText(code: string): string | undefined {
  return SOCKET_FAILURE_TEXT[code]
}
