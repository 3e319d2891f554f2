/**
 * Issue 10, point 2: what a web page in the user's browser could make the service do. Every request
 * here carries a valid admin token where it matters, so a refusal is the browser defences' doing.
 */
import { connect, type Socket } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Harness } from '../helpers/harness.js'
import { gqlPost, initSocket, nodeRequest, openSocket, rawPost } from '../helpers/raw-clients.js'

const EVIL = 'http://evil.example'
const APP = 'https://dashboard.example'
const MUTATION = `mutation { createDestination(input: { name: "csrf", kind: LOCAL, local: { path: "/tmp/csrf" } }) { id } }`

let h: Harness
let url: string
let origin: string
beforeAll(async () => {
  h = await Harness.start({ security: { corsOrigins: [APP] } })
  url = `${h.app.url}/graphql`
  origin = h.app.url!
})
afterAll(() => h.stop())
const destinations = () => h.app.services.db.destination.count({ where: { name: 'csrf' } })

describe('CORS', () => {
  it('answers a preflight from a foreign origin without any allow header', async () => {
    const r = await fetch(url, {
      method: 'OPTIONS',
      headers: { origin: EVIL, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
    })
    expect(r.status).toBe(403)
    expect(r.headers.get('access-control-allow-origin')).toBeNull()
    expect(r.headers.get('access-control-allow-credentials')).toBeNull()
  })

  it('refuses a request from a foreign origin even with a valid token, and runs nothing', async () => {
    const r = await gqlPost(url, h.adminToken, MUTATION, {}, { origin: EVIL })
    expect(r.status).toBe(403)
    expect(r.json?.errors?.[0].extensions?.code).toBe('FORBIDDEN')
    expect(await destinations()).toBe(0)
  })

  it('lets a configured origin (CORS_ORIGINS) in, without credentials', async () => {
    const pre = await fetch(url, {
      method: 'OPTIONS',
      headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
    })
    expect(pre.status).toBeLessThan(300)
    expect(pre.headers.get('access-control-allow-origin')).toBe(APP)
    expect(pre.headers.get('access-control-allow-credentials')).toBeNull()
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/authorization/)
    const r = await gqlPost(url, h.adminToken, '{ connections { id } }', {}, { origin: APP })
    expect(r.status).toBe(200)
    expect(r.headers.get('access-control-allow-origin')).toBe(APP)
  })

  it('serves its own origin (GraphiQL posting to the page it came from)', async () => {
    const r = await gqlPost(url, h.adminToken, '{ connections { id } }', {}, { origin })
    expect(r.status).toBe(200)
    expect(r.json?.data).toEqual({ connections: [] })
  })

  it('is off when no origin is configured: Yoga answers no foreign origin', async () => {
    const plain = await Harness.start()
    try {
      const r = await fetch(`${plain.app.url}/graphql`, {
        method: 'OPTIONS',
        headers: { origin: APP, 'access-control-request-method': 'POST' },
      })
      expect(r.headers.get('access-control-allow-origin')).toBeNull()
      expect(r.status).toBe(403)
    } finally {
      await plain.stop()
    }
  })
})

describe('bodies a cross-site form can send', () => {
  it.each([
    ['application/x-www-form-urlencoded', `query=${encodeURIComponent(MUTATION)}`],
    [
      'multipart/form-data; boundary=x',
      `--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${JSON.stringify({ query: MUTATION })}\r\n--x--\r\n`,
    ],
    ['text/plain', JSON.stringify({ query: MUTATION })],
    ['application/graphql', MUTATION],
  ])('%s is refused with 415 and runs nothing', async (type, body) => {
    const r = await rawPost(url, body, { 'content-type': type, authorization: `Bearer ${h.adminToken}` })
    expect(r.status).toBe(415)
    expect(r.json?.errors?.[0].extensions?.code).toBe('UNSUPPORTED_MEDIA_TYPE')
    expect(await destinations()).toBe(0)
  })

  it('a GET without the CSRF header is refused (Yoga CSRF prevention)', async () => {
    const q = encodeURIComponent('{ connections { id } }')
    const bare = await fetch(`${url}?query=${q}`, { headers: { authorization: `Bearer ${h.adminToken}`, accept: 'application/json' } })
    expect(bare.status).toBe(403)
    const marked = await fetch(`${url}?query=${q}`, {
      headers: { authorization: `Bearer ${h.adminToken}`, accept: 'application/json', 'x-graphql-yoga-csrf': '1' },
    })
    expect(marked.status).toBe(200)
  })

  it('GraphiQL still loads in a browser, without a token, and the page holds none', async () => {
    const r = await fetch(url, { headers: { accept: 'text/html' } })
    expect(r.status).toBe(200)
    const html = await r.text()
    expect(html).toContain('graphiql')
    expect(html).not.toContain(h.adminToken)
  })
})

