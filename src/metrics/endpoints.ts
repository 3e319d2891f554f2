import { timingSafeEqual, createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TokenService } from '../auth/tokens.js'
import { readiness, type ReadinessChecks } from './readiness.js'
import type { ServiceMetrics } from './service-metrics.js'

export interface OpsEndpointsOptions extends ReadinessChecks {
  metrics: ServiceMetrics
  tokens: TokenService
  /** METRICS_TOKEN: a bearer token that reads /metrics and nothing else; API tokens (any role) read it too. */
  metricsToken?: string
}

/** What the API server needs to serve the metrics: the registry's owner and the endpoints. */
export interface Observability {
  metrics: ServiceMetrics
  endpoints: OpsEndpoints
}

export interface OpsEndpoints {
  /** Whether the request is for /metrics, /healthz or /readyz. */
  owns(req: IncomingMessage): boolean
  serve(req: IncomingMessage, res: ServerResponse): Promise<void>
}

const PATHS = new Set(['/metrics', '/healthz', '/readyz'])

/**
 * /healthz (the process answers), /readyz (database and, in queue mode, Redis reachable) and
 * /metrics, on the API's port or a worker's METRICS_PORT (README "Metrics and health"). The caller
 * applies the Host and Origin checks first. The health answers carry no data, so they need no token
 * (probes rarely send one); /metrics tells how busy the service is and what its connections and
 * destinations are named, so it needs a token: METRICS_TOKEN, or any API token (VIEWER is enough).
 */
export function opsEndpoints(o: OpsEndpointsOptions): OpsEndpoints {
  const metricsToken = o.metricsToken ? digest(o.metricsToken) : undefined
  const allowed = async (header: string | undefined): Promise<boolean> => {
    const token = /^\s*bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1]
    if (!token) return false
    if (metricsToken && timingSafeEqual(digest(token), metricsToken)) return true
    return !!(await o.tokens.authenticate(token))
  }
  return {
    owns: (req) => PATHS.has((req.url ?? '').split('?')[0]),
    async serve(req, res) {
      const path = (req.url ?? '').split('?')[0]
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'GET only\n')
      if (path === '/healthz') return send(res, 200, 'application/json', '{"status":"ok"}\n')
      if (path === '/readyz') {
        const r = await readiness(o)
        return send(
          res,
          r.ready ? 200 : 503,
          'application/json',
          `${JSON.stringify({ status: r.ready ? 'ready' : 'unavailable', ...r.checks })}\n`,
        )
      }
      if (!(await allowed(req.headers.authorization)))
        return send(res, 401, 'text/plain', 'a token is required: Authorization: Bearer <METRICS_TOKEN or an API token>\n', {
          'www-authenticate': 'Bearer',
        })
      send(res, 200, o.metrics.registry.contentType, await o.metrics.registry.metrics())
    },
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest()

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers })
  res.end(body)
}
