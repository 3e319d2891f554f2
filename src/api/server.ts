import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { ExecutionArgs } from 'graphql'
import { useServer } from 'graphql-ws/use/ws'
import { createYoga } from 'graphql-yoga'
import { WebSocketServer } from 'ws'
import type { ApiContext, AppServices } from './context.js'
import { maskError } from './errors.js'
import { useInputGuard } from './input-guard.js'
import { yogaLogger } from './request-log.js'
import { getSchema } from './schema/index.js'

export interface ApiServer {
  /** Listens and resolves with the base URL (http://host:port). */
  start(): Promise<string>
  /** Closes websockets, open HTTP connections and the listener. */
  stop(): Promise<void>
}

export const GRAPHQL_PATH = '/graphql'

export function createApiServer(app: AppServices, listen: { host: string; port: number }): ApiServer {
  const yoga = createYoga<{}, ApiContext>({
    schema: getSchema(),
    graphqlEndpoint: GRAPHQL_PATH,
    context: () => ({ app }),
    // The bundled GraphiQL: Yoga's default loads it from a CDN, blank behind a firewall. It is a
    // large module (tens of MB resident), so it is loaded when a browser first asks for it.
    renderGraphiQL: async (opts) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(opts),
    graphiql: { subscriptionsProtocol: 'WS', title: 'delta-extractor' },
    maskedErrors: { maskError: maskError(app.log) },
    // Structured, through pino's redaction; never the query text or variables (request-log.ts).
    logging: yogaLogger(app.log),
    // Control characters refused and request values kept out of GraphQL's own error messages (input-guard.ts).
    plugins: [useInputGuard()],
  })

  const http: Server = createServer(yoga)
  const sockets = new Set<Socket>()
  http.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  const wss = new WebSocketServer({ server: http, path: GRAPHQL_PATH })

  // graphql-ws runs every operation through Yoga's envelope, so validation, context and error
  // masking are the same as over HTTP.
  const ws = useServer(
    {
      execute: (args) => (args.rootValue as Envelope).execute(args),
      subscribe: (args) => (args.rootValue as Envelope).subscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
        })
        const args: ExecutionArgs = {
          schema,
          operationName: params.operationName,
          document: parse(params.query),
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe } as Envelope,
        }
        const errors = validate(args.schema, args.document)
        return errors.length ? errors : args
      },
    },
    wss,
  )

  return {
    start: () =>
      new Promise((resolve, reject) => {
        http.once('error', reject)
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

/** Yoga's enveloped execute/subscribe, carried to graphql-ws in rootValue. */
interface Envelope {
  execute: (args: ExecutionArgs) => OperationResult
  subscribe: (args: ExecutionArgs) => OperationResult
}
type OperationResult = ReturnType<NonNullable<Parameters<typeof useServer>[0]['execute']>>
