/**
 * Client behaviour the simulator does not exercise on purpose (session cookies, foreign hosts in
 * links, redirects, timeouts, non-JSON answers), against a small scripted HTTP server.
 */
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { SourceError } from '../../../src/sap/errors.js'
import { ODataOdpClient, type ReadResult } from '../../../src/sap/odata/index.js'

const metadata = readFileSync(new URL('./fixtures/metadata-sales.xml', import.meta.url), 'utf8')
const SVC = '/sap/opu/odata/sap/Z_SALES_SRV'

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void
interface Script {
  base: string
  requests: Array<{ url: string; headers: IncomingMessage['headers'] }>
  closed: () => number
}

let server: Server | undefined
afterEach(async () => {
  server?.closeAllConnections()
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()))
  server = undefined
})

async function script(handler: Handler): Promise<Script> {
  const requests: Script['requests'] = []
  let closed = 0
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x')
    requests.push({ url: req.url!, headers: req.headers })
    req.on('close', () => {
      if (!res.writableEnded) closed++
    })
    if (url.pathname === `${SVC}/$metadata`) {
      res.writeHead(200, { 'content-type': 'application/xml' }).end(metadata)
      return
    }
    handler(req, res, url)
  })
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()))
  const { port } = server.address() as AddressInfo
  return { base: `http://127.0.0.1:${port}${SVC}`, requests, closed: () => closed }
}

const row = (i: number) => ({
  __metadata: { id: `x(${i})`, type: 'Z_SALES_SRV.EntityOfZSALES' },
  VBELN: String(i).padStart(10, '0'),
  POSNR: '000010',
  ARKTX: 'Grüße',
  NETWR: '1.50',
  WAERK: 'EUR',
  KWMENG: '2.000',
  VRKME: 'ST',
  ERDAT: '/Date(1726531200000)/',
  ERZET: 'PT24H00M00S',
  AEDAT: null,
  ODQ_CHANGEMODE: '',
  ODQ_ENTITYCNTR: '0',
})
const json = (res: ServerResponse, body: unknown, status = 200, headers: Record<string, string> = {}) =>
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))

async function drain(r: ReadResult): Promise<unknown[][]> {
  const rows: unknown[][] = []
  for await (const p of r.pages) rows.push(...p.rows)
  return rows
}

async function rejection(p: Promise<unknown>): Promise<SourceError> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(SourceError)
    return e as SourceError
  }
  throw new Error('expected a rejection')
}

