import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Logger } from '../../util/logger.js'

/** Swagger UI's files, served from the installed swagger-ui-dist: nothing is fetched from the internet (like GraphiQL, graphiql-page.ts). */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>delta-extractor REST API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="docs"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`

// validatorUrl null: Swagger UI would otherwise send the document to validator.swagger.io.
const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#docs', validatorUrl: null, persistAuthorization: false, tryItOutEnabled: true })\n`

interface File {
  body: Buffer
  type: string
  etag: string
}

/**
 * Interactive docs at /docs: Swagger UI over /openapi.json, every file from this process. The page
 * holds no data and no token (the token goes into its Authorize dialog), so it is served without
 * one, like GraphiQL's page; the calls it makes carry the token and meet the same checks as any.
 */
export class DocsPage {
  readonly #files = new Map<string, Promise<File>>()

  constructor(private readonly log: Logger) {}

  static owns(path: string): boolean {
    return path === '/docs' || path === '/docs/init.js' || (path.startsWith('/docs/') && path.slice(6) in ASSETS)
  }

  serve(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET' }).end()
    this.#file(path).then(
      (f) => {
        const headers = { etag: f.etag, 'cache-control': 'no-cache' }
        if (req.headers['if-none-match'] === f.etag) return void res.writeHead(304, headers).end()
        res.writeHead(200, { ...headers, 'content-type': f.type, 'content-length': f.body.length })
        res.end(req.method === 'HEAD' ? undefined : f.body)
      },
      (err: unknown) => {
        this.#files.delete(path)
        this.log.error({ err, path }, 'could not read a file of the /docs page')
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('the API docs are not available')
      },
    )
  }

  #file(path: string): Promise<File> {
    let f = this.#files.get(path)
    if (!f) {
      f = (async () => {
        if (path === '/docs') return file(Buffer.from(PAGE), 'text/html; charset=utf-8')
        if (path === '/docs/init.js') return file(Buffer.from(INIT), 'text/javascript; charset=utf-8')
        const name = path.slice('/docs/'.length)
        return file(await readFile(join(swaggerUiDir(), name)), ASSETS[name])
      })()
      this.#files.set(path, f)
    }
    return f
  }
}

const file = (body: Buffer, type: string): File => ({
  body,
  type,
  etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
})

const swaggerUiDir = () => dirname(fileURLToPath(import.meta.resolve('swagger-ui-dist/package.json')))
