/**
 * The load of section e's request figures: `clients` loops, each sending one request and waiting for
 * its answer before the next, over keep-alive connections (undici, as browsers hold theirs), for
 * `seconds`. Each measurement opens its own connections at the start, as 50 dashboards opening at once
 * do: how fast a server takes in new connections under load is part of what is measured (Node accepts
 * one connection per turn of its event loop, README Performance).
 */
import { Pool } from 'undici'
import { percentile } from './lib.js'

export interface LoadFigures {
  requests: number
  requestsPerSecond: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** When the last client had its first answer, from the start: how long the slowest browser waited to see anything. */
  lastFirstAnswerMs: number
  /** p50 and p99 of the requests sent after every client had its first answer: the tail without the connections' opening. */
  steadyP50Ms: number
  steadyP99Ms: number
}

export interface LoadRequest {
  path: string
  headers: Record<string, string>
  /** The body client `i` sends (the same for all, or one of its own). */
  body: (client: number) => string
  /** Throws when an answer is not the one expected (a short page, an error): a fast wrong answer is no figure. */
  check: (answer: unknown) => void
}

export async function measureLoad(origin: string, request: LoadRequest, clients: number, seconds: number): Promise<LoadFigures> {
  const pool = new Pool(origin, { connections: clients, pipelining: 1 })
  const times: number[] = []
  /** Each request's start (from the measurement's) and time, for the steady figures. */
  const sent: Array<[number, number]> = []
  let lastFirstAnswerMs = 0
  try {
    const started = performance.now()
    const deadline = started + seconds * 1000
    await Promise.all(
      Array.from({ length: clients }, async (_, client) => {
        const body = request.body(client)
        let first = true
        while (performance.now() < deadline) {
          const t = performance.now()
          const res = await pool.request({ path: request.path, method: 'POST', headers: request.headers, body })
          const answer = await res.body.json()
          if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${JSON.stringify(answer).slice(0, 500)}`)
          request.check(answer)
          times.push(performance.now() - t)
          sent.push([t - started, performance.now() - t])
          if (first) lastFirstAnswerMs = Math.max(lastFirstAnswerMs, performance.now() - started)
          first = false
        }
      }),
    )
    const elapsed = (performance.now() - started) / 1000
    times.sort((a, b) => a - b)
    const steady = sent.filter(([at]) => at >= lastFirstAnswerMs).map(([, ms]) => ms)
    steady.sort((a, b) => a - b)
    return {
      requests: times.length,
      requestsPerSecond: times.length / elapsed,
      p50Ms: percentile(times, 50),
      p99Ms: percentile(times, 99),
      maxMs: times.at(-1) ?? NaN,
      lastFirstAnswerMs,
      steadyP50Ms: percentile(steady, 50),
      steadyP99Ms: percentile(steady, 99),
    }
  } finally {
    await pool.close()
  }
}
