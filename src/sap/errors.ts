/**
 * Error classes a source raises. The orchestrator maps `code` to a run outcome and `retryable` to the
 * retry policy, so every failure a client can tell apart must arrive as one of these, never as a
 * bare Error (which the orchestrator treats as INTERNAL).
 */
export type SourceErrorCode =
  /** 5xx, 429, timeouts, reset connections after the client's own retries ran out. */
  | 'SOURCE_UNAVAILABLE'
  /** 401, 403: wrong user, password, client or missing authorization. */
  | 'SOURCE_AUTH'
  /** 404: unknown service or entity set (service not activated in /IWFND/MAINT_SERVICE). */
  | 'SOURCE_NOT_FOUND'
  /** The stored delta token or link is no longer valid (410, token errors, terminated subscription). */
  | 'DELTA_POSITION_LOST'
  /** The source answered something the protocol does not allow (no delta link after an init, bad JSON). */
  | 'SOURCE_PROTOCOL'
  /** 400: the request itself is wrong (bad $filter, field not filterable). */
  | 'SOURCE_BAD_REQUEST'
  /** Another extraction holds the subscription open (RSODP_ODATA/013). */
  | 'SOURCE_BUSY'
  /** Logged on, but SAP refuses the call: missing authorization, or the SAP Note 3255746 block of the ODP RFC modules. */
  | 'SOURCE_FORBIDDEN'
  /** The protocol's driver is not installed here (node-rfc and SAP's NW RFC SDK for RFC connections). */
  | 'SOURCE_DRIVER_MISSING'
  /** The outbound policy refuses the host (link-local, metadata, loopback, not in OUTBOUND_ALLOW). */
  | 'OUTBOUND_REFUSED'

const RETRYABLE: Record<SourceErrorCode, boolean> = {
  SOURCE_UNAVAILABLE: true,
  SOURCE_BUSY: true,
  SOURCE_AUTH: false,
  SOURCE_NOT_FOUND: false,
  DELTA_POSITION_LOST: false,
  SOURCE_PROTOCOL: false,
  SOURCE_BAD_REQUEST: false,
  SOURCE_FORBIDDEN: false,
  SOURCE_DRIVER_MISSING: false,
  OUTBOUND_REFUSED: false,
}

export interface SourceErrorDetails {
  httpStatus?: number
  /** SAP message id such as `RSODP_ODATA/013`, when the error body carried one. */
  sapCode?: string
  cause?: unknown
}

export class SourceError extends Error {
  override readonly name = 'SourceError'
  readonly retryable: boolean
  readonly httpStatus?: number
  readonly sapCode?: string

  constructor(
    readonly code: SourceErrorCode,
    message: string,
    details: SourceErrorDetails = {},
  ) {
    super(message, { cause: details.cause })
    this.retryable = RETRYABLE[code]
    this.httpStatus = details.httpStatus
    this.sapCode = details.sapCode
  }
}