describe('the GraphiQL page', () => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  /** Memory that a response body can take: JS heap (strings) and buffers (socket queues). */
  const held = () => (gc(), process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers)

  /** A client that asks for the page and stops reading once the first bytes came: as `curl --limit-rate` does. */
  const slowReader = (port: string) =>
    new Promise<Socket>((resolve, reject) => {
      const s = connect(Number(port), '127.0.0.1', () =>
        s.write(`GET /graphql HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/html\r\n\r\n`),
      )
      s.once('error', reject)
      s.once('data', () => (s.pause(), resolve(s)))
    })

  it('is one buffer for every reader: slow readers without a token do not each hold a copy of its 9 MB', async () => {
    const first = await fetch(url, { headers: { accept: 'text/html' } })
    expect((await first.arrayBuffer()).byteLength).toBeGreaterThan(1_000_000)
    const before = held()
    const readers: Socket[] = []
    try {
      for (let i = 0; i < 20; i++) readers.push(await slowReader(new URL(origin).port))
      // A copy per reader was ~45 MB each (the rendered string and its encoding in the socket queue).
      expect(held() - before).toBeLessThan(60 * 1024 * 1024)
    } finally {
      for (const s of readers) s.destroy()
    }
  })

  it('is revalidated by its ETag and sent gzipped to browsers that take it', async () => {
    const plain = await fetch(url, { headers: { accept: 'text/html', 'accept-encoding': 'identity' } })
    const html = Buffer.from(await plain.arrayBuffer())
    const etag = plain.headers.get('etag')
    expect(etag).toMatch(/^".+"$/)
    expect(plain.headers.get('content-type')).toBe('text/html; charset=utf-8')
    const again = await nodeRequest(url, { headers: { accept: 'text/html', 'if-none-match': etag! } })
    expect([again.status, again.text]).toEqual([304, ''])
    const zipped = await new Promise<{ encoding?: string; body: Buffer }>((resolve, reject) =>
      import('node:http').then(({ get }) =>
        get(url, { headers: { accept: 'text/html', 'accept-encoding': 'gzip' } }, (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }))
        }).on('error', reject),
      ),
    )
    expect(zipped.encoding).toBe('gzip')
    expect(zipped.body.length).toBeLessThan(html.length / 2)
    expect(gunzipSync(zipped.body).equals(html)).toBe(true)
  })
})

describe('websockets', () => {
  it('refuses an upgrade from a foreign Origin before any frame', async () => {
    const s = await openSocket(url.replace('http', 'ws'), { origin: EVIL, authorization: `Bearer ${h.adminToken}` })
    expect(s.refused).toBe(403)
  })

  it('accepts its own origin, a configured one, and clients that send no Origin', async () => {
    for (const headers of [{ origin }, { origin: APP }, {}] as Array<Record<string, string>>) {
      const { s, acked } = await initSocket(url.replace('http', 'ws'), { authorization: `Bearer ${h.adminToken}` }, headers)
      expect(acked).toBe(true)
      await s.close()
    }
  })
})

describe('Host header (DNS rebinding)', () => {
  it('refuses a Host that is not one of the bound names, on HTTP and on upgrades', async () => {
    const port = new URL(origin).port
    const r = await nodeRequest(url, {
      method: 'POST',
      headers: { host: `evil.example:${port}`, 'content-type': 'application/json', authorization: `Bearer ${h.adminToken}` },
      body: JSON.stringify({ query: MUTATION }),
    })
    expect(r.status).toBe(421)
    expect(await destinations()).toBe(0)
    const page = await nodeRequest(url, { headers: { host: `evil.example:${port}`, accept: 'text/html' } })
    expect(page.status).toBe(421)
    const s = await openSocket(url.replace('http', 'ws'), { host: `evil.example:${port}` })
    expect(s.refused).toBe(421)
  })

  it('accepts the loopback names when bound to loopback', async () => {
    const port = new URL(origin).port
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      const r = await nodeRequest(url, {
        method: 'POST',
        headers: { host, 'content-type': 'application/json', authorization: `Bearer ${h.adminToken}` },
        body: '{"query":"{ connections { id } }"}',
      })
      expect(r.status, host).toBe(200)
    }
  })

  it('follows ALLOWED_HOSTS when it is set', async () => {
    const custom = await Harness.start({ security: { allowedHosts: ['api.example'] } })
    try {
      const port = new URL(custom.app.url!).port
      const at = (host: string) =>
        nodeRequest(`${custom.app.url}/graphql`, {
          method: 'POST',
          headers: { host, 'content-type': 'application/json', authorization: `Bearer ${custom.adminToken}` },
          body: '{"query":"{ connections { id } }"}',
        })
      expect((await at(`api.example:${port}`)).status).toBe(200)
      expect((await at(`127.0.0.1:${port}`)).status).toBe(421)
    } finally {
      await custom.stop()
    }
  })
})