describe('HTTP transport of the OData client', () => {
  it('sends SAP headers and parameters on every request, keeps session cookies within one read only', async () => {
    const s = await script((_req, res, url) => {
      const page = url.searchParams.get('$skiptoken')
      if (!page)
        json(res, { d: { results: [row(1)], __next: `http://127.0.0.1:1${SVC}/EntityOfZSALES?$skiptoken=2` } }, 200, {
          'set-cookie': 'SAP_SESSIONID_DEV_100=s3cr3t; path=/; HttpOnly',
        })
      else json(res, { d: { results: [row(2)], __delta: `${SVC}/EntityOfZSALES?!deltatoken='D20250101000000_000001000'` } })
    })
    const client = new ODataOdpClient({ serviceUrl: `${s.base}/`, user: 'DEMO', password: 'Welcome1!', sapClient: '100', language: 'EN' })
    const r = await client.read({ entitySet: 'EntityOfZSALES', mode: 'DELTA_INIT', pageSize: 1, select: ['NETWR'] })
    expect(r.columns.map((c) => c.name)).toEqual(['VBELN', 'POSNR', 'NETWR', 'ODQ_CHANGEMODE', 'ODQ_ENTITYCNTR'])
    const rows = await drain(r)
    expect(rows).toEqual([
      ['0000000001', '000010', '1.50', '', '0'],
      ['0000000002', '000010', '1.50', '', '0'],
    ])
    expect(await r.end()).toEqual({
      pages: 2,
      rows: 2,
      deltaLink: `${SVC}/EntityOfZSALES?!deltatoken='D20250101000000_000001000'`,
      deltaToken: 'D20250101000000_000001000',
    })
    const data = s.requests.filter((q) => q.url.includes('EntityOfZSALES'))
    expect(data.map((q) => q.url)).toEqual([
      `${SVC}/EntityOfZSALES?$format=json&$select=VBELN,POSNR,NETWR,ODQ_CHANGEMODE,ODQ_ENTITYCNTR&sap-client=100&sap-language=EN`,
      // A link naming another host is sent to the configured host; the missing parameters are appended.
      `${SVC}/EntityOfZSALES?$skiptoken=2&$format=json&sap-client=100&sap-language=EN`,
    ])
    for (const q of s.requests) {
      expect(q.headers.authorization).toBe(`Basic ${Buffer.from('DEMO:Welcome1!').toString('base64')}`)
      expect(q.url).not.toContain('Welcome1')
    }
    expect(data[0].headers).toMatchObject({
      accept: 'application/json',
      dataserviceversion: '2.0',
      maxdataserviceversion: '2.0',
      prefer: 'odata.track-changes, odata.maxpagesize=1',
    })
    expect(data[0].headers.cookie).toBeUndefined()
    expect(data[1].headers.cookie).toBe('SAP_SESSIONID_DEV_100=s3cr3t')
    expect(data[1].headers.prefer).toBe('odata.track-changes, odata.maxpagesize=1')

    // A second read starts a fresh session.
    await drain(await client.read({ entitySet: 'EntityOfZSALES', mode: 'FULL', pageSize: 5 }))
    const full = s.requests.filter((q) => q.url.includes('EntityOfZSALES')).slice(2)
    expect(full[0].headers.cookie).toBeUndefined()
    expect(full[0].headers.prefer).toBe('odata.maxpagesize=5')
  })

  it('honours Retry-After on 503 instead of its own short backoff', async () => {
    let calls = 0
    const s = await script((_req, res) => {
      if (calls++ === 0) json(res, { error: { message: { value: 'busy' } } }, 503, { 'retry-after': '1' })
      else json(res, { d: { results: [row(1)] } })
    })
    const logs: string[] = []
    const client = new ODataOdpClient(
      { serviceUrl: s.base },
      { backoffMs: 1, log: (l, m, d) => logs.push(`${l} ${m} ${String(d?.delayMs)}`) },
    )
    const started = performance.now()
    const rows = await drain(await client.read({ entitySet: 'EntityOfZSALES', mode: 'FULL', pageSize: 10 }))
    expect(performance.now() - started).toBeGreaterThanOrEqual(950)
    expect(rows).toHaveLength(1)
    expect(logs).toContain('warn SAP request failed, retrying 1000')
  })

  it('a request that exceeds timeoutMs is retried, then SOURCE_UNAVAILABLE', async () => {
    let calls = 0
    const s = await script((_req, res) => {
      calls++
      // Headers arrive, the body never does: the timeout must cover the body too.
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"d":{"results":[')
    })
    const client = new ODataOdpClient({ serviceUrl: s.base, timeoutMs: 150 }, { retries: 2, backoffMs: 1 })
    const e = await rejection(drain(await client.read({ entitySet: 'EntityOfZSALES', mode: 'FULL', pageSize: 10 })))
    expect(e.code).toBe('SOURCE_UNAVAILABLE')
    expect(e.message).toMatch(/did not answer within 150 ms .*gave up after 3 attempts/)
    expect(calls).toBe(3)
  })

  it('an HTML logon page with status 200 is SOURCE_PROTOCOL; a redirect is not followed and its target not shown', async () => {
    const s = await script((_req, res, url) => {
      if (url.pathname.endsWith('/EntityOfZSALES'))
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>SAP NetWeaver Logon</body></html>')
      else res.writeHead(302, { location: 'https://idp.example/saml?user=x&password=hunter2' }).end()
    })
    const client = new ODataOdpClient({ serviceUrl: s.base, password: 'hunter2', user: 'x' }, { retries: 0 })
    const e1 = await rejection(drain(await client.read({ entitySet: 'EntityOfZSALES', mode: 'FULL', pageSize: 10 })))
    expect(e1.code).toBe('SOURCE_PROTOCOL')
    expect(e1.message).toContain('text/html that is not JSON')
    expect(e1.message).not.toContain('Logon')
    const e2 = await rejection(client.subscribed('EntityOfZSALES'))
    expect(e2).toMatchObject({ code: 'SOURCE_PROTOCOL', httpStatus: 302 })
    expect(e2.message).toContain('the service redirected')
    expect(e2.message).not.toContain('idp.example')
    expect(e2.message).not.toContain('hunter2')
    // one request each: the redirect was not followed
    expect(s.requests.filter((q) => q.url.includes('SubscribedTo'))).toHaveLength(1)
  })

  it('stops at once on abort, cancelling the in-flight request', async () => {
    let hit!: () => void
    const pageRequested = new Promise<void>((r) => (hit = r))
    const s = await script(() => hit()) // never answers
    const client = new ODataOdpClient({ serviceUrl: s.base })
    const ac = new AbortController()
    const r = await client.read({ entitySet: 'EntityOfZSALES', mode: 'FULL', pageSize: 10, signal: ac.signal })
    const it = r.pages[Symbol.asyncIterator]()
    const next = it.next()
    await pageRequested
    ac.abort()
    await expect(next).rejects.toMatchObject({ name: 'AbortError' })
    await expect(r.end()).rejects.toMatchObject({ name: 'AbortError' })
    // The socket is closed from the client side.
    await expect.poll(() => s.closed()).toBe(1)
  })

  it('refuses a server that sends the same next link again instead of looping', async () => {
    const s = await script((_req, res) => json(res, { d: { results: [row(1)], __next: `${SVC}/EntityOfZSALES?$skiptoken=same` } }))
    const client = new ODataOdpClient({ serviceUrl: s.base })
    const e = await rejection(drain(await client.read({ entitySet: 'EntityOfZSALES', mode: 'FULL', pageSize: 1 })))
    expect(e.code).toBe('SOURCE_PROTOCOL')
    expect(e.message).toContain('same next-page link twice')
  })

  it('a terminal __next with a token is the delta link even on a page with rows; it is not followed', async () => {
    const s = await script((_req, res) =>
      json(res, { d: { results: [row(1), row(2)], __next: `${SVC}/EntityOfZSALES?$format=json&!deltatoken=D20260910` } }),
    )
    const client = new ODataOdpClient({ serviceUrl: s.base })
    const r = await client.read({ entitySet: 'EntityOfZSALES', mode: 'DELTA_INIT', pageSize: 10 })
    expect(await drain(r)).toHaveLength(2)
    expect(await r.end()).toMatchObject({ pages: 1, rows: 2, deltaToken: 'D20260910' })
    expect(s.requests.filter((q) => q.url.includes('EntityOfZSALES'))).toHaveLength(1)
  })

  it('end() rejects when the consumer leaves early; a page cannot be iterated twice', async () => {
    const s = await script((_req, res, url) =>
      json(res, {
        d: { results: [row(1)], __next: url.searchParams.get('$skiptoken') ? undefined : `${SVC}/EntityOfZSALES?$skiptoken=2` },
      }),
    )
    const client = new ODataOdpClient({ serviceUrl: s.base })
    const r = await client.read({ entitySet: 'EntityOfZSALES', mode: 'FULL', pageSize: 1 })
    for await (const p of r.pages) {
      expect(p.index).toBe(0)
      break
    }
    await expect(r.end()).rejects.toMatchObject({ name: 'AbortError', message: 'the read was closed before its last page' })
    await expect(drain(r)).rejects.toMatchObject({ code: 'SOURCE_BAD_REQUEST' })
    // Backpressure: the second page was never requested.
    expect(s.requests.filter((q) => q.url.includes('EntityOfZSALES'))).toHaveLength(1)
  })
})
