/**
 * node-rfc errors and BAPIRET2 `ET_RETURN` messages → SourceError (src/sap/errors.ts), so the
 * orchestrator can tell a wrong password from a blocked module from a dropped connection.
 *
 * - `RfcLibError` (SDK/transport, `key` = RFC_RC name): logon → SOURCE_AUTH; communication, timeout,
 *   closed connection → SOURCE_UNAVAILABLE (retryable); authorization → SOURCE_FORBIDDEN.
 * - `ABAPError` (exception raised by the module, `key` = exception name, §C.1): TABLE_NOT_AVAILABLE
 *   → SOURCE_NOT_FOUND; FIELD_NOT_VALID / OPTION_NOT_VALID → SOURCE_BAD_REQUEST; NOT_AUTHORIZED →
 *   SOURCE_FORBIDDEN.
 * - Anything SAP refuses on a RODPS_REPL_* module is SOURCE_FORBIDDEN explained with SAP Note 3255746
 *   (§B.7): the modules are not permitted for third-party tools and blocked on patched systems; ODP over
 *   OData is the supported path, and SAP's opt-out report only buys time until the end of 2026
 *   (addendum 2026-12). Patched systems answer "Unknown caller; Call rejected. See SAP Note 3635619",
 *   but SAP has not published how that text travels (§B.8 only says "an authorization error"), and
 *   other guards word it their own way, so the decision rests on the error's shape, never its text:
 *   every error raised on the ABAP side of such a call is a refusal, except a dropped connection, a
 *   failed logon, a missing module and an out-of-memory dump. The message carries SAP's text as sent.
 *
 * Passwords never reach a message: every text is passed through {@link redact}.
 */
import { redact } from '../../util/redact.js'
import { SourceError, type SourceErrorCode } from '../errors.js'
import type { Bapiret2, RfcErrorLike } from './rfc-client.js'

export const ODP_RFC_PREFIX = 'RODPS_REPL_'

/** Why ODP over RFC is a dead end, and the way out (§B.7): for any ODP call that cannot work. */
const NOTE_3255746_HINT =
  'SAP Note 3255746 does not permit third-party use of the ODP replication RFC modules (RODPS_REPL_*), and systems with security note 3748819 block them; ODP over OData is the supported path: extract this ODP with an ODP over OData connection (a Gateway service generated for the ODP) instead'

/**
 * Added to a refusal only: the opt-out lifts the block, so a team that needs a few more months can
 * find it, but it must not read as a fix (addendum 2026-12).
 */
const ODP_OPT_OUT_HINT =
  "SAP's report RODPS_REPL_SECUREACCESS_OPTOUT lifts the block for a while, but the opt-out expires at the end of 2026"

/** The hint for an ODP call SAP answered with `code`. */
const odpHint = (code: SourceErrorCode) => (code === 'SOURCE_FORBIDDEN' ? `${NOTE_3255746_HINT}. ${ODP_OPT_OUT_HINT}` : NOTE_3255746_HINT)

/** An RFC call ended by our own AbortSignal (node-rfc cancel): rethrown as the signal's reason. */
export class RfcAborted extends Error {}

const LIB: Record<string, SourceErrorCode> = {
  RFC_LOGON_FAILURE: 'SOURCE_AUTH',
  RFC_AUTHENTICATION_FAILURE: 'SOURCE_AUTH',
  RFC_COMMUNICATION_FAILURE: 'SOURCE_UNAVAILABLE',
  RFC_TIMEOUT: 'SOURCE_UNAVAILABLE',
  RFC_CLOSED: 'SOURCE_UNAVAILABLE',
  RFC_CANCELED: 'SOURCE_UNAVAILABLE',
  RFC_IO_FAILURE: 'SOURCE_UNAVAILABLE',
  RFC_RETRY: 'SOURCE_UNAVAILABLE',
  RFC_MEMORY_INSUFFICIENT: 'SOURCE_UNAVAILABLE',
  RFC_INVALID_HANDLE: 'SOURCE_UNAVAILABLE',
  RFC_AUTHORIZATION_FAILURE: 'SOURCE_FORBIDDEN',
  RFC_NOT_FOUND: 'SOURCE_NOT_FOUND',
  RFC_CRYPTOLIB_FAILURE: 'SOURCE_DRIVER_MISSING',
}

