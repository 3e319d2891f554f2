import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { GraphQLError, type ExecutionArgs, type GraphQLFormattedError } from 'graphql'
import { CloseCode, type ServerOptions } from 'graphql-ws'
import { createYoga } from 'graphql-yoga'
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention'
import { WebSocketServer } from 'ws'
import type { Principal } from '../auth/roles.js'
import { useAuthorization } from './auth/authorize.js'
import { useRequestBodyLimit } from './body-limit.js'
import { bearerToken, useHttpAuthentication, type AuthenticatedServerContext } from './auth/http-auth.js'
import { useQueryLimits } from './auth/limits.js'
import { PerTokenCount, tooMany, useSubscriptionLimit } from './auth/subscription-limits.js'
import { defaultAllowedHosts, respondRefusal, TransportGuard } from './auth/transport-guard.js'
import type { ApiContext, AppServices } from './context.js'
import { maskError } from './errors.js'
import { useExecutionQueue } from './execution-queue.js'
import { GRAPHIQL_EXAMPLE } from './graphiql-example.js'
import { DashboardPage } from './dashboard-page.js'
import { GraphiQLPage } from './graphiql-page.js'
import { useInputGuard } from './input-guard.js'
import { yogaLogger } from './request-log.js'
import { serveGraphqlWs } from './ws-server.js'
import { useRequestParseErrors } from './request-parse.js'
import { createRestApi } from './rest/router.js'
import { getSchema } from './schema/index.js'
import type { SecurityOptions } from './security.js'
import { listenRefusal } from './listen-refusal.js'
import type { Observability } from '../metrics/endpoints.js'
import { graphqlMetrics } from './graphql-metrics.js'

export interface ApiServer {
  /** Listens and resolves with the base URL (http://host:port). */
  start(): Promise<string>
  /** Closes websockets, open HTTP connections and the listener. */
  stop(): Promise<void>
}

const GRAPHQL_PATH = '/graphql'

/** What graphql-ws keeps per socket beside the socket and upgrade request: the caller, once connection_init was accepted. */
type SocketExtra = { principal?: Principal }

