/**
 * RFC connections as a {@link Source}: TABLE_RFC (RFC_READ_TABLE) and ODP_RFC (RODPS_REPL_*), both
 * through one connection pool per connection. node-rfc is loaded only when the first call needs it,
 * so a machine without SAP's NW RFC SDK runs everything else and fails RFC use with
 * SOURCE_DRIVER_MISSING.
 */
import { SourceError } from '../errors.js'
import { silentLog, type SapLog } from '../log.js'
import type { Source, SourceRead, SourceReadRequest, SourceSpec } from '../source.js'
import type { SapRequestObserver } from '../request-observer.js'
import { guardedClientFactory, type RfcConnectGuard } from './connect-guard.js'
import { observedClientFactory } from './observed-client.js'
import { toSourceError } from './errors.js'
import { loadNodeRfc } from './node-rfc.js'
import { odpSubscription, readOdp, resetOdp, type OdpSourceContext } from './odp.js'
import { RfcPool, rfcCall } from './pool.js'
import type { RfcClient, RfcClientFactory, RfcConnectionParameters } from './rfc-client.js'
import { readTable, splitTableInit, tableKeyRanges, type TableSourceContext } from './table-source.js'

export interface RfcSourceOptions {
  /** Stands in for node-rfc (the simulator's `createClient`); default: node-rfc, loaded lazily. */
  clientFactory?: RfcClientFactory
  /** Checks (and pins) the host of every logon before the driver opens it (the outbound policy). */
  connectGuard?: RfcConnectGuard
  /** Connections open at once for this connection (default 4). */
  poolSize?: number
  /** Told about every function-module call of the pool (the service's SAP request metrics). */
  observe?: SapRequestObserver
  /**
   * The log of the source itself: its own read/subscription/reset/ping calls, and what the pool does
   * on nobody's behalf. A run logs through {@link RfcSource.forRun} instead.
   */
  log?: SapLog
  /** Seconds per RFC call before node-rfc cancels it (default 600). */
  callTimeoutSeconds?: number
  /** TABLE_RFC: overlap window of watermark deltas (default 1 day for dates, 1 hour for timestamps). */
  watermarkOverlapSeconds?: number
  /** ODP_RFC: `I_SUBSCRIBER_TYPE` (default SAP_BW) and `I_SUBSCRIBER_NAME` (default DELTA_EXTRACTOR). */
  subscriberType?: string
  subscriberName?: string
  /** TABLE_RFC: retries of a read call after a communication failure (default 2) and backoff base. */
  retries?: number
  backoffMs?: number
  /** For tests: the clock that caps future watermarks. */
  now?: () => Date
}

export interface RfcSource extends Source {
  /**
   * The source as one run (or one API request) uses it: the same connection pool, but everything
   * done for that user, pool events included, is logged through `log`. The source outlives the run
   * that created it, so it must not keep that run's log for the next one.
   */
  forRun(log: SapLog): Source
  /** Closes the pool's connections; reads still running keep theirs until they finish. */
  close(): Promise<void>
  /**
   * For a source being replaced: reads already started keep working to their end (confirm included);
   * once the pool has sat unused for `idleMs` (default 5 s) its connections close, and this resolves.
   */
  retire(idleMs?: number): Promise<void>
  /** Pool counters, for tests and diagnostics. */
  readonly poolStats: { open: number; busy: number; idle: number; waiting: number }
}

/**
 * @example
 * const source = createRfcSource({ ashost: 'sap01', sysnr: '00', client: '100', user, passwd })
 * const read = await source.read({ spec: { kind: 'TABLE_RFC', table: 'VBAP', watermarkField: 'AEDAT', pageSize: 10_000, subscriber: pipelineId }, mode: 'DELTA_INIT', signal })
 * for await (const page of read.pages) await write(read.columns, page.rows)
 * const { position } = await read.end()   // store with the commit, then:
 * await read.confirm?.(signal)
 */
export function createRfcSource(params: RfcConnectionParameters, opts: RfcSourceOptions = {}): RfcSource {
  const sourceLog = opts.log ?? silentLog
  const pool = new LazyPool(params, opts, sourceLog)
  const connection: Connection = { params, opts, pool }
  return {
    ...sourceFor(connection, sourceLog),
    forRun: (log) => sourceFor(connection, log),
    close: () => pool.close(),
    retire: (idleMs) => pool.retire(idleMs),
    get poolStats() {
      return pool.stats
    },
  }
}

/** What every use of one RFC connection shares. */
interface Connection {
  params: RfcConnectionParameters
  opts: RfcSourceOptions
  pool: LazyPool
}

/** The connection pool, made when the first call needs it: the driver loads then. */
class LazyPool {
  private pool: Promise<RfcPool> | undefined
  private ready: RfcPool | undefined

  constructor(
    private readonly params: RfcConnectionParameters,
    private readonly opts: RfcSourceOptions,
    private readonly log: SapLog,
  ) {}