const ABAP: Record<string, SourceErrorCode> = {
  TABLE_NOT_AVAILABLE: 'SOURCE_NOT_FOUND',
  TABLE_WITHOUT_DATA: 'SOURCE_BAD_REQUEST',
  FIELD_NOT_VALID: 'SOURCE_BAD_REQUEST',
  OPTION_NOT_VALID: 'SOURCE_BAD_REQUEST',
  NOT_AUTHORIZED: 'SOURCE_FORBIDDEN',
  RFC_NO_AUTHORITY: 'SOURCE_FORBIDDEN',
  NO_AUTHORITY: 'SOURCE_FORBIDDEN',
  NO_AUTHORIZATION: 'SOURCE_FORBIDDEN',
  FU_NOT_FOUND: 'SOURCE_NOT_FOUND',
  FUNCTION_NOT_FOUND: 'SOURCE_NOT_FOUND',
  // Our column groups keep rows within 512 characters; if SAP still says so, the metadata lied.
  DATA_BUFFER_EXCEEDED: 'SOURCE_PROTOCOL',
}

/**
 * Generic wordings of a refused authority (S_RFC, S_TABU_*, UCON "RFC Rejected"), for errors whose
 * shape does not tell (BAPIRET2 lines have no key). Deliberately no wording of one particular block:
 * ODP refusals are recognised by shape (see {@link classify}).
 */
const FORBIDDEN_TEXT =
  /not authori[sz]ed|no authori[sz]ation|authori[sz]ation (?:check )?fail|missing authori[sz]ation|not permitted|no (?:rfc )?authori(?:ty|[sz]ation)|\brejected\b/i

/** ABAP runtime errors that say "the result was too big": retrying the same request cannot help. */
const MEMORY_DUMPS = /TSV_TNEW_PAGE_ALLOC_FAILED|MEMORY_NO_MORE_PAGING|SYSTEM_NO_ROLL|No more (?:memory|storage)/i

export interface RfcErrorContext {
  functionModule: string
  /** Added to the message: what the call was for, e.g. `table VBAP`. */
  what?: string
  secrets?: readonly (string | undefined)[]
}

/** RFC_RC codes (node-rfc src/ts/sapnwrfc.ts) by their number, for errors that carry only `code`. */
const RC_NAMES: Record<number, string> = {
  1: 'RFC_COMMUNICATION_FAILURE',
  2: 'RFC_LOGON_FAILURE',
  3: 'RFC_ABAP_RUNTIME_FAILURE',
  4: 'RFC_ABAP_MESSAGE',
  5: 'RFC_ABAP_EXCEPTION',
  6: 'RFC_CLOSED',
  7: 'RFC_CANCELED',
  8: 'RFC_TIMEOUT',
  13: 'RFC_INVALID_HANDLE',
  20: 'RFC_INVALID_PARAMETER',
  22: 'RFC_CONVERSION_FAILURE',
  29: 'RFC_AUTHORIZATION_FAILURE',
  30: 'RFC_AUTHENTICATION_FAILURE',
  32: 'RFC_IO_FAILURE',
}

/** RFC_RC codes an ABAP system sends back about the called module (as opposed to local SDK checks). */
const ABAP_SIDE_RC = new Set([
  'RFC_ABAP_RUNTIME_FAILURE',
  'RFC_ABAP_MESSAGE',
  'RFC_ABAP_EXCEPTION',
  'RFC_ABAP_CLASS_EXCEPTION',
  'RFC_AUTHORIZATION_FAILURE',
])

/** node-rfc error groups raised by the ABAP side: 1 ABAP exception, 2 runtime failure or message, 7 authorization. */
const ABAP_SIDE_GROUPS = new Set([1, 2, 7])

