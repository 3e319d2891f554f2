/**
 * Pages streamed as their bodies arrive: batches within a server page, a connection lost mid-body
 * (resumed after the rows already yielded, or refused when SAP resends something else), timeouts
 * that count SAP's time only, and cancellation of a half-read body. Against a scripted HTTP server.
 */
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { SourceError } from '../../../src/sap/errors.js'
import { ODataOdpClient, type Page, type ReadResult } from '../../../src/sap/odata/index.js'

const metadata = readFileSync(new URL('./fixtures/metadata-sales.xml', import.meta.url), 'utf8')
const SVC = '/sap/opu/odata/sap/Z_SALES_SRV'
const SET = 'EntityOfZSALES'

/** Answers one data request: `n` counts data requests from 1; `url` carries the `$skiptoken`. */
type Handler = (res: ServerResponse, n: number, url: URL) => void | Promise<void>
interface Script {
  base: string
  requests: () => number
  /** Responses whose connection closed before they ended. */
  cutOff: () => number
}

let server: Server | undefined
afterEach(async () => {
  server?.closeAllConnections()
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()))
  server = undefined
})

async function script(handler: Handler): Promise<Script> {
  let requests = 0
  let cutOff = 0
  server = createServer((req: IncomingMessage, res) => {
    const url = new URL(req.url!, 'http://x')
    if (url.pathname === `${SVC}/$metadata`) return void res.writeHead(200, { 'content-type': 'application/xml' }).end(metadata)
    res.on('close', () => {
      if (!res.writableEnded) cutOff++
    })
    void handler(res, ++requests, url)
  })
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()))
  const { port } = server.address() as AddressInfo
  return { base: `http://127.0.0.1:${port}${SVC}`, requests: () => requests, cutOff: () => cutOff }
}

const row = (i: number) => ({
  __metadata: { id: `http://h${SVC}/${SET}('${i}')`, uri: `http://h${SVC}/${SET}('${i}')`, type: `Z_SALES_SRV.${SET}` },
  VBELN: String(i).padStart(10, '0'),
  POSNR: '000010',
  ARKTX: i % 2 ? 'Grüße "zitiert" \\ 日本' : 'Pièce détachée',
  NETWR: `${i}.50`,
  WAERK: 'EUR',
  KWMENG: '2.000',
  VRKME: 'ST',
  ERDAT: '/Date(1726531200000)/',
  ERZET: 'PT24H00M00S',
  AEDAT: null,
  ODQ_CHANGEMODE: '',
  ODQ_ENTITYCNTR: '0',
})
const vbeln = (p: Page) => p.rows.map((r) => Number(r[0]))
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k)
/** A page body; `next` goes before `results` to show that key order does not matter. */
const page = (ids: number[], next?: string) =>
  JSON.stringify({ d: { ...(next ? { __next: next } : {}), results: ids.map(row), __count: String(ids.length) } })
const head = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' })

function client(base: string, opts: { timeoutMs?: number; retries?: number; log?: (m: string, d?: Record<string, unknown>) => void } = {}) {
  return new ODataOdpClient(
    { serviceUrl: base, timeoutMs: opts.timeoutMs },
    { retries: opts.retries ?? 2, backoffMs: 1, log: (_l, m, d) => opts.log?.(m, d) },
  )
}