export function createApiServer(
  app: AppServices,
  listen: { host: string; port: number },
  security: SecurityOptions,
  /** /metrics, /healthz, /readyz and GraphQL's metrics (src/metrics/); none when the service keeps no metrics. */
  ops?: Observability,
): ApiServer {
  const yoga = createYoga<AuthenticatedServerContext, ApiContext>({
    schema: getSchema(),
    graphqlEndpoint: GRAPHQL_PATH,
    context: ({ principal }) => ({ app, principal }),
    // Yoga's default answers any origin, with credentials: off unless origins are configured.
    cors: security.corsOrigins.length
      ? {
          origin: security.corsOrigins,
          credentials: false,
          methods: ['GET', 'POST'],
          allowedHeaders: ['authorization', 'content-type', 'x-graphql-yoga-csrf'],
        }
      : false,
    // The same limit, without a stream per body when Content-Length already bounds it (body-limit.ts).
    maxRequestBodySize: false,
    multipart: false,
    // Served by GraphiQLPage below, from one cached buffer.
    graphiql: false,
    maskedErrors: { maskError: maskError(app.log) },
    plugins: [
      useHttpAuthentication(app.tokens),
      useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf'] }),
      useRequestBodyLimit(security.maxRequestBytes),
      useRequestParseErrors(app.log),
      // Control characters refused and request values kept out of GraphQL's own error messages (input-guard.ts).
      useInputGuard(),
      ...useQueryLimits(security.limits),
      useAuthorization({ mutationsPerMinute: security.mutationsPerMinute }),
      useSubscriptionLimit(security.subscriptions.perToken),
      ...(ops ? graphqlMetrics(ops.metrics) : []),
      // Last: only operations every check above let through wait for their turn (execution-queue.ts).
      useExecutionQueue(),
    ],
    // Structured, through pino's redaction; never the query text or variables (request-log.ts).
    logging: yogaLogger(app.log),
  })

  // The bundled GraphiQL (Yoga's default loads it from a CDN, blank behind a firewall).
  // Subscriptions over SSE: GraphiQL sends the headers editor's Authorization with every HTTP
  // request, but never puts it into a websocket's connection_init. Its SSE requests are GETs,
  // which CSRF prevention lets through only with the header it always adds here.
  const graphiql = new GraphiQLPage(
    {
      subscriptionsProtocol: 'SSE',
      title: 'delta-extractor',
      defaultQuery: GRAPHIQL_EXAMPLE,
      headers: JSON.stringify({ Authorization: 'Bearer <your API token>' }, null, 2),
      additionalHeaders: { 'x-graphql-yoga-csrf': 'graphiql' },
    },
    app.log,
  )
  const guard = new TransportGuard({
    allowedHosts: security.allowedHosts.length ? security.allowedHosts : defaultAllowedHosts(listen.host),
    corsOrigins: security.corsOrigins,
  })
  const dashboard = new DashboardPage(app.log)
  // REST, /openapi.json and /docs: their own paths, the same checks, GraphQL's operations (rest/router.ts).
  const rest = createRestApi(yoga, app, security, guard)
  const http: Server = createServer((req, res) => {
    if (rest.owns(req)) return rest.serve(req, res)
    const refusal = guard.check(req) ?? guard.checkBody(req)
    if (refusal) return respondRefusal(res, refusal)
    // Their own token rule (src/metrics/endpoints.ts), after the same Host and Origin checks.
    if (ops?.endpoints.owns(req)) return void ops.endpoints.serve(req, res).catch(() => res.destroy())
    // The dashboard (`/` and its bundle): behind the same Host and Origin checks, without a token, like GraphiQL's page.
    if (DashboardPage.owns(pathOf(req))) return dashboard.serve(req, res, pathOf(req))
    // Yoga also serves `/graphql/`, `//graphql` and any path ending in /graphql; its plugins (the
    // token check among them) would each have to match paths the same way. One exact path instead.
    if (pathOf(req) !== GRAPHQL_PATH)
      return respondRefusal(res, {
        status: 404,
        code: 'NOT_FOUND',
        message: `not found: the API is at ${GRAPHQL_PATH} (REST: /openapi.json)`,
      })
    // The page holds no data and no token (the token goes into its headers editor): served without one.
    if (GraphiQLPage.wants(req)) return graphiql.serve(req, res)
    void yoga(req, res)
  })
  const sockets = new Set<Socket>()
  http.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  const wss = new WebSocketServer({
    server: http,
    path: GRAPHQL_PATH,
    // A larger message closes the socket (1009) before it is parsed: the same cap as HTTP bodies.
    maxPayload: security.maxRequestBytes,
    verifyClient: ({ req }, done) => {
      const refusal = guard.check(req)
      return refusal ? done(false, refusal.status, refusal.message) : done(true)
    },
  })

  // graphql-ws throws on a message only a server may send (next, error, connection_ack), which
  // ends in 4500 "Internal server error" and an error in the log. That is the client's mistake:
  // this listener, registered before graphql-ws', closes such a socket with 4400 first.
  wss.on('connection', (socket) =>
    socket.on('message', (data, binary) => {
      const type = binary ? undefined : messageType(String(data))
      if (type && !CLIENT_MESSAGES.has(type)) socket.close(CloseCode.BadRequest, 'Bad Request: not a client message')
    }),
  )

  const socketsPerToken = new PerTokenCount(security.subscriptions.socketsPerToken)
  // graphql-ws runs every operation through Yoga's envelope, so validation, limits, authorization
  // and error masking are the same as over HTTP.
  const ws = serveGraphqlWs<Record<string, unknown> | undefined, SocketExtra>(
    {
      onConnect: async (ctx) => {
        const token = tokenOf(ctx.connectionParams) ?? bearerToken(ctx.extra.request.headers.authorization)
        if (!token) {
          ctx.extra.socket.close(CloseCode.Unauthorized, 'Unauthorized: an API token is required')
          return false
        }
        const principal = await app.tokens.authenticate(token)
        if (!principal) return false // graphql-ws closes with 4403 Forbidden
        // Closed while the token was looked up: its 'close' has fired, so nothing taken below would be given back.
        if (ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) return false
        if (!socketsPerToken.take(principal.tokenId)) {
          ctx.extra.socket.close(TOO_MANY_SOCKETS, `Too many connections: at most ${socketsPerToken.max} websockets per API token`)
          return false
        }
        ctx.extra.socket.once('close', () => socketsPerToken.release(principal.tokenId))
        ctx.extra.principal = principal
        const stop = app.tokens.onRevoke(principal.tokenId, () =>
          ctx.extra.socket.close(CloseCode.Forbidden, 'Forbidden: API token revoked'),
        )
        ctx.extra.socket.once('close', stop)
        return true
      },
      // extensions.http is the HTTP status of a refusal, meaningless on a socket.
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? ({ ...result, errors: result.errors.map(withoutHttp) } as never) : result,
      onError: (_ctx, _id, _payload, errors) => errors.map(withoutHttp),
      execute: (args) => (args.rootValue as Envelope).execute(args),
      subscribe: (args) => (args.rootValue as Envelope).subscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        // graphql-ws holds an entry per operation from the moment its frame arrives (this one included).
        const { perSocket } = security.subscriptions
        if (perSocket > 0 && Object.keys(ctx.subscriptions).length > perSocket)
          return [tooMany('operations open on this websocket', perSocket, 'perSocket')]
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
          principal: ctx.extra.principal,
        })
        let document
        try {
          document = parse(params.query)
        } catch (e) {
          if (e instanceof GraphQLError) return [e]
          throw e
        }
        const args: ExecutionArgs = {
          schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe } as Envelope,
        }
        const errors = validate(args.schema, args.document)
        return errors.length ? errors : args
      },
    },
    wss,
    app.log,
  )

  return {
    start: () =>
      new Promise((resolve, reject) => {
        http.once('error', (err) => reject(listenRefusal(err, listen)))
        http.listen(listen.port, listen.host, () => {
          const { address, port } = http.address() as AddressInfo
          resolve(`http://${address.includes(':') ? `[${address}]` : address}:${port}`)
        })
      }),
    stop: async () => {
      await ws.dispose()
      await new Promise<void>((r) => wss.close(() => r()))
      for (const s of sockets) s.destroy()
      await new Promise<void>((r) => (http.listening ? http.close(() => r()) : r()))
    },
  }
}

