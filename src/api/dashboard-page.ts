import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { fileURLToPath } from 'node:url'
import type { Logger } from '../util/logger.js'

/** The dashboard's files, as scripts/build-dashboard.ts writes them, by the path the page asks for. */
const FILES: Record<string, { name: string; type: string }> = {
  '/': { name: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { name: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/app.css': { name: 'app.css', type: 'text/css; charset=utf-8' },
}

/**
 * Only this origin's scripts, styles and API (HTTP and its websocket): no inline script, nothing
 * from elsewhere, not framed by another page.
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
}

interface File {
  body: Buffer
  type: string
  etag: string
}

/**
 * The dashboard at `/`: a page and its bundle, read once from the build output (`npm run build`,
 * which `npm ci` runs). Like GraphiQL's page it holds no data and no token, so it is served without
 * one; the token is typed into the page and every call it makes carries it.
 */
export class DashboardPage {
  readonly #files = new Map<string, Promise<File>>()

  constructor(private readonly log: Logger) {}

  static owns(path: string): boolean {
    return path in FILES
  }

  serve(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end()
    this.#file(path).then(
      (f) => {
        const headers = { ...SECURITY_HEADERS, etag: f.etag, 'cache-control': 'no-cache' }
        if (req.headers['if-none-match'] === f.etag) return void res.writeHead(304, headers).end()
        res.writeHead(200, { ...headers, 'content-type': f.type, 'content-length': f.body.length })
        res.end(req.method === 'HEAD' ? undefined : f.body)
      },
      (err: unknown) => {
        this.#files.delete(path)
        this.log.error({ err, path }, 'could not read a file of the dashboard (was `npm run build` run?)')
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end('the dashboard is not built: run `npm run build`')
      },
    )
  }

  #file(path: string): Promise<File> {
    let f = this.#files.get(path)
    if (!f) {
      const { name, type } = FILES[path]
      f = readFile(fileURLToPath(new URL(name, dashboardDir()))).then((body) => ({
        body,
        type,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      }))
      this.#files.set(path, f)
    }
    return f
  }
}

/**
 * dist/dashboard/: beside dist/src/ when the service runs from its build, under dist/ when it runs
 * from the sources (tests, tsx).
 */
function dashboardDir(): URL {
  const built = new URL('../../dashboard/', import.meta.url)
  return existsSync(new URL('index.html', built)) ? built : new URL('../../dist/dashboard/', import.meta.url)
}