async function collect(r: ReadResult, onPage?: (p: Page) => Promise<void> | void): Promise<Page[]> {
  const pages: Page[] = []
  for await (const p of r.pages) {
    pages.push(p)
    await onPage?.(p)
  }
  return pages
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

describe('streamed pages', () => {
  it('yields a server page in batches while its body still arrives; ReadEnd counts batches and rows', async () => {
    let release!: () => void
    const held = new Promise<void>((r) => (release = r))
    const s = await script(async (res, n) => {
      head(res)
      if (n === 1) {
        const body = page(range(1, 7), `${SVC}/${SET}?$skiptoken=2`)
        const cut = body.indexOf('"VBELN":"0000000005"')
        res.write(body.slice(0, cut))
        await held // the rest only once the client has handed out rows of the part it has
        res.end(body.slice(cut))
      } else res.end(page(range(8, 12)))
    })
    const r = await client(s.base).read({ entitySet: SET, mode: 'FULL', pageSize: 7, batchRows: 3 })
    const pages = await collect(r, (p) => {
      if (p.index === 0) release()
    })
    expect(pages.map((p) => p.rows.length)).toEqual([3, 3, 1, 3, 2])
    expect(pages.map((p) => p.index)).toEqual([0, 1, 2, 3, 4])
    expect(pages.flatMap(vbeln)).toEqual(range(1, 12))
    expect(pages[0].rows[0]).toEqual([
      '0000000001',
      '000010',
      'Grüße "zitiert" \\ 日本',
      '1.50',
      'EUR',
      '2.000',
      'ST',
      new Date(1726531200000),
      86_400_000_000,
      null,
      '',
      '0',
    ])
    expect(await r.end()).toEqual({ pages: 5, rows: 12 })
  })

  it('a connection lost mid-body is retried and resumes after the rows already yielded', async () => {
    const body = page(range(1, 9))
    const cut = body.indexOf('"VBELN":"0000000006"') + 5 // inside row 6
    const s = await script((res, n) => {
      head(res)
      if (n === 1) res.write(body.slice(0, cut), () => res.destroy())
      else res.end(body)
    })
    const logs: Array<Record<string, unknown> | undefined> = []
    const r = await client(s.base, { log: (m, d) => m.includes('retrying') && logs.push(d) }).read({
      entitySet: SET,
      mode: 'FULL',
      pageSize: 9,
      batchRows: 2,
    })
    const pages = await collect(r)
    expect(pages.flatMap(vbeln)).toEqual(range(1, 9))
    expect(pages.map((p) => p.rows.length)).toEqual([2, 2, 2, 2, 1])
    expect(s.requests()).toBe(2)
    expect(logs).toHaveLength(1)
    expect(logs[0]?.resumeAtByte).toBe(Buffer.byteLength(body.slice(0, cut)))
  })

  it('a resent page that differs from the part already read fails retryable, without a row twice', async () => {
    const s = await script((res, n) => {
      head(res)
      const body = page(n === 1 ? range(1, 6) : range(101, 106))
      if (n === 1) res.write(body.slice(0, body.indexOf('"VBELN":"0000000005"')), () => res.destroy())
      else res.end(body)
    })
    const r = await client(s.base).read({ entitySet: SET, mode: 'FULL', pageSize: 6, batchRows: 2 })
    const got: number[] = []
    const e = await rejection(collect(r, (p) => void got.push(...vbeln(p))))
    expect(e).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true })
    expect(e.message).toContain('differs in the first')
    expect(got).toEqual([1, 2, 3, 4])
    await expect(r.end()).rejects.toBe(e)
  })

  it('a resent page shorter than the part already read fails retryable', async () => {
    const s = await script((res, n) => {
      head(res)
      const body = page(range(1, 6))
      if (n === 1) res.write(body.slice(0, body.indexOf('"VBELN":"0000000005"')), () => res.destroy())
      else res.end(body.slice(0, 30))
    })
    const e = await rejection(collect(await client(s.base).read({ entitySet: SET, mode: 'FULL', pageSize: 6, batchRows: 2 })))
    expect(e).toMatchObject({ code: 'SOURCE_UNAVAILABLE' })
    expect(e.message).toContain('ended before the first')
  })

  it('a body that stalls mid-way times out, is retried and resumes', async () => {
    const body = page(range(1, 5))
    const s = await script((res, n) => {
      head(res)
      if (n === 1)
        res.write(body.slice(0, body.indexOf('"VBELN":"0000000003"'))) // then nothing
      else res.end(body)
    })
    const r = await client(s.base, { timeoutMs: 200 }).read({ entitySet: SET, mode: 'FULL', pageSize: 5, batchRows: 1 })
    expect((await collect(r)).flatMap(vbeln)).toEqual(range(1, 5))
    expect(s.requests()).toBe(2)
    expect(s.cutOff()).toBe(1)
  })

  it('the timeout counts the time SAP takes, not the time the consumer holds a batch', async () => {
    const body = page(range(1, 4))
    const s = await script(async (res) => {
      head(res)
      res.write(body.slice(0, body.indexOf('"VBELN":"0000000003"')))
      await sleep(50)
      res.end(body.slice(body.indexOf('"VBELN":"0000000003"')))
    })
    const r = await client(s.base, { timeoutMs: 300, retries: 0 }).read({ entitySet: SET, mode: 'FULL', pageSize: 4, batchRows: 1 })
    const pages = await collect(r, () => sleep(150)) // 4 × 150 ms held by the consumer > 300 ms
    expect(pages.flatMap(vbeln)).toEqual(range(1, 4))
    expect(s.requests()).toBe(1)
  })

  it('a consumer that stops or aborts mid-page closes the connection of the half-read body', async () => {
    const body = page(range(1, 50))
    const s = await script((res) => {
      head(res)
      res.write(body.slice(0, body.indexOf('"VBELN":"0000000010"'))) // the rest never comes
    })
    const c = client(s.base)
    const stopped = await c.read({ entitySet: SET, mode: 'FULL', pageSize: 50, batchRows: 2 })
    for await (const p of stopped.pages) {
      expect(vbeln(p)).toEqual([1, 2])
      break
    }
    await expect(stopped.end()).rejects.toMatchObject({ name: 'AbortError' })
    await expect.poll(() => s.cutOff()).toBe(1)

    const ac = new AbortController()
    const aborted = await c.read({ entitySet: SET, mode: 'FULL', pageSize: 50, batchRows: 2, signal: ac.signal })
    const it = aborted.pages[Symbol.asyncIterator]()
    expect(vbeln((await it.next()).value as Page)).toEqual([1, 2])
    ac.abort()
    // rows already received may still come out; then the abort
    await expect(collect({ ...aborted, pages: { [Symbol.asyncIterator]: () => it } })).rejects.toMatchObject({ name: 'AbortError' })
    await expect.poll(() => s.cutOff()).toBe(2)
    expect(s.requests()).toBe(2)
  })

  it('an abort while the consumer holds a batch of a body that has fully arrived ends the read at once', async () => {
    const s = await script((res) => void head(res).end(page(range(1, 4))))
    const ac = new AbortController()
    const r = await client(s.base).read({ entitySet: SET, mode: 'FULL', pageSize: 4, batchRows: 1, signal: ac.signal })
    const got: number[] = []
    const t0 = performance.now()
    await expect(
      collect(r, async (p) => {
        got.push(...vbeln(p))
        await sleep(30) // the rest of the body arrives meanwhile
        if (p.index === 0) ac.abort()
      }),
    ).rejects.toMatchObject({ name: 'AbortError' })
    expect(performance.now() - t0).toBeLessThan(2000)
    expect(got).toEqual([1])
  })

  it('an empty terminal page whose __next (before results) carries a token is the delta link, not followed', async () => {
    const link = `${SVC}/${SET}?$format=json&!deltatoken='D20260101000000_000000001'`
    const s = await script((res, n) => {
      head(res)
      res.end(n === 1 ? page(range(1, 3), `${SVC}/${SET}?$skiptoken=2`) : page([], link))
    })
    const r = await client(s.base).read({ entitySet: SET, mode: 'DELTA_INIT', pageSize: 3, batchRows: 2 })
    expect((await collect(r)).map((p) => p.rows.length)).toEqual([2, 1])
    expect(await r.end()).toMatchObject({ pages: 2, rows: 3, deltaLink: link, deltaToken: 'D20260101000000_000000001' })
    expect(s.requests()).toBe(2)
  })

  it('a 2xx body that is not a page: not JSON, cut short, or without d.results', async () => {
    const bodies = ['<html>SAP NetWeaver Logon</html>', page(range(1, 3)).slice(0, -40), '{"d":{"__count":"0"}}']
    const s = await script((res, n) => void head(res).end(bodies[n - 1]))
    const c = client(s.base, { retries: 0 })
    const messages: string[] = []
    for (let k = 0; k < bodies.length; k++) {
      const e = await rejection(collect(await c.read({ entitySet: SET, mode: 'FULL', pageSize: 3 })))
      expect(e.code).toBe('SOURCE_PROTOCOL')
      messages.push(e.message)
    }
    expect(messages[0]).toContain('application/json that is not JSON')
    expect(messages[0]).toContain('an HTML or XML page')
    expect(messages[0]).not.toContain('NetWeaver') // the body's text is not repeated
    expect(messages[1]).toContain('that is not JSON')
    expect(messages[2]).toContain('has no d.results array')
  })
})
