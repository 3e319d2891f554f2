import type { Config } from '../config.js'
import type { QueryLimits } from './auth/limits.js'
import type { SubscriptionLimits } from './auth/subscription-limits.js'

/** The API's defences, as settings. From the environment via securityFromConfig; tests pass their own. */
export interface SecurityOptions {
  /** Browser origins allowed to call the API; none by default. */
  corsOrigins: string[]
  /** Accepted Host header names; empty = defaultAllowedHosts(bound host). */
  allowedHosts: string[]
  /** Largest HTTP body and largest websocket message. */
  maxRequestBytes: number
  limits: QueryLimits
  /** Mutations per token per minute; 0 = unlimited. */
  mutationsPerMinute: number
  /** Open subscriptions and websockets per token (and operations per socket); 0 = unlimited. */
  subscriptions: SubscriptionLimits
}

export function securityFromConfig(c: Config): SecurityOptions {
  return {
    corsOrigins: c.CORS_ORIGINS,
    allowedHosts: c.ALLOWED_HOSTS,
    maxRequestBytes: c.MAX_REQUEST_BYTES,
    limits: {
      maxDepth: c.QUERY_MAX_DEPTH,
      maxAliases: c.QUERY_MAX_ALIASES,
      maxFields: c.QUERY_MAX_FIELDS,
      maxCost: c.QUERY_MAX_COST,
      maxTokens: c.QUERY_MAX_TOKENS,
    },
    mutationsPerMinute: c.MUTATIONS_PER_MINUTE,
    subscriptions: { perSocket: c.SUBSCRIPTIONS_PER_SOCKET, perToken: c.SUBSCRIPTIONS_PER_TOKEN, socketsPerToken: c.SOCKETS_PER_TOKEN },
  }
}
