import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/**
 * A plain HTTP server that is not SAP and not a storage service: what an attacker points a service
 * URL or an endpoint at (an internal database port, an intranet page, a metadata service). It
 * records every request it gets.
 */
export interface ForeignServer {
  url: string
  port: number
  requests: Array<{ method: string; url: string; authorization?: string }>
  close(): Promise<void>
}

export async function startForeignServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void = (_q, r) => void r.writeHead(200).end('hello'),
  /** Where it listens: 127.0.0.1, or '0.0.0.0' / '::' for every address of the machine. */
  host = '127.0.0.1',
): Promise<ForeignServer> {
  const requests: ForeignServer['requests'] = []
  const sockets = new Set<Socket>()
  const server = createServer((req, res) => {
    requests.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization })
    req.resume()
    handler(req, res)
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const s of sockets) s.destroy()
      }),
  }
}
