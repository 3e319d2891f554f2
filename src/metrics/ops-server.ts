import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { defaultAllowedHosts, respondRefusal, TransportGuard } from '../api/auth/transport-guard.js'
import { listenRefusal } from '../api/listen-refusal.js'
import type { OpsEndpoints } from './endpoints.js'

/**
 * A worker's own listener for /metrics, /healthz and /readyz (METRICS_PORT): workers serve no API,
 * and each process exposes its own metrics. Same Host and Origin checks as the API.
 */
export async function startOpsServer(
  endpoints: OpsEndpoints,
  listen: { host: string; port: number },
  allowedHosts: string[],
): Promise<{ url: string; stop(): Promise<void> }> {
  const guard = new TransportGuard({ allowedHosts: allowedHosts.length ? allowedHosts : defaultAllowedHosts(listen.host), corsOrigins: [] })
  const server = createServer((req, res) => {
    const refusal = guard.check(req)
    if (refusal) return respondRefusal(res, refusal)
    if (!endpoints.owns(req))
      return respondRefusal(res, { status: 404, code: 'NOT_FOUND', message: 'only /metrics, /healthz and /readyz here' })
    void endpoints.serve(req, res).catch(() => res.destroy())
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenRefusal(err, listen)))
    server.listen(listen.port, listen.host, resolve)
  })
  const { address, port } = server.address() as AddressInfo
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
