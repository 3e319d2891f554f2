/**
 * The simulator's HTTP server: `/sim/admin/...` for the admin API, everything else is SAP Gateway.
 * Every answer that is not data carries the SAP error body of A.8.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { createServer } from 'node:http'
import { errorBody, MSG, SapHttpError, sendError } from '../odata/errors.js'
import type { SimState } from '../state.js'
import type { SimulatorAdmin } from '../types.js'
import { handleAdmin } from './adminRoute.js'
import { LogonService } from './logon.js'
import { handleOData } from './odataRoute.js'

const ADMIN_PREFIX = '/sim/admin/'

export interface SimulatorServer {
  server: Server
  /** Set once listening: the origin used when a request has no usable Host header. */
  origin: { value: string }
}

export function createSimulatorServer(state: SimState, admin: SimulatorAdmin): SimulatorServer {
  const logon = new LogonService(state)
  const origin = { value: 'http://127.0.0.1' }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://localhost')
    } catch {
      return sendError(res, new SapHttpError(400, MSG.badRequest, 'Malformed request URL'), state.service)
    }
    if (url.pathname.startsWith(ADMIN_PREFIX)) return handleAdmin(admin, state, req, res, url.pathname.slice(ADMIN_PREFIX.length))
    // OData requests never need their body: drain it so keep-alive connections stay usable after an early answer
    req.resume()
    state.stats.requests++
    state.stats.byPath[url.pathname] = (state.stats.byPath[url.pathname] ?? 0) + 1
    try {
      await handleOData(state, logon, req, res, url, origin.value)
    } catch (err) {
      if (err instanceof SapHttpError) return sendError(res, err, state.service)
      if (err instanceof URIError)
        return sendError(res, new SapHttpError(400, MSG.badRequest, 'Malformed percent-encoding in the URL'), state.service)
      if (err instanceof Error && err.name === 'AbortError') return void res.destroy() // simulator closing
      // a simulator bug must be loud in tests, yet still look like a SAP short dump to the client
      console.error('[sap-simulator] internal error', err)
      sendError(
        res,
        new SapHttpError(500, MSG.backend, `Internal simulator error: ${err instanceof Error ? err.message : String(err)}`),
        state.service,
      )
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      console.error('[sap-simulator] unhandled', err)
      if (!res.headersSent) {
        const body = errorBody(new SapHttpError(500, MSG.backend, 'Internal simulator error'), state.service)
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' }).end(body)
      } else res.destroy()
    })
  })
  server.keepAliveTimeout = 30_000
  return { server, origin }
}
