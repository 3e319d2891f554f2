import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { fileURLToPath } from 'node:url'
import type { Logger } from '../util/logger.js'
import { StaticFiles } from './static-files.js'

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

/**
 * The dashboard at `/`: a page and its bundle, read once from the build output (`npm run build`,
 * which `npm ci` runs). Like GraphiQL's page it holds no data and no token, so it is served without
 * one; the token is typed into the page and every call it makes carries it.
 */
export class DashboardPage {
  readonly #files: StaticFiles

  constructor(log: Logger) {
    this.#files = new StaticFiles(
      async (path) => ({ body: await readFile(fileURLToPath(new URL(FILES[path].name, dashboardDir()))), type: FILES[path].type }),
      {
        headers: SECURITY_HEADERS,
        failure: {
          status: 503,
          text: 'the dashboard is not built: run `npm run build`',
          logMessage: 'could not read a file of the dashboard (was `npm run build` run?)',
        },
      },
      log,
    )
  }

  static owns(path: string): boolean {
    return path in FILES
  }

  serve(req: IncomingMessage, res: ServerResponse, path: string): void {
    this.#files.serve(req, res, path)
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
