import { afterEach, describe, expect, it } from 'vitest'
import type { SapSimulator } from '../../src/simulator/index.js'
import { SALES_ITEMS, startSapSimulator, TYPES_SET } from '../../src/simulator/index.js'
import { basic, expectSapError, get } from './helpers.js'

let sim: SapSimulator
afterEach(async () => {
  await sim.close()
})

async function raw(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; json: any; text: string }> {
  const res = await fetch(url, init)
  const text = await res.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.status, headers: res.headers, json, text }
}

describe('logon (A.3)', () => {
  it('401s a missing or wrong password with the SAP Basic realm', async () => {
    sim = await startSapSimulator()
    const missing = await raw(`${sim.serviceUrl}/${TYPES_SET}?$format=json`)
    expectSapError(missing, 401, /no credentials/)
    expect(missing.headers.get('www-authenticate')).toBe('Basic realm="SAP NetWeaver Application Server [XYZ/100]"')
    const wrong = await get(`${sim.serviceUrl}/${TYPES_SET}?$format=json`, { authorization: basic('DEMO', 'nope') })
    expectSapError(wrong, 401, /password is incorrect/)
    const unknownUser = await get(`${sim.serviceUrl}/${TYPES_SET}?$format=json`, { authorization: basic('SOMEONE', 'Welcome1!') })
    expect(unknownUser.status).toBe(401)
  })

  it('accepts user names case-insensitively and configured users', async () => {
    sim = await startSapSimulator({ users: { ALICE: 'a1', bob: 'b2' } })
    expect((await get(`${sim.serviceUrl}/${TYPES_SET}?$format=json`, { authorization: basic('alice', 'a1') })).status).toBe(200)
    expect((await get(`${sim.serviceUrl}/${TYPES_SET}?$format=json`, { authorization: basic('BOB', 'b2') })).status).toBe(200)
    expect((await get(`${sim.serviceUrl}/${TYPES_SET}?$format=json`, { authorization: basic('DEMO', 'Welcome1!') })).status).toBe(401)
  })

  it('serves only the configured sap-client and echoes it in cookies', async () => {
    sim = await startSapSimulator({ sapClient: '200' })
    const ok = await get(`${sim.serviceUrl}/${TYPES_SET}?$format=json&sap-client=200`)
    expect(ok.status).toBe(200)
    const cookies = ok.headers.getSetCookie()
    expect(cookies).toContain('sap-usercontext=sap-client=200; path=/')
    expect(cookies.some((c) => /^SAP_SESSIONID_XYZ_200=[^;]+; path=\//.test(c))).toBe(true)
    const noParam = await get(`${sim.serviceUrl}/${TYPES_SET}?$format=json`)
    expect(noParam.status).toBe(200)
    const wrong = await get(`${sim.serviceUrl}/${TYPES_SET}?$format=json&sap-client=100`)
    expectSapError(wrong, 401, /client 100/)
    expect(wrong.headers.get('www-authenticate')).toContain('[XYZ/200]')
  })

  it('authenticates a follow-up request by its session cookie alone', async () => {
    sim = await startSapSimulator()
    const first = await get(`${sim.serviceUrl}/?$format=json`)
    const session = first.headers
      .getSetCookie()
      .find((c) => c.startsWith('SAP_SESSIONID_'))!
      .split(';')[0]
    const second = await raw(`${sim.serviceUrl}/?$format=json`, { headers: { cookie: session } })
    expect(second.status).toBe(200)
    const bogus = await raw(`${sim.serviceUrl}/?$format=json`, { headers: { cookie: 'SAP_SESSIONID_XYZ_100=forged' } })
    expect(bogus.status).toBe(401)
  })
})

describe('CSRF (A.3)', () => {
  it('refuses a modifying request without a fetched token, then lets it through to 501/405', async () => {
    sim = await startSapSimulator()
    const url = `${sim.serviceUrl}/${SALES_ITEMS}`
    const body = JSON.stringify({ VBELN: '1' })
    const denied = await get(url, { 'content-type': 'application/json' }, { method: 'POST', body })
    expectSapError(denied, 403, /CSRF token validation failed/)
    expect(denied.headers.get('x-csrf-token')).toBe('Required')

    const fetched = await raw(`${sim.serviceUrl}/`, {
      method: 'HEAD',
      headers: { authorization: basic('DEMO', 'Welcome1!'), 'x-csrf-token': 'Fetch' },
    })
    const token = fetched.headers.get('x-csrf-token')!
    expect(token).toMatch(/^[A-Za-z0-9+/=]{20,}$/)
    const cookie = fetched.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ')

    // the token without the session cookie is not enough
    const noCookie = await get(url, { 'x-csrf-token': token }, { method: 'POST', body })
    expect(noCookie.status).toBe(403)

    const accepted = await get(url, { 'x-csrf-token': token, cookie }, { method: 'POST', body })
    expectSapError(accepted, 501, /CREATE_ENTITY' not implemented/)
    const fi = await get(`${sim.serviceUrl}/TerminateDeltasFor${SALES_ITEMS}`, { 'x-csrf-token': token, cookie }, { method: 'POST' })
    expectSapError(fi, 405, /m:HttpMethod="GET"/)
    // nothing was changed
    expect(sim.admin.rowCount(SALES_ITEMS)).toBe(2500)
  })

  it('needs no token for GETs, including the function imports', async () => {
    sim = await startSapSimulator()
    const reply = await get(`${sim.serviceUrl}/SubscribedTo${SALES_ITEMS}?$format=json`)
    expect(reply.status).toBe(200)
    expect(reply.json.d[`SubscribedTo${SALES_ITEMS}`].SubscribedFlag).toBe(false)
  })
})
