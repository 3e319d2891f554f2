/**
 * Errors exactly as node-rfc 3.x rejects with them: PLAIN OBJECTS (not Error instances), built in
 * node-rfc's src/cpp/nwrfcsdk.cc (`RfcLibError`, `AbapError`, `nodeRfcError`). Group and code are the
 * NW RFC SDK enums RFC_ERROR_GROUP and RFC_RC (node-rfc src/ts/sapnwrfc.ts):
 *   groups: 1 ABAP_APPLICATION_FAILURE (ABAP exception), 2 ABAP_RUNTIME_FAILURE (dump / ABAP message),
 *           3 LOGON_FAILURE, 4 COMMUNICATION_FAILURE, 5 EXTERNAL_RUNTIME_FAILURE (client side SDK)
 *   codes:  1 RFC_COMMUNICATION_FAILURE, 2 RFC_LOGON_FAILURE, 3 RFC_ABAP_RUNTIME_FAILURE,
 *           4 RFC_ABAP_MESSAGE, 5 RFC_ABAP_EXCEPTION, 7 RFC_CANCELED, 20 RFC_INVALID_PARAMETER,
 *           22 RFC_CONVERSION_FAILURE
 * node-rfc maps groups 3, 4, 5 to name 'RfcLibError' and groups 1, 2 to 'ABAPError'. Expected values
 * below are copied from node-rfc's and PyRFC's own test suites (cited per factory).
 */

export interface RfmPath {
  rfm: string
  parameter: string
  table?: string
  table_line?: number
  field?: string
}

export interface RfcLibErrorShape {
  name: 'RfcLibError'
  group: number
  code: number
  codeString: string
  key: string
  message: string
  rfmPath?: RfmPath
}

export interface AbapErrorShape {
  name: 'ABAPError'
  group: number
  code: number
  codeString: string
  key: string
  message: string
  abapMsgClass: string
  abapMsgType: string
  abapMsgNumber: string
  abapMsgV1: string
  abapMsgV2: string
  abapMsgV3: string
  abapMsgV4: string
}

export interface NodeRfcErrorShape {
  name: 'nodeRfcError'
  message: string
  rfmPath?: RfmPath
}

export type SimRfcErrorShape = RfcLibErrorShape | AbapErrorShape | NodeRfcErrorShape

function libError(group: number, code: number, codeString: string, key: string, message: string, rfmPath?: RfmPath): RfcLibErrorShape {
  return { name: 'RfcLibError', group, code, codeString, key, message, ...(rfmPath ? { rfmPath } : {}) }
}

interface AbapMessage {
  cls?: string
  type?: string
  number?: string
  v?: [string?, string?, string?, string?]
}

function abapError(group: number, code: number, codeString: string, key: string, message: string, m: AbapMessage = {}): AbapErrorShape {
  return {
    name: 'ABAPError',
    group,
    code,
    codeString,
    key,
    message,
    abapMsgClass: m.cls ?? '',
    abapMsgType: m.type ?? '',
    abapMsgNumber: m.number ?? '',
    abapMsgV1: m.v?.[0] ?? '',
    abapMsgV2: m.v?.[1] ?? '',
    abapMsgV3: m.v?.[2] ?? '',
    abapMsgV4: m.v?.[3] ?? '',
  }
}

/** Wrong user or password (node-rfc test "pool error: user credentials": group 3, code 2). */
export function logonFailure(message = 'Name or password is incorrect (repeat logon)'): RfcLibErrorShape {
  return libError(3, 2, 'RFC_LOGON_FAILURE', 'RFC_LOGON_FAILURE', message)
}

/** node-rfc test "Connection terminate by client": client.cancel() or the call-option timeout. */
export function canceledError(): RfcLibErrorShape {
  return libError(4, 7, 'RFC_CANCELED', 'RFC_CANCELED', 'Connection was canceled.')
}

/**
 * A broken connection. The message imitates the NW RFC SDK's multi-line CPIC text [INFERRED wording];
 * clients must key on `key`/`code`, never on the text.
 */
export function communicationFailure(detail = 'connection to partner broken'): RfcLibErrorShape {
  return libError(
    4,
    1,
    'RFC_COMMUNICATION_FAILURE',
    'RFC_COMMUNICATION_FAILURE',
    `\nLOCATION    CPIC (TCP/IP) on local host with Unicode\nERROR       ${detail}\nCOMPONENT   NI (network interface)\nMODULE      nixxi.cpp\nDETAIL      NiIRead: P=127.0.0.1:3300; L=127.0.0.1`,
  )
}

/** Unknown parameter or structure field (PyRFC test_call_non_existing_RFM_parameter: code 20, "field 'x' not found"). */
export function invalidParameter(path: RfmPath, name: string): RfcLibErrorShape {
  return libError(5, 20, 'RFC_INVALID_PARAMETER', 'RFC_INVALID_PARAMETER', `field '${name}' not found`, path)
}

/** Missing ASHOST/MSHOST etc. at open() (PyRFC test text "Parameter ASHOST, GWHOST, MSHOST or PORT is missing."). */
export function missingHost(): RfcLibErrorShape {
  return libError(5, 20, 'RFC_INVALID_PARAMETER', 'RFC_INVALID_PARAMETER', 'Parameter ASHOST, GWHOST, MSHOST or PORT is missing.')
}

