import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws'
import type { WebSocket, WebSocketServer } from 'ws'
import type { Logger } from '../util/logger.js'
import { isListenError } from './listen-refusal.js'

/** What graphql-ws hands the hooks beside the context: the socket and its upgrade request. */
export interface WsExtra {
  socket: WebSocket
  request: IncomingMessage
}

/** How often an idle socket is pinged; one that does not answer by the next ping is dropped. */
const KEEP_ALIVE_MS = 12_000

/**
 * graphql-ws on a `ws` server, as graphql-ws/use/ws wires it, except for what goes wrong: that
 * adapter prints socket errors with console.error, a full stack on stderr outside the JSON log
 * (a client sending a frame over MAX_REQUEST_BYTES was enough). Here a socket error, which `ws`
 * raises for what a client sent (too large, not UTF-8, a broken frame) after closing the socket
 * with the code that says so, is an info line; a failure of the service's own handling is an
 * error line with an id, and the client gets 4500 without the error's text.
 */
export function serveGraphqlWs<P extends Record<string, unknown> | undefined, E extends Record<PropertyKey, unknown>>(
  options: ServerOptions<P, WsExtra & E>,
  wss: WebSocketServer,
  log: Logger,
): { dispose(): Promise<void> } {
  const server = makeServer(options)
  wss.options.handleProtocols = handleProtocols
  // ws re-emits the HTTP server's errors here; start() reports those (EADDRINUSE …) to its caller.
  wss.on('error', (err) => {
    if (!isListenError(err)) log.warn({ err }, 'websocket server error')
  })

  wss.on('connection', (socket, request) => {
    socket.on('error', (err: Error & { code?: string }) => {
      log.info({ code: err.code ?? err.name, error: err.message }, 'websocket closed: the client broke the protocol')
      if (socket.readyState === socket.OPEN) socket.close(CloseCode.BadRequest, 'Bad Request')
    })

    let pongWait: NodeJS.Timeout | undefined
    const pinger = setInterval(() => {
      if (socket.readyState !== socket.OPEN) return
      pongWait = setTimeout(() => socket.terminate(), KEEP_ALIVE_MS)
      socket.once('pong', () => clearTimeout(pongWait))
      socket.ping()
    }, KEEP_ALIVE_MS)

    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve()
            socket.send(data, (err) => (err ? reject(err) : resolve()))
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', async (data) => {
            try {
              await handle(String(data))
            } catch (err) {
              const errorId = randomUUID()
              log.error({ err, errorId }, 'unexpected error handling a websocket message')
              socket.close(CloseCode.InternalServerError, 'Internal server error')
            }
          }),
      },
      { socket, request } as WsExtra & E,
    )

    socket.once('close', (code, reason) => {
      clearTimeout(pongWait)
      clearInterval(pinger)
      closed(code, String(reason)).catch((err: unknown) => log.error({ err }, 'unexpected error closing a websocket'))
    })
  })

  return {
    dispose: async () => {
      for (const client of wss.clients) client.close(1001, 'Going away')
      wss.removeAllListeners()
      await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())))
    },
  }
}
