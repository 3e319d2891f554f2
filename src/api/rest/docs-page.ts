import { readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Logger } from '../../util/logger.js'
import { StaticFiles } from '../static-files.js'

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

/**
 * Interactive docs at /docs: Swagger UI over /openapi.json, every file from this process. The page
 * holds no data and no token (the token goes into its Authorize dialog), so it is served without
 * one, like GraphiQL's page; the calls it makes carry the token and meet the same checks as any.
 */
export class DocsPage {
  readonly #files: StaticFiles

  constructor(log: Logger) {
    this.#files = new StaticFiles(
      async (path) => {
        if (path === '/docs') return { body: Buffer.from(PAGE), type: 'text/html; charset=utf-8' }
        if (path === '/docs/init.js') return { body: Buffer.from(INIT), type: 'text/javascript; charset=utf-8' }
        const name = path.slice('/docs/'.length)
        return { body: await readFile(join(swaggerUiDir(), name)), type: ASSETS[name] }
      },
      { failure: { status: 500, text: 'the API docs are not available', logMessage: 'could not read a file of the /docs page' } },
      log,
    )
  }

  static owns(path: string): boolean {
    return path === '/docs' || path === '/docs/init.js' || (path.startsWith('/docs/') && path.slice(6) in ASSETS)
  }

  serve(req: IncomingMessage, res: ServerResponse, path: string): void {
    this.#files.serve(req, res, path)
  }
}

const swaggerUiDir = () => dirname(fileURLToPath(import.meta.resolve('swagger-ui-dist/package.json')))
