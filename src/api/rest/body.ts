import type { IncomingMessage } from 'node:http'
import type { Problem } from './problem.js'

/**
 * The JSON body of a REST request, read under the same size limit as GraphQL bodies
 * (MAX_REQUEST_BYTES, architecture.md "Security": Transport). A body must be application/json:
 * forms and text/plain are what a foreign page can send unasked. An empty body is no body, so
 * `curl -X POST …/run` (the original's call, with no Content-Type) works.
 */
export type Body = { ok: true; value: unknown } | { ok: false; problem: Problem }

export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<Body> {
  const declared = Number(req.headers['content-length'] ?? NaN)
  if (declared > maxBytes) return tooLarge(maxBytes)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > maxBytes) return tooLarge(maxBytes)
    chunks.push(chunk)
  }
  if (size === 0) return { ok: true, value: undefined }
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
  if (type !== 'application/json')
    return { ok: false, problem: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', detail: 'request bodies must be application/json' } }
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown }
  } catch {
    // The parser's message quotes the text it could not read (a password with it): not repeated.
    return { ok: false, problem: { status: 400, code: 'BAD_REQUEST', detail: 'the request body is not valid JSON' } }
  }
}

const tooLarge = (maxBytes: number): Body => ({
  ok: false,
  problem: { status: 413, code: 'PAYLOAD_TOO_LARGE', detail: `the request body is larger than ${maxBytes} bytes (MAX_REQUEST_BYTES)` },
})
