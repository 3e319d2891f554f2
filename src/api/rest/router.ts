import type { IncomingMessage, ServerResponse } from 'node:http'
import { isInputObjectType } from 'graphql'
import type { Principal } from '../../auth/roles.js'
import { bearerToken } from '../auth/http-auth.js'
import type { TransportGuard } from '../auth/transport-guard.js'
import type { AppServices } from '../context.js'
import type { SecurityOptions } from '../security.js'
import { readJsonBody } from './body.js'
import { DocsPage } from './docs-page.js'
import { executeOperation, type Yoga } from './execute.js'
import { resolveRef } from './object-ref.js'
import { openApiDocument } from './openapi.js'
import { sendJson, sendProblem } from './problem.js'
import { ROUTES, type Answer, type RestCall, type Route } from './routes.js'

export interface RestApi {
  /** Whether the request is for REST, /openapi.json or /docs (server.ts hands those here). */
  owns(req: IncomingMessage): boolean
  serve(req: IncomingMessage, res: ServerResponse): void
}

/** The first segment of every path REST answers; anything else stays with server.ts (and its 404). */
const ROOTS = new Set(['connections', 'destinations', 'pipelines', 'runs', 'openapi.json', 'docs'])

/**
 * REST beside GraphQL on the same port (architecture.md, "REST"). Before a route runs, the same
 * transport checks as GraphQL (Host, Origin: TransportGuard) and the same token check (the token
 * service, as http-auth.ts); the route then acts only through a GraphQL operation executed in
 * Yoga's envelope (execute.ts), so roles, limits, audit and error masking are GraphQL's own.
 */
export function createRestApi(yoga: Yoga, app: AppServices, security: SecurityOptions, guard: TransportGuard): RestApi {
  const docs = new DocsPage(app.log)
  const schema = yoga.getEnveloped({} as never).schema
  const inputType = (name: string) => {
    const t = schema.getType(name)
    if (!isInputObjectType(t)) throw new Error(`no GraphQL input type ${name}`)
    return t
  }
  let openapi: string | undefined

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refusal = guard.check(req)
    if (refusal) return sendProblem(res, { status: refusal.status, code: refusal.code, detail: refusal.message }, { connection: 'close' })
    const url = new URL(req.url ?? '/', 'http://rest.invalid')
    // The original service answered with and without the trailing slash (`POST /connections/`).
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/$/, '') : url.pathname
    if (req.method === 'GET' && path === '/openapi.json') {
      // Describes the API, not this installation's data (the same text is in the repository): served without a token, so /docs can load it.
      openapi ??= JSON.stringify(openApiDocument(schema))
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache' })
      return void res.end(openapi)
    }
    if (DocsPage.owns(path)) return docs.serve(req, res, path)

    const match = matchRoute(req.method ?? 'GET', path)
    if (!match.route)
      return sendProblem(res, {
        status: match.pathKnown ? 405 : 404,
        code: match.pathKnown ? 'METHOD_NOT_ALLOWED' : 'NOT_FOUND',
        detail: match.pathKnown ? `${req.method} is not served on ${path}` : `not found: ${path} (the API is described at /openapi.json)`,
      })
    const principal = await authenticate(req)
    if (!principal.ok) return sendProblem(res, principal.problem, { 'www-authenticate': 'Bearer' })
    const body = await readJsonBody(req, security.maxRequestBytes)
    if (!body.ok) return sendProblem(res, body.problem, body.problem.status === 413 ? { connection: 'close' } : {})
    const { route, ref } = match
    const call: RestCall = {
      app,
      body: body.value,
      query: url.searchParams,
      inputType,
      resolve: (kind, r) => resolveRef(app, kind, r),
      run: (document, variables) => executeOperation(yoga, req, principal.principal, document, variables),
    }
    if (route.kind && ref !== undefined) {
      const found = await resolveRef(app, route.kind, ref)
      if (!found.ok) return sendProblem(res, found.problem)
      call.id = found.id
    }
    send(res, await route.handle(call))
  }

  async function authenticate(req: IncomingMessage) {
    const token = bearerToken(req.headers.authorization)
    const principal: Principal | undefined = token ? await app.tokens.authenticate(token) : undefined
    if (principal) return { ok: true as const, principal }
    const detail = token
      ? 'the API token is not valid (unknown or revoked)'
      : 'an API token is required: send Authorization: Bearer <token>'
    return { ok: false as const, problem: { status: 401, code: 'UNAUTHENTICATED', detail } }
  }

  return {
    owns: (req) => ROOTS.has((req.url ?? '').split(/[/?]/)[1] ?? ''),
    serve: (req, res) =>
      void handle(req, res).catch((err: unknown) => {
        app.log.error({ err, method: req.method }, 'REST request failed')
        if (!res.headersSent) sendProblem(res, { status: 500, code: 'INTERNAL_SERVER_ERROR', detail: 'Unexpected error' })
        else res.destroy()
      }),
  }
}

function send(res: ServerResponse, answer: Answer): void {
  if ('problem' in answer) sendProblem(res, answer.problem, answer.problem.code === 'RATE_LIMITED' ? retryAfter(answer.problem.extra) : {})
  else sendJson(res, answer.status, answer.body, answer.headers)
}

const retryAfter = (extra: Record<string, unknown> | undefined): Record<string, string> =>
  typeof extra?.retry_after === 'number' ? { 'retry-after': String(extra.retry_after) } : {}

/** The route for a method and path; `ref` is the path's `{ref}` segment, decoded. */
function matchRoute(method: string, path: string): { route?: Route; ref?: string; pathKnown: boolean } {
  let pathKnown = false
  for (const route of ROUTES) {
    const m = patternOf(route.path).exec(path)
    if (!m) continue
    pathKnown = true
    if (route.method === method) return { route, ref: m[1] === undefined ? undefined : decoded(m[1]), pathKnown }
  }
  return { pathKnown }
}

const patterns = new Map<string, RegExp>()
const patternOf = (template: string) => {
  let p = patterns.get(template)
  if (!p) patterns.set(template, (p = new RegExp(`^${template.replace('{ref}', '([^/]+)')}$`)))
  return p
}

/** A path segment as sent when it is not valid percent-encoding: it then names nothing, and the lookup says so. */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}
