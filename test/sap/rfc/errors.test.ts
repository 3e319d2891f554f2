/** node-rfc error shapes (node-rfc 3.x: plain objects with group/code/key) → SourceError codes. */
import { describe, expect, it } from 'vitest'
import { SourceError } from '../../../src/sap/errors.js'
import { checkReturn, toSourceError } from '../../../src/sap/rfc/errors.js'

const lib = (group: number, code: number, codeString: string, key: string, message: string) => ({
  name: 'RfcLibError',
  group,
  code,
  codeString,
  key,
  message,
})
const abap = (group: number, code: number, codeString: string, key: string, message: string, cls = '', number = '') => ({
  name: 'ABAPError',
  group,
  code,
  codeString,
  key,
  message,
  abapMsgClass: cls,
  abapMsgType: 'E',
  abapMsgNumber: number,
  abapMsgV1: '',
  abapMsgV2: '',
  abapMsgV3: '',
  abapMsgV4: '',
})

function map(e: unknown, fm = 'RFC_READ_TABLE', secrets: string[] = []): SourceError {
  const out = toSourceError(e, { functionModule: fm, what: 'table ZSD_ITEMS', secrets })
  expect(out).toBeInstanceOf(SourceError)
  return out as SourceError
}

describe('toSourceError', () => {
  it('logon failure → SOURCE_AUTH, not retryable, password never in the message', () => {
    const e = map(
      lib(3, 2, 'RFC_LOGON_FAILURE', 'RFC_LOGON_FAILURE', 'Name or password is incorrect (repeat logon) for pw Geheim123'),
      'RFC logon',
      ['Geheim123'],
    )
    expect(e.code).toBe('SOURCE_AUTH')
    expect(e.retryable).toBe(false)
    expect(e.message).not.toContain('Geheim123')
    expect(e.message).toContain('***')
  })

  it('communication failures and cancels → SOURCE_UNAVAILABLE, retryable, with the SDK ERROR line', () => {
    const e = map(
      lib(
        4,
        1,
        'RFC_COMMUNICATION_FAILURE',
        'RFC_COMMUNICATION_FAILURE',
        '\nLOCATION    CPIC (TCP/IP) on local host\nERROR       connection to partner broken\nCOMPONENT   NI',
      ),
    )
    expect(e).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true })
    expect(e.message).toBe('RFC call RFC_READ_TABLE (table ZSD_ITEMS) failed: RFC_COMMUNICATION_FAILURE: connection to partner broken')
    expect(map(lib(4, 7, 'RFC_CANCELED', 'RFC_CANCELED', 'Connection was canceled.')).code).toBe('SOURCE_UNAVAILABLE')
    expect(map(abap(2, 3, 'RFC_ABAP_RUNTIME_FAILURE', 'TIME_OUT', 'Time limit exceeded.')).code).toBe('SOURCE_UNAVAILABLE')
  })

  it('RFC_READ_TABLE exceptions: TABLE_NOT_AVAILABLE, FIELD_NOT_VALID, OPTION_NOT_VALID, NOT_AUTHORIZED', () => {
    expect(map(abap(1, 5, 'RFC_ABAP_EXCEPTION', 'TABLE_NOT_AVAILABLE', ' Number:000')).code).toBe('SOURCE_NOT_FOUND')
    expect(map(abap(1, 5, 'RFC_ABAP_EXCEPTION', 'FIELD_NOT_VALID', ' Number:000')).code).toBe('SOURCE_BAD_REQUEST')
    const opt = map(abap(1, 5, 'RFC_ABAP_EXCEPTION', 'OPTION_NOT_VALID', ' Number:000'))
    expect(opt.code).toBe('SOURCE_BAD_REQUEST')
    expect(opt.message).toContain('OPTION_NOT_VALID')
    const na = map(abap(1, 5, 'RFC_ABAP_EXCEPTION', 'NOT_AUTHORIZED', ' Number:000'))
    expect(na.code).toBe('SOURCE_FORBIDDEN')
    expect(na.message).toMatch(/S_TABU_DIS/)
    expect(
      map(
        abap(
          2,
          3,
          'RFC_ABAP_RUNTIME_FAILURE',
          'RFC_NO_AUTHORITY',
          'User DEMO has no RFC authorization for function module RFC_READ_TABLE.',
        ),
      ).code,
    ).toBe('SOURCE_FORBIDDEN')
    const dump = map(
      abap(2, 3, 'RFC_ABAP_RUNTIME_FAILURE', 'TSV_TNEW_PAGE_ALLOC_FAILED', 'No more memory available to add rows to an internal table.'),
    )
    expect(dump.code).toBe('SOURCE_PROTOCOL')
    expect(dump.message).toMatch(/smaller page size/)
    const cast = map(abap(2, 3, 'RFC_ABAP_RUNTIME_FAILURE', 'ASSIGN_CASTING_ILLEGAL_CAST', 'Error in ASSIGN assignment'))
    expect(cast).toMatchObject({ code: 'SOURCE_PROTOCOL', retryable: false })
    expect(cast.message).toMatch(/typically a STRING; leave it out with `fields`/)
  })

  it("the Note 3255746 block of a RODPS_REPL_* module → SOURCE_FORBIDDEN: SAP's text, ODP over OData as the supported path, the opt-out and its end", () => {
    const text = 'Unknown caller; Call rejected. See SAP Note 3635619'
    const e = map(abap(2, 4, 'RFC_ABAP_MESSAGE', text, text, 'RODPS_REPL', '100'), 'RODPS_REPL_ODP_OPEN')
    expect(e.code).toBe('SOURCE_FORBIDDEN')
    expect(e.retryable).toBe(false)
    expect(e.message).toBe(
      'SAP refused RODPS_REPL_ODP_OPEN (table ZSD_ITEMS): Unknown caller; Call rejected. See SAP Note 3635619. SAP Note 3255746 does not permit third-party use of the ODP replication RFC modules (RODPS_REPL_*), and systems with security note 3748819 block them; ODP over OData is the supported path: extract this ODP with an ODP over OData connection (a Gateway service generated for the ODP) instead. ' +
        "SAP's report RODPS_REPL_SECUREACCESS_OPTOUT lifts the block for a while, but the opt-out expires at the end of 2026",
    )
    expect(e.sapCode).toBe('RODPS_REPL/100')
    // a missing module on an ODP call: not found, with the same way out; no opt-out brings a module back
    const fu = map(
      abap(1, 5, 'RFC_ABAP_EXCEPTION', 'FU_NOT_FOUND', 'ID:FL Type:E Number:046 RODPS_REPL_ODP_OPEN', 'FL', '046'),
      'RODPS_REPL_ODP_OPEN',
    )
    expect(fu.code).toBe('SOURCE_NOT_FOUND')
    expect(fu.message).toMatch(/ODP over OData is the supported path/)
    expect(fu.message).not.toMatch(/OPTOUT/)
  })

  it('any refusal of a RODPS_REPL_* call is SOURCE_FORBIDDEN with the ODP over OData way out, whatever its words', () => {
    const refusals = [
      abap(2, 4, 'RFC_ABAP_MESSAGE', 'Zugriff verweigert', 'Zugriff verweigert', '/ABC/GUARD', '007'),
      lib(
        3,
        29,
        'RFC_AUTHORIZATION_FAILURE',
        'RFC_AUTHORIZATION_FAILURE',
        'Access of user DEMO to function module RODPS_REPL_ODP_OPEN denied',
      ),
      abap(
        2,
        3,
        'RFC_ABAP_RUNTIME_FAILURE',
        'RFC_NO_AUTHORITY',
        'User DEMO has no RFC authorization for function module RODPS_REPL_ODP_OPEN.',
      ),
      abap(1, 5, 'RFC_ABAP_EXCEPTION', 'CALLER_NOT_RELEASED', ' Number:000'),
      abap(2, 3, 'RFC_ABAP_RUNTIME_FAILURE', 'CALL_FUNCTION_NOT_ALLOWED', 'Function module may not be called here.'),
    ]
    for (const r of refusals) {
      const e = map(r, 'RODPS_REPL_ODP_OPEN')
      expect({ code: e.code, retryable: e.retryable }).toEqual({ code: 'SOURCE_FORBIDDEN', retryable: false })
      expect(e.message).toContain(r.message.trim())
      expect(e.message).toMatch(/3255746.*ODP over OData is the supported path.*RODPS_REPL_SECUREACCESS_OPTOUT.*expires at the end of 2026/)
    }
    // not refusals: a dropped connection, a wrong password, a time-out, a result too big, a missing module
    expect(
      map(lib(4, 1, 'RFC_COMMUNICATION_FAILURE', 'RFC_COMMUNICATION_FAILURE', 'ERROR partner gone'), 'RODPS_REPL_ODP_FETCH').code,
    ).toBe('SOURCE_UNAVAILABLE')
    expect(
      map(lib(3, 2, 'RFC_LOGON_FAILURE', 'RFC_LOGON_FAILURE', 'Name or password is incorrect (repeat logon)'), 'RODPS_REPL_ODP_OPEN').code,
    ).toBe('SOURCE_AUTH')
    expect(map(abap(2, 3, 'RFC_ABAP_RUNTIME_FAILURE', 'TIME_OUT', 'Time limit exceeded.'), 'RODPS_REPL_ODP_FETCH').code).toBe(
      'SOURCE_UNAVAILABLE',
    )
    const big = map(
      abap(2, 3, 'RFC_ABAP_RUNTIME_FAILURE', 'TSV_TNEW_PAGE_ALLOC_FAILED', 'No more memory available to add rows to an internal table.'),
      'RODPS_REPL_ODP_FETCH',
    )
    expect(big.code).toBe('SOURCE_PROTOCOL')
    expect(big.message).toMatch(/smaller page size/)
    // a client-side check of node-rfc is our mistake, not SAP's refusal
    expect(map({ name: 'nodeRfcError', message: 'String expected from NodeJS for ABAP field of type 0' }, 'RODPS_REPL_ODP_OPEN').code).toBe(
      'SOURCE_PROTOCOL',
    )
  })

  it('an authorization failure in the logon error group is not a wrong password', () => {
    const e = map(
      lib(3, 29, 'RFC_AUTHORIZATION_FAILURE', 'RFC_AUTHORIZATION_FAILURE', 'Access of user DEMO to function module RFC_READ_TABLE denied'),
    )
    expect(e.code).toBe('SOURCE_FORBIDDEN')
    expect(e.message).toMatch(/S_RFC/)
    expect(e.message).not.toMatch(/password/)
  })

  it('passes SourceErrors and aborts through', () => {
    const s = new SourceError('SOURCE_BUSY', 'x')
    expect(toSourceError(s, { functionModule: 'X' })).toBe(s)
    const abort = new DOMException('stop', 'AbortError')
    expect(toSourceError(abort, { functionModule: 'X' })).toBe(abort)
  })
})

