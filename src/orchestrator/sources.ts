import { createHash } from 'node:crypto'
import type { ResolvedConnection } from '../catalog/connections.js'
import { ODataOdpClient, ODataSource, observedFetch } from '../sap/odata/index.js'
import { guardedFetch } from '../net/guarded-http.js'
import { OutboundPolicy } from '../net/outbound-policy.js'
import type { SapLog } from '../sap/log.js'
import type { SapRequestObserver } from '../sap/request-observer.js'
import { createRfcSource, rfcConnectGuard, type RfcClientFactory, type RfcSource } from '../sap/rfc/index.js'
import type { Source } from '../sap/source.js'
import type { Logger } from '../util/logger.js'

/** The SAP side of a saved connection. */
export interface SourceFactory {
  /** The source as the caller (a run, an API request) uses it: everything it does is logged through `log`. */
  (connection: ResolvedConnection, log: Logger): Source
  /** Closes what the factory keeps open (RFC connection pools). */
  close?(): Promise<void>
}

export interface SourceOptions {
  /**
   * Where SAP may be reached (checked on every connection, OData and RFC). Default: the strict
   * policy (no loopback, no allow list); tests and the demo pass one that allows their simulators.
   */
  outbound?: OutboundPolicy
  /** Transient-failure retries of each SAP request (the client's own backoff; Retry-After is honoured). */
  retries?: number
  backoffMs?: number
  /** Stands in for node-rfc (the RFC simulator); default: node-rfc, loaded when first needed. */
  rfcClientFactory?: RfcClientFactory
  /** RFC connections open at once per SAP connection, shared by all its runs. */
  rfcPoolSize?: number
  /** How long the pool of a replaced RFC source may sit unused before its connections close (default 5 s). */
  rfcRetireIdleMs?: number
  /** For what an RFC connection pool does on no run's behalf (a replaced pool closing its connections). */
  log?: Logger
  /**
   * The observer of a connection's SAP requests (metrics). Called with the connection's current
   * name on every use; a cached RFC pool reports under the name its connection has now.
   */
  observeSap?: (connectionName: string) => SapRequestObserver
}

const sapLogOf =
  (log: Logger): SapLog =>
  (level, msg, data) =>
    log[level](data ?? {}, msg)

/**
 * OData sources are cheap and made per use. An RFC source owns a connection pool, and the pool's
 * limit is per SAP connection, so one source is kept per connection, shared by all its runs. When
 * the connection's settings change it is replaced: runs that already hold the old source read on
 * with it (its pool is retired, not closed, so none of them fails half-way) and new runs get the new
 * one. Each caller gets its own view of the shared source, logging through the caller's logger: the
 * source outlives the run that created it, and a later run's lines must carry that run's id.
 */
export function sapSourceFactory(opts: SourceOptions = {}): SourceFactory {
  const rfcSources = new Map<string, { fingerprint: string; source: RfcSource }>()
  /** Replaced sources whose runs are still reading; closed for good at shutdown. */
  const retiring = new Set<RfcSource>()
  const outbound = opts.outbound ?? new OutboundPolicy({ allowLoopback: false, allow: [] })
  // One connection pool for every OData source of this factory, each connection checked.
  const fetch = guardedFetch(outbound)
  const connectGuard = rfcConnectGuard(outbound)
  /** Each connection's name as last seen, so a renamed connection's pooled RFC calls report under the new name. */
  const names = new Map<string, string>()
  const observerOf = (id: string): SapRequestObserver | undefined => {
    const observe = opts.observeSap
    return observe && ((seconds, failed) => observe(names.get(id) ?? id)(seconds, failed))
  }
  const factory: SourceFactory = (c, log) => {
    const sapLog = sapLogOf(log)
    names.set(c.id, c.name)
    const observe = observerOf(c.id)
    if (c.protocol === 'ODATA') {
      const client = new ODataOdpClient(
        {
          serviceUrl: c.odata.serviceUrl,
          sapClient: c.odata.sapClient,
          user: c.odata.user,
          password: c.secrets.password,
          language: c.odata.language,
        },
        { retries: opts.retries, backoffMs: opts.backoffMs, log: sapLog, fetch: observe ? observedFetch(fetch, observe) : fetch },
      )
      return new ODataSource(client)
    }
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([c.rfc, c.secrets.password ?? null]))
      .digest('hex')
    const cached = rfcSources.get(c.id)
    if (cached?.fingerprint === fingerprint) return cached.source.forRun(sapLog)
    if (cached) {
      const old = cached.source
      retiring.add(old)
      void old.retire(opts.rfcRetireIdleMs).finally(() => retiring.delete(old))
    }
    const { lang, ...params } = c.rfc
    const source = createRfcSource(
      { ...params, lang, passwd: c.secrets.password },
      {
        clientFactory: opts.rfcClientFactory,
        connectGuard,
        poolSize: opts.rfcPoolSize,
        observe,
        log: opts.log ? sapLogOf(opts.log.child({ connectionId: c.id })) : undefined,
        retries: opts.retries,
        backoffMs: opts.backoffMs,
      },
    )
    rfcSources.set(c.id, { fingerprint, source })
    return source.forRun(sapLog)
  }
  factory.close = async () => {
    await Promise.all([...[...rfcSources.values()].map((s) => s.source), ...retiring].map((s) => s.close()))
    rfcSources.clear()
    retiring.clear()
    await fetch.close()
  }
  return factory
}