function classify(err: RfcErrorLike & { codeString?: string }, key: string | undefined, text: string, odp: boolean): SourceErrorCode {
  const rc = err.codeString ?? (typeof err.code === 'number' ? RC_NAMES[err.code] : undefined)
  // Transport first: node-rfc error group 4 (communication), and the codes of a dropped, cancelled or timed-out call.
  if (err.group === 4 || (rc && LIB[rc] === 'SOURCE_UNAVAILABLE') || (key && LIB[key] === 'SOURCE_UNAVAILABLE')) return 'SOURCE_UNAVAILABLE'
  // Group 3 is LOGON_FAILURE, but it also carries RFC_AUTHORIZATION_FAILURE: a logged-on user refused a
  // call, not a wrong password — only the logon codes themselves say "check the password".
  const authorization = rc === 'RFC_AUTHORIZATION_FAILURE' || key === 'RFC_AUTHORIZATION_FAILURE'
  if (!authorization && (err.group === 3 || rc === 'RFC_LOGON_FAILURE' || (key && LIB[key] === 'SOURCE_AUTH'))) return 'SOURCE_AUTH'
  if (authorization || (key && ABAP[key] === 'SOURCE_FORBIDDEN')) return 'SOURCE_FORBIDDEN'
  if (rc === 'RFC_ABAP_RUNTIME_FAILURE' && (/^TIME_OUT$/.test(key ?? '') || /time limit/i.test(text))) return 'SOURCE_UNAVAILABLE'
  const abapSide =
    (rc !== undefined && ABAP_SIDE_RC.has(rc)) || (err.group !== undefined && ABAP_SIDE_GROUPS.has(err.group)) || err.name === 'ABAPError'
  // An ODP replication call refused by SAP, in whatever words: a missing module and a result too big for
  // memory keep their own advice, everything else SAP raised is the refusal §B.7 announces.
  if (odp && abapSide && !(key && ABAP[key] === 'SOURCE_NOT_FOUND') && !MEMORY_DUMPS.test(`${key} ${text}`)) return 'SOURCE_FORBIDDEN'
  if (FORBIDDEN_TEXT.test(text) || (key && FORBIDDEN_TEXT.test(key))) return 'SOURCE_FORBIDDEN'
  if (rc === 'RFC_ABAP_RUNTIME_FAILURE') return 'SOURCE_PROTOCOL'
  if (key && (ABAP[key] ?? LIB[key])) return (ABAP[key] ?? LIB[key])!
  if (rc && LIB[rc]) return LIB[rc]
  return 'SOURCE_PROTOCOL'
}

/**
 * Maps anything a driver call threw to a SourceError. Already-mapped SourceErrors and aborts pass
 * through unchanged.
 */
export function toSourceError(e: unknown, ctx: RfcErrorContext): unknown {
  if (e instanceof SourceError || e instanceof RfcAborted) return e
  if (e instanceof Error && (e.name === 'AbortError' || e.name === 'TimeoutError') && !('key' in e)) return e
  const err = (e !== null && typeof e === 'object' ? e : { message: String(e) }) as RfcErrorLike & { codeString?: string }
  const key = typeof err.key === 'string' ? err.key : undefined
  // SDK texts are multi-line CPIC dumps; the first line that says something is enough.
  const lines = String(err.message ?? key ?? e)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
  const text = redact(lines.find((l) => l.startsWith('ERROR'))?.replace(/^ERROR\s+/, '') ?? lines[0] ?? String(key), ctx.secrets ?? [])
  const odp = ctx.functionModule.startsWith(ODP_RFC_PREFIX)
  const where = `${ctx.functionModule}${ctx.what ? ` (${ctx.what})` : ''}`
  const sapCode = err.abapMsgClass ? `${err.abapMsgClass}/${err.abapMsgNumber ?? ''}` : key
  const code = classify(err, key, text, odp)
  const keyPrefix = key && key !== text && !text.includes(key) ? `${key}: ` : ''
  let message: string
  switch (code) {
    case 'SOURCE_AUTH':
      message = `SAP refused the RFC logon: ${text} (check user, password and client of the connection)`
      break
    case 'SOURCE_FORBIDDEN':
      message = odp
        ? `SAP refused ${where}: ${keyPrefix}${text}. ${odpHint(code)}`
        : `SAP refused ${where}: ${keyPrefix}${text} (the RFC user lacks an authorization, e.g. S_RFC for the module or S_TABU_DIS/S_TABU_NAM for the table)`
      break
    case 'SOURCE_UNAVAILABLE':
      message = `RFC call ${where} failed: ${keyPrefix}${text}`
      break
    default:
      message = `${where} failed: ${keyPrefix}${text}`
      if (MEMORY_DUMPS.test(`${key} ${text}`)) message += ' (SAP ran out of memory for the result: use a smaller page size)'
      // §C.3: RFC_READ_TABLE cannot cast a row with a STRING into its character work area.
      if (/^(?:ASSIGN_CASTING_ILLEGAL_CAST|UC_OBJECTS_NOT_CHARLIKE)$/.test(key ?? ''))
        message +=
          ' (the table has a field RFC_READ_TABLE cannot put into its character row, typically a STRING; leave it out with `fields` — some releases fail even then)'
      // A system without the ODP API (or with it removed) needs the same way out as a blocked one.
      if (odp && code === 'SOURCE_NOT_FOUND') message += `. ${NOTE_3255746_HINT}`
  }
  return new SourceError(code, message, { sapCode, cause: sanitizedCause(err, key, text) })
}

