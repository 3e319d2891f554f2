import { createHash } from 'node:crypto'
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { Logger } from '../util/logger.js'

/** A file served from memory: its bytes, its content type, and the validator browsers revalidate with. */
interface File {
  body: Buffer
  type: string
  etag: string
}

/** A strong ETag: the first 160 bits of the body's SHA-256. */
export function etagOf(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`
}

/** What to answer when a file cannot be loaded (it is tried again on the next request). */
export interface LoadFailure {
  status: number
  /** The answer's text, for the browser. */
  text: string
  /** The log line, for the operator. */
  logMessage: string
}

/**
 * Pages the service serves itself (the dashboard, /docs): each file loaded once on first use and kept
 * as one Buffer that every response writes, GET and HEAD only, revalidated with its ETag. The pages
 * hold no data and no token, so the caller serves them after the Host and Origin checks alone.
 */
export class StaticFiles {
  readonly #files = new Map<string, Promise<File>>()

  constructor(
    private readonly load: (path: string) => Promise<{ body: Buffer; type: string }>,
    private readonly opts: { headers?: OutgoingHttpHeaders; failure: LoadFailure },
    private readonly log: Logger,
  ) {}

  serve(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end()
    this.#file(path).then(
      (f) => {
        const headers = { ...this.opts.headers, etag: f.etag, 'cache-control': 'no-cache' }
        if (req.headers['if-none-match'] === f.etag) return void res.writeHead(304, headers).end()
        res.writeHead(200, { ...headers, 'content-type': f.type, 'content-length': f.body.length })
        res.end(req.method === 'HEAD' ? undefined : f.body)
      },
      (err: unknown) => {
        this.#files.delete(path)
        const { status, text, logMessage } = this.opts.failure
        this.log.error({ err, path }, logMessage)
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text)
      },
    )
  }

  #file(path: string): Promise<File> {
    let f = this.#files.get(path)
    if (!f) {
      f = this.load(path).then(({ body, type }) => ({ body, type, etag: etagOf(body) }))
      this.#files.set(path, f)
    }
    return f
  }
}