describe('checkReturn (BAPIRET2)', () => {
  const ctx = { functionModule: 'RODPS_REPL_ODP_OPEN', what: 'SAPI/0FI_GL_14' }
  it('E/A lines fail, classified by text; S/W/I lines pass', () => {
    expect(
      checkReturn(
        [
          { TYPE: 'S', MESSAGE: 'ok' },
          { TYPE: 'W', MESSAGE: 'hm' },
        ],
        ctx,
      ),
    ).toHaveLength(2)
    expect(checkReturn(undefined, ctx)).toEqual([])
    expect(() => checkReturn([{ TYPE: 'E', ID: 'RODPS_REPL', NUMBER: '001', MESSAGE: 'No authorization for ODP 0FI_GL_14' }], ctx)).toThrow(
      /ODP over OData/,
    )
    expect(() =>
      checkReturn([{ TYPE: 'A', ID: 'ODQ', NUMBER: '042', MESSAGE: 'Illegal change in selection parameters' }], ctx, (_l, t) =>
        /selection/.test(t) ? 'SOURCE_BAD_REQUEST' : undefined,
      ),
    ).toThrow(expect.objectContaining({ code: 'SOURCE_BAD_REQUEST', sapCode: 'ODQ/042' }))
    expect(() => checkReturn([{ TYPE: 'E', MESSAGE: 'ODP ZX does not exist' }], ctx)).toThrow(
      expect.objectContaining({ code: 'SOURCE_NOT_FOUND' }),
    )
  })
})
