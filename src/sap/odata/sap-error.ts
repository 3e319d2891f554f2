/**
 * SAP Gateway error bodies → messages, and HTTP statuses → SourceError codes (docs/sap-protocols.md §A.8,
 * §A.6.7). The status decides whether the HTTP layer retries; the code decides what the orchestrator does.
 */
import { XMLParser } from 'fast-xml-parser'
import { SourceError, type SourceErrorCode } from '../errors.js'
import type { ReadMode } from './types.js'

export interface SapErrorDetail {
  code?: string
  message?: string
  severity?: string
}

export interface SapError {
  code?: string
  message?: string
  details: SapErrorDetail[]
  /** The body is no SAP Gateway error message (an HTML page, a proxy's text, another service): its text is not repeated. */
  foreign?: boolean
}

/** Longest SAP message text carried into an error: enough for SAP's messages, not for a page. */
const MESSAGE_LIMIT = 300
/** Error details read from a body: SAP sends a few; a body with hundreds is no SAP message to repeat. */
const MAX_DETAILS = 10
/** An SAP message id: message class (optionally in a /NAMESPACE/) and number, e.g. RSODP_ODATA/013, /IWBEP/CM_MGW_RT/020. */
const MESSAGE_ID = /^(?:\/[A-Z0-9_]{1,10}\/)?[A-Z0-9_]{1,30}\/\d{3}$/i

/** SAP message id of "Could not open data access via extraction API RODPS_REPL_ODP_OPEN" (A.6.6). */
const ODP_BUSY_MESSAGE = 'RSODP_ODATA/013'

const xml = new XMLParser({ ignoreAttributes: true, removeNSPrefix: true, parseTagValue: false, isArray: (tag) => tag === 'errordetail' })

/**
 * Reads `{"error":{code, message:{value}, innererror:{errordetails}}}` (errordetails as an array or
 * as `{errordetail:[…]}`) or the same shape in XML. Anything else is `foreign`, and none of its text
 * is kept: the URL may point at some other service (a database, a metadata endpoint, an intranet
 * page), and its answer must not be shown to whoever configured the URL.
 */
export function parseSapError(body: string): SapError {
  const text = body.trim()
  let err: Record<string, unknown> | undefined
  if (text.startsWith('{')) {
    try {
      err = (JSON.parse(text) as { error?: Record<string, unknown> }).error
    } catch {
      err = undefined
    }
  } else if (text.startsWith('<') && /<(?:\w+:)?error[\s>]/.test(text)) {
    try {
      err = (xml.parse(text) as { error?: Record<string, unknown> }).error
    } catch {
      err = undefined
    }
  }
  if (err && typeof err === 'object') {
    const inner = err['innererror'] as Record<string, unknown> | undefined
    let list: unknown = inner?.['errordetails']
    if (list && !Array.isArray(list) && typeof list === 'object') list = (list as Record<string, unknown>)['errordetail']
    const details = (Array.isArray(list) ? list : list ? [list] : [])
      .filter((d): d is Record<string, unknown> => d !== null && typeof d === 'object')
      .slice(0, MAX_DETAILS)
      .map((d) => ({ code: messageId(d['code']), message: messageText(d['message']), severity: str(d['severity']) }))
    return { code: str(err['code']), message: messageText(err['message']), details }
  }
  return { details: [], foreign: text !== '' }
}

/** A detail's code when it is an SAP message id; any other text in that place is not repeated. */
function messageId(v: unknown): string | undefined {
  const code = str(v)
  return code && MESSAGE_ID.test(code) ? code : undefined
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined
}

function messageText(v: unknown): string | undefined {
  const text =
    typeof v === 'string'
      ? v || undefined
      : v && typeof v === 'object'
        ? (str((v as Record<string, unknown>)['value']) ?? str((v as Record<string, unknown>)['#text']))
        : undefined
  return text === undefined ? undefined : shorten(text)
}

/**
 * SAP's message text and nothing else: markup a page or a proxy wraps it in and control characters
 * are dropped, and it is cut to one line of MESSAGE_LIMIT characters.
 */
