/**
 * Clients below the GraphQL client libraries, for what those libraries would never send: missing
 * or foreign headers, wrong bodies, raw websocket frames. Each returns what came back as data
 * (status, headers, body, close code) for assertions.
 */
import WebSocket from 'ws'

export interface RawResponse {
  status: number
  headers: Headers
  text: string
  json: { data?: any; errors?: Array<{ message: string; extensions?: Record<string, any> }> } | undefined
}

export async function rawPost(url: string, body: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })
  return toRaw(res)
}

export async function toRaw(res: Response): Promise<RawResponse> {
  const text = await res.text()
  let json
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.status, headers: res.headers, text, json }
}

/** POST of a GraphQL operation with a token (or none), JSON as clients send it. */
export const gqlPost = (
  url: string,
  token: string | undefined,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
) => rawPost(url, JSON.stringify({ query, variables }), { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers })

export interface SocketOutcome {
  /** Messages received, parsed. */
  messages: Array<Record<string, any>>
  /** Close code and reason, once closed. */
  closed: Promise<{ code: number; reason: string }>
  socket: WebSocket
  /** The next message that satisfies `pred` (or rejects when the socket closes first or after `ms`). */
  next(pred?: (m: Record<string, any>) => boolean, ms?: number): Promise<Record<string, any>>
  send(msg: unknown): void
  close(): Promise<void>
}

/**
 * A graphql-transport-ws socket. Resolves once the upgrade is answered: `refused` holds the HTTP
 * status when the server declined the upgrade.
 */
export function openSocket(wsUrl: string, headers: Record<string, string> = {}): Promise<SocketOutcome & { refused?: number }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws', { headers })
    const messages: Array<Record<string, any>> = []
    const waiters = new Set<{
      pred: (m: Record<string, any>) => boolean
      resolve: (m: Record<string, any>) => void
      reject: (e: Error) => void
    }>()
    let closeInfo: { code: number; reason: string } | undefined
    const closed = new Promise<{ code: number; reason: string }>((r) =>
      socket.on('close', (code, reason) => {
        closeInfo = { code, reason: reason.toString() }
        for (const w of waiters) w.reject(new Error(`socket closed ${code} ${reason}`))
        r(closeInfo)
      }),
    )
    socket.on('error', () => undefined) // the close event carries the outcome
    socket.on('message', (data) => {
      let m: Record<string, any>
      try {
        m = JSON.parse(String(data))
      } catch {
        m = { raw: String(data) }
      }
      messages.push(m)
      for (const w of waiters)
        if (w.pred(m)) {
          waiters.delete(w)
          w.resolve(m)
        }
    })
    const outcome: SocketOutcome = {
      messages,
      closed,
      socket,
      next(pred = () => true, ms = 10_000) {
        const seen = messages.find(pred)
        if (seen) {
          messages.splice(messages.indexOf(seen), 1)
          return Promise.resolve(seen)
        }
        if (closeInfo) return Promise.reject(new Error(`socket closed ${closeInfo.code} ${closeInfo.reason}`))
        return new Promise((res, rej) => {
          const timer = setTimeout(() => (waiters.delete(w), rej(new Error(`no matching message within ${ms} ms`))), ms)
          const w = {
            pred,
            resolve: (m: Record<string, any>) => (clearTimeout(timer), messages.splice(messages.indexOf(m), 1), res(m)),
            reject: (e: Error) => (clearTimeout(timer), rej(e)),
          }
          waiters.add(w)
        })
      },
      send: (msg) => socket.send(typeof msg === 'string' || Buffer.isBuffer(msg) ? msg : JSON.stringify(msg)),
      close: async () => {
        if (socket.readyState !== WebSocket.CLOSED) socket.close()
        await closed
      },
    }
    socket.on('open', () => resolve(outcome))
    socket.on('unexpected-response', (_req, res) => {
      resolve({ ...outcome, refused: res.statusCode })
      socket.terminate()
    })
  })
}

/** A socket past connection_init with `payload`; resolves with the ack or the close. */
export async function initSocket(wsUrl: string, payload?: Record<string, unknown>, headers: Record<string, string> = {}) {
  const s = await openSocket(wsUrl, headers)
  if (s.refused) return { s, acked: false as const }
  s.send({ type: 'connection_init', payload })
  const first = await Promise.race([s.next((m) => m.type === 'connection_ack').catch(() => undefined), s.closed.then(() => undefined)])
  return { s, acked: !!first }
}

/**
 * A subscription over SSE (Yoga's `Accept: text/event-stream`): yields each `next` payload, ends
 * with the stream.
 */
export async function* sseSubscribe(
  url: string,
  token: string,
  query: string,
  variables: Record<string, unknown> = {},
  signal?: AbortSignal,
) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
    signal,
  })
  if (!res.ok || !res.body) throw new Error(`SSE refused: ${res.status} ${await res.text()}`)
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true })
    let end
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const event = /^event: (.*)$/m.exec(block)?.[1]
      const data = /^data: (.*)$/m.exec(block)?.[1]
      if (event === 'complete') return
      if (data) yield JSON.parse(data) as { data?: any; errors?: Array<{ message: string; extensions?: Record<string, any> }> }
    }
  }
}

/** A request through node:http, which (unlike fetch) lets a test set the Host header. */
export function nodeRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return import('node:http').then(
    ({ request }) =>
      new Promise((resolve, reject) => {
        const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (d) => (text += d))
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }))
        })
        req.on('error', reject)
        req.end(opts.body)
      }),
  )
}
