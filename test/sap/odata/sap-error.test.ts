import { describe, expect, it } from 'vitest'
import { classifyStatus, describeSapError, parseSapError } from '../../../src/sap/odata/sap-error.js'
import { retryAfterMs } from '../../../src/util/backoff.js'

const busyBody = JSON.stringify({
  error: {
    code: '005056A509B11EE1B9A8FEC11C21D78E',
    message: { lang: 'en', value: 'Could not open data access via extraction API RODPS_REPL_ODP_OPEN' },
    innererror: {
      transactionid: 'C83CB3D2A1420000E00609D31E196BD4',
      errordetails: [
        {
          code: 'RSODP_ODATA/013',
          message: 'Could not open data access via extraction API RODPS_REPL_ODP_OPEN',
          propertyref: '',
          severity: 'error',
          target: '',
        },
      ],
    },
  },
})

describe('parseSapError', () => {
  it('reads message.value and errordetails as an array', () => {
    const e = parseSapError(busyBody)
    expect(e.message).toBe('Could not open data access via extraction API RODPS_REPL_ODP_OPEN')
    expect(e.details).toEqual([
      { code: 'RSODP_ODATA/013', message: 'Could not open data access via extraction API RODPS_REPL_ODP_OPEN', severity: 'error' },
    ])
    expect(describeSapError(e)).toBe('Could not open data access via extraction API RODPS_REPL_ODP_OPEN; [RSODP_ODATA/013]')
  })
  it('reads errordetails as {errordetail:[…]} and a single object', () => {
    const body = {
      error: {
        code: 'X/1',
        message: { value: 'Top' },
        innererror: {
          errordetails: {
            errordetail: [
              { code: 'A/001', message: 'first' },
              { code: 'B/002', message: 'second' },
            ],
          },
        },
      },
    }
    expect(describeSapError(parseSapError(JSON.stringify(body)))).toBe('Top; [A/001] first; [B/002] second')
    const single = {
      error: { message: { value: 'Top' }, innererror: { errordetails: { errordetail: { code: 'A/001', message: 'only' } } } },
    }
    expect(parseSapError(JSON.stringify(single)).details).toEqual([{ code: 'A/001', message: 'only', severity: undefined }])
  })
  it('reads the XML error document', () => {
    const xml = `<?xml version="1.0" encoding="utf-8"?><error xmlns="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"><code>SY/530</code><message xml:lang="en">Resource not found for segment 'Foo'</message><innererror><errordetails><errordetail><code>/IWBEP/CM_MGW_RT/020</code><message>Resource not found for segment 'Foo'</message></errordetail></errordetails></innererror></error>`
    const e = parseSapError(xml)
    expect(e.code).toBe('SY/530')
    expect(e.message).toBe("Resource not found for segment 'Foo'")
    expect(e.details[0].code).toBe('/IWBEP/CM_MGW_RT/020')
  })
  it('keeps no text of a body that is not an SAP error (the URL may point at another service)', () => {
    const html = parseSapError('<html><head><title>Logon</title></head><body><h1>Anmeldung   fehlgeschlagen</h1></body></html>')
    expect(html).toEqual({ details: [], foreign: true })
    expect(parseSapError('ERROR: relation "users" does not exist')).toEqual({ details: [], foreign: true })
    expect(parseSapError('{"Code":"Success","AccessKeyId":"ASIA…","SecretAccessKey":"…"}')).toEqual({ details: [], foreign: true })
    expect(parseSapError('').message).toBeUndefined()
    const refused = classifyStatus(502, html, { url: 'http://10.0.0.5:5432/x' }).error
    expect(refused.message).toBe('SAP is unavailable (HTTP 502 for http://10.0.0.5:5432/x): the answer is not an SAP Gateway error message')
  })
  it('keeps only SAP’s message text from a body shaped like an SAP error: no markup, control characters or codes that are not message ids', () => {
    const body = {
      error: {
        code: 'SY/530',
        message: { value: '<html><body><b>Order 4711</b> is locked\u001b[2J by user X</body></html>' },
        innererror: {
          errordetails: [
            { code: 'INTERNAL-DETAIL-CODE with text', message: 'first' },
            { code: '/IWBEP/CM_MGW_RT/020', message: '<script>alert(1)</script>Resource not found' },
            ...Array.from({ length: 200 }, (_, i) => ({ code: `Z/${String(i).padStart(3, '0')}`, message: `detail ${i}` })),
          ],
        },
      },
    }
    const e = parseSapError(JSON.stringify(body))
    expect(e.message).toBe('Order 4711 is locked [2J by user X')
    expect(e.details).toHaveLength(10)
    expect(e.details.slice(0, 2)).toEqual([
      { code: undefined, message: 'first', severity: undefined },
      { code: '/IWBEP/CM_MGW_RT/020', message: 'alert(1) Resource not found', severity: undefined },
    ])
    const line = describeSapError(e)
    expect(line).toBe(
      'Order 4711 is locked [2J by user X; first; [/IWBEP/CM_MGW_RT/020] alert(1) Resource not found; [Z/000] detail 0; [Z/001] detail 1; [Z/002] detail 2; [Z/003] detail 3; [Z/004] detail 4; [Z/005] detail 5; [Z/006] detail 6; [Z/007] detail 7',
    )
    expect(line).not.toContain('INTERNAL')
  })

  it('shortens an SAP message to one line of at most 300 characters', () => {
    const long = JSON.stringify({ error: { code: 'SY/530', message: { value: `line one\n${'x'.repeat(400)}` } } })
    expect(parseSapError(long).message).toBe(`line one ${'x'.repeat(291)}…`)
  })
})