  /** A missing driver rejects every use with the same clear error. */
  get(): Promise<RfcPool> {
    const { opts } = this
    this.pool ??= (opts.clientFactory ? Promise.resolve(opts.clientFactory) : loadNodeRfc()).then((factory) => {
      const observed = opts.observe ? observedClientFactory(factory, opts.observe) : factory
      const guarded = opts.connectGuard ? guardedClientFactory(observed, opts.connectGuard) : observed
      return (this.ready = new RfcPool(guarded, this.params, { max: opts.poolSize ?? 4, log: this.log }))
    })
    return this.pool
  }

  get stats(): RfcSource['poolStats'] {
    return this.ready?.stats ?? { open: 0, busy: 0, idle: 0, waiting: 0 }
  }

  async close(): Promise<void> {
    await this.ready?.closeAll()
  }

  async retire(idleMs?: number): Promise<void> {
    // A pool still being created (driver loading) is retired once it exists; a failed load has none.
    const p = await this.pool?.catch(() => undefined)
    await p?.retire(idleMs)
  }
}

/** What a run (or the source itself) does through the connection, logged through `log`. */
function sourceFor(c: Connection, log: SapLog): Source {
  return {
    async read(req: SourceReadRequest): Promise<SourceRead> {
      switch (req.spec.kind) {
        case 'TABLE_RFC':
          return readTable(await tableContext(c, log), req)
        case 'ODP_RFC':
          return readOdp(await odpContext(c, log), req)
        default:
          throw new SourceError('SOURCE_BAD_REQUEST', `an RFC connection reads TABLE_RFC or ODP_RFC sources, not ${req.spec.kind}`)
      }
    },

    async subscription(spec: SourceSpec, signal: AbortSignal): Promise<string | null> {
      return spec.kind === 'ODP_RFC' ? odpSubscription(await odpContext(c, log), spec, signal) : null
    },

    async reset(spec: SourceSpec, signal: AbortSignal): Promise<void> {
      // A watermark lives only in the stored position: forgetting it is the orchestrator's part.
      if (spec.kind === 'TABLE_RFC') return
      if (spec.kind !== 'ODP_RFC') throw new SourceError('SOURCE_BAD_REQUEST', `an RFC connection has no ${spec.kind} subscriptions`)
      await resetOdp(await odpContext(c, log), spec, signal)
    },

    async keyRanges(spec: SourceSpec, parts: number, signal: AbortSignal) {
      if (spec.kind === 'TABLE_RFC') return tableKeyRanges(await tableContext(c, log), spec, parts, signal)
      return { ranges: [{}], note: 'ODP over RFC reads are not split: one extraction request serves the whole snapshot' }
    },

    async splitInit(spec: SourceSpec, signal: AbortSignal) {
      // ODP over RFC: the initialisation is one request that opens the subscription; it is not split.
      return spec.kind === 'TABLE_RFC' ? splitTableInit(await tableContext(c, log), spec, signal) : undefined
    },

    ping: (signal: AbortSignal) => pingConnection(c, signal),
  }
}

const timeoutOf = (opts: RfcSourceOptions): number => opts.callTimeoutSeconds ?? 600

async function tableContext({ opts, pool }: Connection, log: SapLog): Promise<TableSourceContext> {
  return {
    pool: await pool.get(),
    log,
    timeout: timeoutOf(opts),
    retries: opts.retries,
    backoffMs: opts.backoffMs,
    overlapSeconds: opts.watermarkOverlapSeconds,
    now: opts.now,
  }
}

async function odpContext({ opts, pool }: Connection, log: SapLog): Promise<OdpSourceContext> {
  return {
    pool: await pool.get(),
    log,
    timeout: timeoutOf(opts),
    subscriberType: (opts.subscriberType ?? 'SAP_BW').toUpperCase(),
    subscriberName: (opts.subscriberName ?? 'DELTA_EXTRACTOR').toUpperCase(),
  }
}

/** Opens a fresh connection (a real logon, not a pooled one) and calls RFC_PING. */
async function pingConnection({ params, opts }: Connection, signal: AbortSignal): Promise<{ latencyMs: number }> {
  const factory = opts.clientFactory ?? (await loadNodeRfc())
  const secrets = params.passwd ? [params.passwd] : []
  const started = performance.now()
  let client: RfcClient | undefined
  try {
    client = factory(params)
    await client.open()
    await rfcCall(client, 'RFC_PING', {}, { signal, timeout: 60, secrets })
    return { latencyMs: Math.round(performance.now() - started) }
  } catch (e) {
    if (signal.aborted) throw signal.reason
    if (e instanceof SourceError) throw e
    throw toSourceError(e, { functionModule: 'RFC logon', secrets })
  } finally {
    if (client?.alive) await client.close().catch(() => undefined)
  }
}
