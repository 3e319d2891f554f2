/**
 * Issue 10 review: a token holding subscriptions without bound stalled the service (100,000
 * `subscribe` frames on one socket: +640 MB). Subscriptions are capped per websocket and per token
 * (websockets and SSE together), websockets per token; each refusal is a coded error or close code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Harness } from '../helpers/harness.js'
import { initSocket, rawPost, type SocketOutcome } from '../helpers/raw-clients.js'

const LIMITS = { perSocket: 5, perToken: 8, socketsPerToken: 3 }
const SUBSCRIBE = 'subscription { runUpdates { id } }'

let h: Harness
let url: string
let wsUrl: string
beforeAll(async () => {
  h = await Harness.start({ security: { subscriptions: LIMITS } })
  url = `${h.app.url}/graphql`
  wsUrl = url.replace('http', 'ws')
})
afterAll(() => h.stop())

async function tokenFor(name: string) {
  return (await h.app.services.tokens.create({ name, role: 'VIEWER' })).token
}
async function socket(token: string): Promise<SocketOutcome> {
  const { s, acked } = await initSocket(wsUrl, { authorization: `Bearer ${token}` })
  expect(acked).toBe(true)
  return s
}
const subscribe = (s: SocketOutcome, id: string) => s.send({ id, type: 'subscribe', payload: { query: SUBSCRIBE } })
/**
 * The errors a refused subscribe gets (a subscribe that was taken gets nothing until a run changes):
 * an `error` message when refused before execution (per socket), a `next` with errors from the envelope (per token).
 */
const refusalOf = (s: SocketOutcome, id: string) =>
  s
    .next((m) => m.id === id && (m.type === 'error' || (m.type === 'next' && !!m.payload.errors)))
    .then((m) => (m.type === 'error' ? m.payload : m.payload.errors))

/** An SSE subscription: taken (200, the stream stays open) or refused (its status and the error it ends with). */
async function sse(token: string) {
  const ctrl = new AbortController()
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: SUBSCRIBE }),
    signal: ctrl.signal,
  })
  const data = res.status === 200 ? undefined : /^data: (.+)$/m.exec(await res.text())?.[1]
  return { status: res.status, payload: data ? JSON.parse(data) : undefined, close: () => ctrl.abort() }
}

/** Retries `attempt` until it succeeds: a release happens when the server sees a close, a moment after the client's. */
async function eventually<T>(attempt: () => Promise<T | undefined>, what: string, tries = 200): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const r = await attempt()
    if (r !== undefined) return r
  }
  throw new Error(`${what}: not within ${tries} attempts`)
}

describe('per websocket', () => {
  it('refuses operations beyond SUBSCRIPTIONS_PER_SOCKET with TOO_MANY_SUBSCRIPTIONS; a completed one makes room', async () => {
    const s = await socket(await tokenFor('socket-cap'))
    for (let i = 1; i <= 5; i++) subscribe(s, `s${i}`)
    subscribe(s, 's6')
    expect(await refusalOf(s, 's6')).toEqual([
      {
        message: 'too many operations open on this websocket: at most 5; complete some first',
        extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', limit: 'perSocket' },
      },
    ])
    s.send({ id: 's1', type: 'complete' })
    subscribe(s, 's7') // takes s1's place
    subscribe(s, 's8')
    expect(await refusalOf(s, 's8')).toMatchObject([{ extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } }])
    // Queries on a full socket are refused the same way; none of the taken subscriptions got an error.
    s.send({ id: 'q', type: 'subscribe', payload: { query: '{ __typename }' } })
    expect(await refusalOf(s, 'q')).toMatchObject([{ extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', limit: 'perSocket' } }])
    expect(s.messages).toEqual([])
    await s.close()
  })

  it('a flood of subscribe frames on one socket leaves the cap open and the rest refused; the service keeps answering', async () => {
    const token = await tokenFor('flood')
    const s = await socket(token)
    for (let i = 0; i < 2000; i++) subscribe(s, `f${i}`)
    // The first five are taken (each frame holds its place from arrival); all others are refused.
    const refusals = await Promise.all(Array.from({ length: 1995 }, (_, i) => refusalOf(s, `f${i + 5}`)))
    expect(new Set(refusals.map((p) => p[0].extensions.limit))).toEqual(new Set(['perSocket']))
    expect(s.messages).toEqual([])
    const started = performance.now()
    expect((await rawPost(url, JSON.stringify({ query: '{ __typename }' }), { authorization: `Bearer ${token}` })).json).toEqual({
      data: { __typename: 'Query' },
    })
    expect(performance.now() - started).toBeLessThan(1_000)
    await s.close()
  })
})

describe('per token', () => {
  it('counts websockets and SSE together (SUBSCRIPTIONS_PER_TOKEN), and gives a slot back when a subscription ends', async () => {
    const token = await tokenFor('token-cap')
    const a = await socket(token)
    const b = await socket(token)
    for (let i = 1; i <= 5; i++) subscribe(a, `a${i}`)
    for (let i = 1; i <= 2; i++) subscribe(b, `b${i}`)
    const open = await sse(token) // the eighth
    expect([open.status, open.payload]).toEqual([200, undefined])
    subscribe(b, 'b3')
    expect(await refusalOf(b, 'b3')).toEqual([
      {
        message: 'too many subscriptions for this API token: at most 8; complete some first',
        extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', limit: 'perToken' },
      },
    ])
    const refusedSse = await sse(token)
    expect(refusedSse.status).toBe(429)
    expect(refusedSse.payload).toMatchObject({ errors: [{ extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', limit: 'perToken' } }] })
    refusedSse.close()
    // Another token is not held back by this one.
    const other = await sse(await tokenFor('token-cap-other'))
    expect([other.status, other.payload]).toEqual([200, undefined])
    other.close()

    // Closing the socket ends its five subscriptions: their slots come back.
    await a.close()
    open.close()
    const again = await eventually(async () => {
      const r = await sse(token)
      return r.status === 200 ? r : undefined
    }, 'a slot after the socket closed')
    expect(again.status).toBe(200)
    again.close()
    await b.close()
  })

  it('refuses websockets beyond SOCKETS_PER_TOKEN with close code 4429', async () => {
    const token = await tokenFor('sockets')
    const open = [await socket(token), await socket(token), await socket(token)]
    const fourth = await initSocket(wsUrl, { authorization: `Bearer ${token}` })
    expect(fourth.acked).toBe(false)
    expect(await fourth.s.closed).toEqual({ code: 4429, reason: 'Too many connections: at most 3 websockets per API token' })
    await open[0].close()
    const next = await eventually(async () => {
      const r = await initSocket(wsUrl, { authorization: `Bearer ${token}` })
      return r.acked ? r.s : undefined
    }, 'a socket after one closed')
    for (const s of [next, open[1], open[2]]) await s.close()
  })
})