/** Close code of a socket over SOCKETS_PER_TOKEN: graphql-ws' 4429 (no retry by its client), with its own reason. */
const TOO_MANY_SOCKETS = CloseCode.TooManyInitialisationRequests

/** The token in a connection_init payload: `{ Authorization: 'Bearer …' }` (GraphiQL sends its headers) or `{ token }`. */
function tokenOf(params: Record<string, unknown> | undefined): string | undefined {
  if (!params || typeof params !== 'object') return undefined
  for (const [k, v] of Object.entries(params))
    if (typeof v === 'string' && (k.toLowerCase() === 'authorization' || k === 'token')) return bearerToken(v)
  return undefined
}

/** The request target's path, as sent: no normalising, so `//graphql` and `/graphql/` are not `/graphql`. */
const pathOf = (req: IncomingMessage) => (req.url ?? '').split('?')[0]

const CLIENT_MESSAGES = new Set(['connection_init', 'ping', 'pong', 'subscribe', 'complete'])

function messageType(text: string): string | undefined {
  try {
    const type = (JSON.parse(text) as { type?: unknown } | null)?.type
    return typeof type === 'string' ? type : undefined
  } catch {
    return undefined // not JSON: graphql-ws closes with 4400 itself
  }
}

function withoutHttp(error: GraphQLError | GraphQLFormattedError): GraphQLFormattedError {
  const json = error instanceof GraphQLError ? error.toJSON() : error
  if (!json.extensions || !('http' in json.extensions)) return json
  const { http: _, ...extensions } = json.extensions
  return { ...json, extensions }
}

/** Yoga's enveloped execute/subscribe, carried to graphql-ws in rootValue. */
interface Envelope {
  execute: (args: ExecutionArgs) => OperationResult
  subscribe: (args: ExecutionArgs) => OperationResult
}
type OperationResult = ReturnType<NonNullable<ServerOptions['execute']>>