/** The driver's error without fields that could carry connection parameters. */
function sanitizedCause(err: RfcErrorLike, key: string | undefined, text: string): RfcErrorLike {
  return {
    name: err.name,
    code: err.code,
    key,
    group: err.group,
    message: text,
    abapMsgClass: err.abapMsgClass,
    abapMsgNumber: err.abapMsgNumber,
  }
}

/**
 * Checks a BAPIRET2-like `ET_RETURN` (RODPS_REPL_* modules, §B.1/§B.8): any line of type E, A or X
 * is an error, classified by its text. `W`/`I`/`S` lines are returned for logging.
 */
export function checkReturn(
  ret: unknown,
  ctx: RfcErrorContext,
  classify?: (msg: Bapiret2, text: string) => SourceErrorCode | undefined,
): Bapiret2[] {
  const lines = (Array.isArray(ret) ? ret : ret && typeof ret === 'object' ? [ret] : []) as Bapiret2[]
  const errors = lines.filter((l) => ['E', 'A', 'X'].includes(String(l.TYPE ?? '').trim()))
  if (errors.length === 0) return lines
  const first = errors[0]
  const text = redact(errors.map((l) => messageOf(l)).join('; '), ctx.secrets ?? [])
  const id = first.ID ? `${String(first.ID).trim()}/${String(first.NUMBER ?? '').trim()}` : undefined
  const where = `${ctx.functionModule}${ctx.what ? ` (${ctx.what})` : ''}`
  let code = classify?.(first, text)
  if (!code)
    code = FORBIDDEN_TEXT.test(text)
      ? 'SOURCE_FORBIDDEN'
      : /does not exist|not found|unknown/i.test(text)
        ? 'SOURCE_NOT_FOUND'
        : 'SOURCE_PROTOCOL'
  // ET_RETURN is the module's own answer (it ran), so a caller-side refusal arrives as an exception
  // (toSourceError). An error line the client cannot place still gets the way out: the API is unreleased
  // and may change or refuse without notice (§B.7).
  const hint =
    (code === 'SOURCE_FORBIDDEN' || code === 'SOURCE_PROTOCOL') && ctx.functionModule.startsWith(ODP_RFC_PREFIX) ? `. ${odpHint(code)}` : ''
  return throwing(
    new SourceError(code, `${where} returned ${String(first.TYPE).trim()}${id ? ` ${id}` : ''}: ${text}${hint}`, { sapCode: id }),
  )
}

function throwing(e: SourceError): never {
  throw e
}

/** Message text of a BAPIRET2 line; falls back to id and variables when MESSAGE is empty. */
function messageOf(l: Bapiret2): string {
  const m = String(l.MESSAGE ?? '').trim()
  if (m) return m
  const vars = [l.MESSAGE_V1, l.MESSAGE_V2, l.MESSAGE_V3, l.MESSAGE_V4].map((v) => String(v ?? '').trim()).filter(Boolean)
  return `${String(l.ID ?? '').trim()} ${String(l.NUMBER ?? '').trim()} ${vars.join(' ')}`.trim()
}