describe('classifyStatus', () => {
  const ctx = { url: 'http://sap/x/EntityOfX?!deltatoken=%27D1%27' }
  const cls = (status: number, body: string, mode?: 'FULL' | 'DELTA_INIT' | 'DELTA', token?: string) =>
    classifyStatus(status, parseSapError(body), { ...ctx, mode, token })
  it('401/403 → SOURCE_AUTH, not retried', () => {
    expect(cls(401, '')).toMatchObject({ retry: false, error: { code: 'SOURCE_AUTH', httpStatus: 401 } })
    expect(cls(403, '')).toMatchObject({ retry: false, error: { code: 'SOURCE_AUTH' } })
  })
  it('404 → SOURCE_NOT_FOUND', () => {
    expect(cls(404, '{"error":{"message":{"value":"Resource not found for segment \'Foo\'"}}}').error.code).toBe('SOURCE_NOT_FOUND')
  })
  it('410, or a 400 naming the delta token, on a DELTA read → DELTA_POSITION_LOST', () => {
    expect(cls(410, '', 'DELTA').error.code).toBe('DELTA_POSITION_LOST')
    expect(cls(400, '{"error":{"message":{"value":"Delta token D1 is invalid or expired"}}}', 'DELTA').error.code).toBe(
      'DELTA_POSITION_LOST',
    )
    expect(cls(400, '{"error":{"message":{"value":"Invalid DELTATOKEN"}}}', 'DELTA').error.code).toBe('DELTA_POSITION_LOST')
    expect(
      cls(400, '{"error":{"message":{"value":"Request D20250101000000_000001000 unknown"}}}', 'DELTA', 'D20250101000000_000001000').error
        .code,
    ).toBe('DELTA_POSITION_LOST')
  })
  it('a refused __next page of a DELTA read is never a lost position, even when the body quotes the token', () => {
    const body = '{"error":{"message":{"value":"Paging of !deltatoken=\'D20250101000000_000001000\' is closed"}}}'
    const next = (status: number) =>
      classifyStatus(status, parseSapError(body), { ...ctx, mode: 'DELTA', token: 'D20250101000000_000001000', continuation: true })
    expect(cls(400, body, 'DELTA', 'D20250101000000_000001000').error.code).toBe('DELTA_POSITION_LOST')
    expect(next(400).error.code).toBe('SOURCE_BAD_REQUEST')
    expect(next(410).error.code).toBe('SOURCE_NOT_FOUND')
  })
  it('a 400 otherwise → SOURCE_BAD_REQUEST (also a token-ish 400 outside DELTA reads)', () => {
    expect(cls(400, '{"error":{"message":{"value":"Property NETWR not filterable"}}}', 'DELTA').error.code).toBe('SOURCE_BAD_REQUEST')
    expect(cls(400, '{"error":{"message":{"value":"Invalid DELTATOKEN"}}}', 'FULL').error.code).toBe('SOURCE_BAD_REQUEST')
  })
  it('500 with RSODP_ODATA/013 → SOURCE_BUSY, not retried here', () => {
    const v = cls(500, busyBody)
    expect(v).toMatchObject({ retry: false, error: { code: 'SOURCE_BUSY', sapCode: 'RSODP_ODATA/013', httpStatus: 500 } })
  })
  it('5xx, 429 → retried, SOURCE_UNAVAILABLE when out of retries', () => {
    for (const s of [500, 502, 503, 504, 429]) expect(cls(s, '')).toMatchObject({ retry: true, error: { code: 'SOURCE_UNAVAILABLE' } })
  })
  it('messages carry the SAP text and the URL', () => {
    expect(cls(400, '{"error":{"message":{"value":"Property NETWR not filterable"}}}').error.message).toBe(
      'SAP rejected the request (HTTP 400 for http://sap/x/EntityOfX?!deltatoken=%27D1%27): Property NETWR not filterable',
    )
  })
})

describe('retryAfterMs', () => {
  it('seconds and HTTP dates, capped', () => {
    expect(retryAfterMs('2')).toBe(2000)
    expect(retryAfterMs(null)).toBeUndefined()
    expect(retryAfterMs('soon')).toBeUndefined()
    const now = Date.parse('2025-01-01T00:00:00Z')
    expect(retryAfterMs('Wed, 01 Jan 2025 00:00:03 GMT', now)).toBe(3000)
    expect(retryAfterMs('Tue, 31 Dec 2024 00:00:00 GMT', now)).toBe(0)
    expect(retryAfterMs('100000')).toBe(300_000)
  })
})
