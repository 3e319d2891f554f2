/**
 * SAP Gateway v2 error bodies (docs/sap-protocols.md A.8). Message ids name the SAP message class where the
 * reference documents one (RSODP_ODATA/013, /IWBEP/CM_MGW_RT/020 …); the others are this simulator's own
 * choice [INFERRED] — clients must key on the HTTP status and the message text, not on these ids.
 */
import { randomBytes } from 'node:crypto'
import type { ServerResponse } from 'node:http'

export interface SapErrorDetail {
  code: string
  message: string
}

/** An error answer: status, SAP message id, English text and optional extra headers. */
export class SapHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly details: SapErrorDetail[] = [{ code, message }],
  ) {
    super(message)
    this.name = 'SapHttpError'
  }
}

/** The message ids this simulator uses, in one place. */
export const MSG = {
  resourceNotFound: '/IWBEP/CM_MGW_RT/020',
  notImplemented: '/IWBEP/CM_MGW_RT/021',
  badRequest: '/IWBEP/CM_MGW_RT/022',
  serviceNotFound: '/IWFND/MED/170',
  logonFailed: '/IWFND/CM_CONSUMER/101',
  csrf: '/IWFND/CM_BEC/026',
  notAcceptable: '/IWBEP/CM_MGW_RT/031',
  extractionOpen: 'RSODP_ODATA/013',
  deltaTokenInvalid: 'RSODP_ODATA/024',
  selectionChanged: 'RSODP_ODATA/012',
  subscriptionExists: 'RSODP_ODATA/014',
  pagingClosed: 'RSODP_ODATA/016',
  backend: '/IWFND/CM_BEC/076',
  unavailable: '/IWFND/CM_BEC/099',
  throttled: '/IWFND/CM_BEC/098',
} as const

const EXTRACTION_OPEN_TEXT = 'Could not open data access via extraction API RODPS_REPL_ODP_OPEN'

export function badRequest(message: string, code: string = MSG.badRequest): SapHttpError {
  return new SapHttpError(400, code, message)
}

export function notFound(segment: string): SapHttpError {
  return new SapHttpError(404, MSG.resourceNotFound, `Resource not found for the segment '${segment}'.`)
}

/** The refusal of a second open read on one subscription (A.6.6): 500 with RSODP_ODATA/013 in errordetails. */
export function extractionOpen(): SapHttpError {
  return new SapHttpError(500, MSG.extractionOpen, EXTRACTION_OPEN_TEXT, {}, [
    { code: MSG.extractionOpen, message: EXTRACTION_OPEN_TEXT },
    { code: '/IWBEP/CX_MGW_BUSI_EXCEPTION', message: 'Data access for the ODP could not be opened; another extraction is running' },
  ])
}

export function invalidToken(token: string, status: number): SapHttpError {
  return new SapHttpError(status, MSG.deltaTokenInvalid, `Delta token '${token}' is not valid or has expired`)
}

function timestamp(now: Date): string {
  const iso = now.toISOString()
  return iso.slice(0, 19).replace(/[-:T]/g, '') + '.' + iso.slice(20, 23) + '0000'
}

/** JSON text of the SAP error body for `err`. */
export function errorBody(err: SapHttpError, serviceId: string): string {
  return JSON.stringify({
    error: {
      code: err.code,
      message: { lang: 'en', value: err.message },
      innererror: {
        application: { component_id: 'BW-WHM-DBA-ODA', service_namespace: '/SAP/', service_id: serviceId, service_version: '0001' },
        transactionid: randomBytes(16).toString('hex').toUpperCase(),
        timestamp: timestamp(new Date()),
        Error_Resolution: {
          SAP_Transaction:
            'For backend administrators: use ADT feed reader "SAP Gateway Error Log" or run transaction /IWFND/ERROR_LOG on SAP Gateway hub system and search for entries with the timestamp above for more details',
          SAP_Note: 'See SAP Note 1797736 for error analysis (https://service.sap.com/sap/support/notes/1797736)',
        },
        errordetails: err.details.map((d) => ({
          code: d.code,
          message: d.message,
          propertyref: '',
          severity: 'error',
          target: '',
          transition: false,
        })),
      },
    },
  })
}

/** Sends `err` unless the response already started (then the connection is cut, as a gateway would). */
export function sendError(res: ServerResponse, err: SapHttpError, serviceId: string, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = errorBody(err, serviceId)
  res.writeHead(err.status, {
    ...extraHeaders,
    ...err.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    dataserviceversion: '1.0',
  })
  res.end(body)
}
