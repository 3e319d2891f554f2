import { createGraphQLError, type Plugin } from 'graphql-yoga'

/**
 * MAX_REQUEST_BYTES for GraphQL bodies, in place of Yoga's own `maxRequestBodySize` (set to false in
 * server.ts), with the same answers: 400 for a Content-Length that is not one number, 413 for a larger
 * one, 413 when a body without a length (chunked) grows past the limit while it is read.
 *
 * Yoga pipes every body through a counting TransformStream, a length or not. With a Content-Length
 * and no Transfer-Encoding, Node's HTTP parser hands over exactly that many bytes as the body (HTTP/1.1
 * message framing; whatever follows is parsed as the next request), so a length at most the limit
 * bounds the body already. The stream, its pipeline and the AbortError Node makes when a pipeline ends
 * were ~5 % of a request's CPU under load (README Performance); they are kept for chunked bodies only.
 */
export function useRequestBodyLimit(limit: number): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const length = request.headers.get('content-length')
      if (length !== null) {
        // One non-negative integer only: anything else (comma-joined values) is how smuggling starts.
        if (!/^\d+$/.test(length)) throw refusal('Content-Length header is invalid.', 400, 'BAD_REQUEST')
        if (Number(length) > limit) throw tooLarge()
        if (!request.headers.has('transfer-encoding')) return
      }
      if (!requestParser || !request.body) return
      const parse = requestParser
      setRequestParser((req) => parse(counted(req, limit, fetchAPI)))
    },
  }
}

type FetchAPI = Parameters<NonNullable<Plugin['onRequestParse']>>[0]['fetchAPI']

/** The request with a body that fails with 413 once more than `limit` bytes have passed (as Yoga's). */
function counted(request: Request, limit: number, fetchAPI: FetchAPI): Request {
  // Node's own ReadableStream pipes only into Node's own TransformStream (graphql-yoga's workaround too).
  const Transform = request.body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream
  let read = 0
  const body = request.body!.pipeThrough(
    new Transform({
      transform(chunk: Uint8Array, controller: TransformStreamDefaultController<Uint8Array>) {
        read += chunk.byteLength
        if (read > limit) return controller.error(tooLarge())
        controller.enqueue(chunk)
      },
    }),
  )
  return new fetchAPI.Request(request.url, {
    method: request.method,
    headers: request.headers,
    signal: request.signal,
    body,
    duplex: 'half',
  } as RequestInit)
}

const tooLarge = () => refusal('Request body too large', 413, 'REQUEST_ENTITY_TOO_LARGE')

const refusal = (message: string, status: number, code: string) => createGraphQLError(message, { extensions: { http: { status }, code } })