/**
 * A CHAR value longer than its DDIC field. [INFERRED] The SDK refuses to fill the field; the exact code is
 * not documented anywhere we could find, so we report RFC_CONVERSION_FAILURE. docs/sap-protocols.md C.8 asks
 * for ">72 → reject client-side" for OPTIONS lines.
 */
export function valueTooLong(path: RfmPath, length: number, max: number): RfcLibErrorShape {
  return libError(
    5,
    22,
    'RFC_CONVERSION_FAILURE',
    'RFC_CONVERSION_FAILURE',
    `Value of length ${length} does not fit into field ${path.field ?? path.parameter} of length ${max}`,
    path,
  )
}

/** node-rfc's own type checks before anything is sent (nwrfcsdk.cc setVariable). */
export function nodeRfcError(message: string, rfmPath?: RfmPath): NodeRfcErrorShape {
  return { name: 'nodeRfcError', message, ...(rfmPath ? { rfmPath } : {}) }
}

/**
 * A classic `RAISE <exception>` of a function module (RFC_READ_TABLE's exceptions). node-rfc test
 * "AbapApplicationError E2" and PyRFC #42 (key=DATA_BUFFER_EXCEEDED): group 1, code 5, message ' Number:000'.
 */
export function abapException(key: string): AbapErrorShape {
  return abapError(1, 5, 'RFC_ABAP_EXCEPTION', key, ' Number:000', { number: '000' })
}

/** Unknown function module: PyRFC test_call_non_existing_RFM: key FU_NOT_FOUND, "ID:FL Type:E Number:046 <name>". */
export function functionNotFound(fm: string): AbapErrorShape {
  return abapError(1, 5, 'RFC_ABAP_EXCEPTION', 'FU_NOT_FOUND', `ID:FL Type:E Number:046 ${fm}`, {
    cls: 'FL',
    type: 'E',
    number: '046',
    v: [fm],
  })
}

/** A short dump (node-rfc test "AbapApplicationError E3": group 2, code 3, key = runtime error name). */
export function abapRuntimeError(key: string, message: string): AbapErrorShape {
  return abapError(2, 3, 'RFC_ABAP_RUNTIME_FAILURE', key, message)
}

const DUMP_TEXTS: Record<string, string> = {
  TSV_TNEW_PAGE_ALLOC_FAILED: 'No more memory available to add rows to an internal table.',
  SAPSQL_DATA_LOSS: 'Data was lost while copying a value.',
  TIME_OUT: 'Time limit exceeded.',
  ASSIGN_CASTING_ILLEGAL_CAST: 'Error in ASSIGN assignment in program SAPLSDTX: the structure cannot be cast to the target type.',
}

export function dump(key: string): AbapErrorShape {
  return abapRuntimeError(key, DUMP_TEXTS[key] ?? `Runtime error ${key}`)
}

/**
 * Missing S_RFC authorization for a function module: SAP ends the call with the runtime error (short
 * dump) RFC_NO_AUTHORITY — admins list "dumps for runtime error RFC_NO_AUTHORITY" to find missing S_RFC
 * grants — which node-rfc reports as ABAPError group 2, code 3, key RFC_NO_AUTHORITY. The text is
 * [INFERRED] from the kernel's wording.
 */
export function noRfcAuthority(user: string, fm: string): AbapErrorShape {
  return abapRuntimeError('RFC_NO_AUTHORITY', `User ${user} has no RFC authorization for function module ${fm}.`)
}

/**
 * An E/A/X message in RFC context (node-rfc test "AbapApplicationError E0": group 2, code 4; node-rfc puts
 * the message text into `key` too).
 */
function abapMessage(text: string, cls: string, number: string, type = 'E', v: [string?, string?, string?, string?] = []): AbapErrorShape {
  return abapError(2, 4, 'RFC_ABAP_MESSAGE', text, text, { cls, type, number, v })
}

/**
 * The refusal of a system patched against unpermitted ODP-RFC use (SAP Note 3255746 v10/v11; the blocking
 * patch is SAP security note 3748819), in SAP's words: "Unknown caller; Call rejected. See SAP Note
 * 3635619" (docs/sap-protocols.md, addendum 2026-12). How the text travels is not published: we send it as an
 * ABAP E-message in RFC context (RFC_ABAP_MESSAGE); message class and number are [INFERRED] placeholders.
 */
export const ODP_BLOCKED_TEXT = 'Unknown caller; Call rejected. See SAP Note 3635619'
export function odpBlockedError(): AbapErrorShape {
  return abapMessage(ODP_BLOCKED_TEXT, 'RODPS_REPL', '100')
}

/**
 * The block as B.8 describes it: "rejects every RODPS_REPL_* call with an authorization error". The SDK
 * reports a refused authorization check as RFC_AUTHORIZATION_FAILURE (RFC_RC 29), which belongs to error
 * group 3 (LOGON_FAILURE) though the logon itself succeeded. Group placement and text are [INFERRED];
 * the text deliberately cites no note, as nothing says the system does.
 */
export function odpAuthorizationError(user: string, fm: string): RfcLibErrorShape {
  return libError(3, 29, 'RFC_AUTHORIZATION_FAILURE', 'RFC_AUTHORIZATION_FAILURE', `Access of user ${user} to function module ${fm} denied`)
}

/** Call over a client that is not open (node-rfc Client::connectionClosedError). */
export function closedConnection(what: string): NodeRfcErrorShape {
  return nodeRfcError(`RFM client request over closed connection: ${what}`)
}
