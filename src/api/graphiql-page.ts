import type { IncomingMessage, ServerResponse } from 'node:http'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import type { GraphiQLOptions } from 'graphql-yoga'
import type { Logger } from '../util/logger.js'
import { etagOf } from './static-files.js'

interface Page {
  html: Buffer
  gzipped: Buffer
  etag: string
}

/**
 * GraphiQL's page, served outside Yoga from one buffer made on first use. The bundled GraphiQL
 * inlines its scripts (~9 MB); Yoga rendered a new string for every request, and each slow reader
 * held its own copy (and its encoding) until it had read it all: a few hundred requests without a
 * token took gigabytes. Here every response writes the same Buffer, which a socket's queue holds by
 * reference, and browsers revalidate with the ETag instead of downloading it again.
 */
export class GraphiQLPage {
  #page: Promise<Page> | undefined

  constructor(
    private readonly options: GraphiQLOptions,
    private readonly log: Logger,
  ) {}

  /** The request Yoga would answer with GraphiQL: a GET that accepts HTML (the path is checked by the caller). */
  static wants(req: IncomingMessage): boolean {
    return req.method === 'GET' && (req.headers.accept ?? '').includes('text/html')
  }

  serve(req: IncomingMessage, res: ServerResponse): void {
    this.#render().then(
      (page) => {
        const headers = { etag: page.etag, 'cache-control': 'no-cache', vary: 'accept-encoding' }
        if (req.headers['if-none-match'] === page.etag) return void res.writeHead(304, headers).end()
        const zipped = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))
        const body = zipped ? page.gzipped : page.html
        res.writeHead(200, {
          ...headers,
          'content-type': 'text/html; charset=utf-8',
          'content-length': body.length,
          ...(zipped ? { 'content-encoding': 'gzip' } : {}),
        })
        res.end(body)
      },
      (err) => {
        this.#page = undefined // the next request tries again
        this.log.error({ err }, 'could not render the GraphiQL page')
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
        res.end('GraphiQL is not available')
      },
    )
  }

  #render(): Promise<Page> {
    this.#page ??= (async () => {
      // A large module (tens of MB resident): loaded when a browser first asks for the page.
      const { renderGraphiQL } = await import('@graphql-yoga/render-graphiql')
      const html = Buffer.from(renderGraphiQL(this.options), 'utf8')
      const gzipped = await promisify(gzip)(html)
      return { html, gzipped, etag: etagOf(html) }
    })()
    return this.#page
  }
}