function shorten(text: string): string {
  const one = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
  return one.length > MESSAGE_LIMIT ? `${one.slice(0, MESSAGE_LIMIT)}…` : one
}

/** One line: main message plus distinct detail messages with their SAP ids. */
export function describeSapError(e: SapError): string {
  const parts: string[] = []
  if (e.message) parts.push(e.message)
  for (const d of e.details) {
    const m = d.message && d.message !== e.message ? d.message : undefined
    if (d.code && m) parts.push(`[${d.code}] ${m}`)
    else if (d.code && !parts.some((p) => p.includes(d.code!))) parts.push(`[${d.code}]`)
    else if (m) parts.push(m)
  }
  return shorten(parts.join('; '))
}

/** The SAP message id worth surfacing: a detail's `CLASS/NNN`, else the top-level code if it is one. */
function sapMessageId(e: SapError): string | undefined {
  const ids = [...e.details.map((d) => d.code), e.code].filter((c): c is string => !!c && MESSAGE_ID.test(c))
  return ids.find((c) => c === ODP_BUSY_MESSAGE) ?? ids[0]
}

/** A body that names the delta token as the problem: expired, unknown or terminated (A.6.7). */
function mentionsDeltaToken(e: SapError, token?: string): boolean {
  const text = [e.message, ...e.details.map((d) => d.message), e.code, ...e.details.map((d) => d.code)].filter(Boolean).join(' ')
  return /delta[\s_-]?token|delta[\s_-]?link/i.test(text) || (!!token && text.includes(token))
}

export interface StatusContext {
  /** The redacted URL, for the message. */
  url: string
  mode?: ReadMode
  /** The token a DELTA read started from; a body naming it means the position is lost. */
  token?: string
  /**
   * A `__next` page: SAP accepted the position on the first page, so a refusal now means it closed
   * the paging (its message may still quote the link, token included), never a lost position.
   */
  continuation?: boolean
}

export type StatusVerdict = { retry: true; error: SourceError } | { retry: false; error: SourceError }

/** Maps a non-OK status and its parsed body to a SourceError and whether a retry can help. */
export function classifyStatus(status: number, body: SapError, ctx: StatusContext): StatusVerdict {
  const sapCode = sapMessageId(body)
  const text = describeSapError(body)
  const said = text ? `: ${text}` : body.foreign ? ': the answer is not an SAP Gateway error message' : ''
  const make = (code: SourceErrorCode, lead: string) =>
    new SourceError(code, `${lead} (HTTP ${status} for ${ctx.url})${said}`, { httpStatus: status, sapCode })
  const delta = ctx.mode === 'DELTA' && !ctx.continuation

  if (status === 401) return { retry: false, error: make('SOURCE_AUTH', 'SAP rejected the logon: check user, password and sap-client') }
  if (status === 403)
    return { retry: false, error: make('SOURCE_AUTH', 'SAP denied access: the user lacks authorization for this service') }
  if (delta && (status === 410 || ((status === 400 || status === 404) && mentionsDeltaToken(body, ctx.token)))) {
    return {
      retry: false,
      error: make('DELTA_POSITION_LOST', 'SAP no longer knows the stored delta position; an explicit delta re-initialisation is required'),
    }
  }
  if (status === 404 || status === 410)
    return { retry: false, error: make('SOURCE_NOT_FOUND', 'SAP does not know this service or entity set') }
  if (status >= 500 && (sapCode === ODP_BUSY_MESSAGE || text.includes(ODP_BUSY_MESSAGE))) {
    return { retry: false, error: make('SOURCE_BUSY', 'another extraction holds this ODP subscription open') }
  }
  if (status >= 500 || status === 429 || status === 408) return { retry: true, error: make('SOURCE_UNAVAILABLE', 'SAP is unavailable') }
  if (status >= 300 && status < 400)
    return {
      retry: false,
      error: make('SOURCE_PROTOCOL', 'the service redirected; configure the final URL (often http→https or an SSO logon page)'),
    }
  return { retry: false, error: make('SOURCE_BAD_REQUEST', 'SAP rejected the request') }
}
