import { resolve } from 'node:path'
import type { AppServices } from './api/context.js'
import type { SecurityOptions } from './api/security.js'
import { AuditLog } from './auth/audit.js'
import { ensureFirstToken } from './auth/bootstrap.js'
import { TokenService, type CreatedToken } from './auth/tokens.js'
import { ConnectionCatalog } from './catalog/connections.js'
import { DestinationCatalog, type DestinationCatalogOptions } from './catalog/destinations.js'
import { PipelineCatalog } from './catalog/pipelines.js'
import { sourceChecker } from './catalog/source-check.js'
import { openDb } from './db/client.js'
import { migrate } from './db/migrate.js'
import { verifiedKeyFile, verifySecretKey } from './db/key-check.js'
import { ensurePrivateDir } from './db/private-files.js'
import { resolveSecretKey, SecretBox } from './db/secrets.js'
import { dbTarget, describeTarget } from './db/target.js'
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_STALE_AFTER_MS,
  Orchestrator,
  type OrchestratorOptions,
  type StopOptions,
} from './orchestrator/orchestrator.js'
import type { RunQueue } from './orchestrator/queue.js'
import { DEFAULT_PARTITION_CONCURRENCY, DEFAULT_PARTITION_TIMING, type PartitionQueue } from './orchestrator/partition-queue.js'
import { InMemoryProgressBus } from './orchestrator/progress.js'
import { RedisChannels } from './orchestrator/redis-channels.js'
import { RedisProgressBus } from './orchestrator/redis-progress-bus.js'
import { RetentionSweeper, type RetentionOptions } from './orchestrator/retention.js'
import { Scheduler } from './orchestrator/scheduler.js'
import { sapSourceFactory } from './orchestrator/sources.js'
import { parseConfig } from './config.js'
import { OutboundPolicy, type OutboundPolicyOptions } from './net/outbound-policy.js'
import type { Broadcast } from './util/broadcast.js'
import type { Logger } from './util/logger.js'
import { opsEndpoints, type Observability } from './metrics/endpoints.js'
import { startOpsServer } from './metrics/ops-server.js'
import { ServiceMetrics } from './metrics/service-metrics.js'

export interface AppOptions {
  dataDir: string
  databaseUrl?: string
  secretKey?: string
  log: Logger
  /** Serve GraphQL on this address; omit for a worker-only or embedded (CLI, demo) instance. */
  listen?: { host: string; port: number }
  scheduler?: boolean
  orchestrator?: Omit<OrchestratorOptions, 'dataDir' | 'queue' | 'partitionQueue'>
  /**
   * Queue mode (docs/architecture.md#queue-mode): runs are queued in Redis under this key prefix, for
   * whichever process works (`orchestrator.work`), and progress, cancels and token revokes reach every
   * instance sharing this Redis (docs/architecture.md#progress). Without it everything stays in this process.
   */
  redis?: { url: string; prefix: string }
  /** Retries and timeouts of object-store destinations (defaults suit production; tests shorten them). */
  destinations?: DestinationCatalogOptions
  /** Sees every SQL statement (statement counts in tests and benchmarks). */
  onQuery?: (sql: string) => void
  /** RFC connections open at once per SAP connection (default 4); used when `orchestrator.sources` is not given. */
  rfcPoolSize?: number
  /** The API's defences (CORS, hosts, limits, rate limit); defaults are those of an empty environment. */
  security?: Partial<SecurityOptions>
  /**
   * Receives the admin token created when a service that listens on loopback starts on a database
   * without any token (shown once; only its hash is stored). Without it the token is created all
   * the same and nobody sees it: use `delta-extractor token create`.
   */
  onFirstToken?: (created: CreatedToken) => void
  /**
   * Where SAP and object stores may be reached (ALLOW_LOOPBACK, OUTBOUND_ALLOW); default: loopback
   * refused, no allow list. Used when `orchestrator.sources` is not given, and for object stores.
   */
  outbound?: OutboundPolicyOptions
  /** Folders LOCAL destinations must be inside (LOCAL_ROOTS); default DATA_DIR/lake. */
  localRoots?: string[]
  /** S3-compatible endpoints besides AWS's that may sign with the service's default AWS credentials. */
  s3DefaultCredentialEndpoints?: string[]
  /** Prune old runs (RUN_RETENTION_DAYS) in this process; omit in short-lived ones (run, demo, tests). */
  retention?: RetentionOptions
  /**
   * /metrics, /healthz, /readyz (README "Metrics and health"): on the API's port when it listens, and
   * on `listen` (a worker's METRICS_PORT). `token`: METRICS_TOKEN; `allowedHosts`: ALLOWED_HOSTS.
   * Processes that neither listen nor have `listen` here keep no metrics.
   */
  metrics?: { token?: string; listen?: { host: string; port: number }; allowedHosts?: string[] }
}

export interface RunningApp {
  services: AppServices
  /** Base URL of the API when it listens, e.g. http://127.0.0.1:4000 */
  url?: string
  /** Base URL of a worker's /metrics, /healthz and /readyz listener (`metrics.listen`). */
  metricsUrl?: string
  /** Stops everything; runs in flight get `graceMs` (default 0) to finish before they are released. */
  stop(opts?: StopOptions): Promise<void>
}

/**
 * Wires the service together: database (migrated), catalogs, progress bus, orchestrator, scheduler
 * and API. Everything is passed in; nothing here reads the environment.
 */
export async function startApp(opts: AppOptions): Promise<RunningApp> {
  const { log } = opts
  if (ensurePrivateDir(opts.dataDir).openToOthers)
    log.warn(
      { dataDir: opts.dataDir },
      'DATA_DIR can be read by other users of this machine (it holds the database and the secret key): chmod 700 it',
    )
  const target = dbTarget(opts.databaseUrl, opts.dataDir)
  const migrations = await migrate(target)
  log.info({ db: describeTarget(target), applied: migrations.applied }, 'database ready')
  const db = await openDb(target, { onQuery: opts.onQuery })
  let box: SecretBox
  let redis: RedisChannels | undefined
  try {
    // A wrong key refuses to start here, rather than failing on each secret later.
    const where = describeTarget(target)
    box = opts.secretKey
      ? (await verifySecretKey(db, new SecretBox(opts.secretKey), where), new SecretBox(opts.secretKey))
      : await verifiedKeyFile(db, opts.dataDir, resolveSecretKey(undefined, opts.dataDir), where)
    if (opts.redis) redis = await RedisChannels.open(opts.redis.url, { prefix: opts.redis.prefix, log })
  } catch (e) {
    await db.$disconnect()
    throw e
  }
  const bus = redis ? new RedisProgressBus(redis, log) : new InMemoryProgressBus()
  const outbound = new OutboundPolicy(opts.outbound ?? { allowLoopback: false, allow: [] })
  const metrics = opts.listen || opts.metrics?.listen ? new ServiceMetrics(db) : undefined
  const sources =
    opts.orchestrator?.sources ?? sapSourceFactory({ rfcPoolSize: opts.rfcPoolSize, outbound, log, observeSap: metrics?.sapRequests })
  const connections = new ConnectionCatalog(db, box, { sources, log })
  const destinations = new DestinationCatalog(
    db,
    box,
    {
      localRoots: opts.localRoots ?? [resolve(opts.dataDir, 'lake')],
      s3DefaultCredentialEndpoints: opts.s3DefaultCredentialEndpoints ?? [],
    },
    { objectStore: { ...opts.destinations?.objectStore, outbound }, observeRetries: metrics?.storageRetries },
  )
  const queue = opts.redis && (await redisQueue(opts.redis, opts.orchestrator, log, redis?.broadcast('slot')))
  const partitionQueue = opts.redis && redis && (await redisPartitionQueue(opts.redis, opts.orchestrator, log, redis))
  const orchestrator = new Orchestrator(
    { db, bus, log, connections, destinations, cancels: redis?.broadcast('cancel'), observer: metrics },
    { ...opts.orchestrator, sources, queue, partitionQueue, dataDir: opts.dataDir },
  )
  const tokens = new TokenService(db, log, redis?.broadcast('revoke'))
  const audit = new AuditLog(db, log)
  const pipelines = new PipelineCatalog(db, sourceChecker({ connections, sources, log }))
  // `scheduler` unset (embedded: the CLI, tests) says nothing about whether schedules fire elsewhere.
  const schedulesFire = opts.scheduler !== false || opts.redis !== undefined
  const services: AppServices = { db, log, bus, orchestrator, connections, destinations, pipelines, sources, tokens, audit, schedulesFire }
  // Before anything starts: a service that refuses to listen must not have begun running pipelines.
  if (opts.listen) {
    try {
      await ensureFirstToken(tokens, opts.listen.host, opts.onFirstToken)
    } catch (e) {
      await queue?.stop()
      await partitionQueue?.stop()
      await redis?.close()
      await db.$disconnect()
      throw e
    }
  }

  await orchestrator.start()
  const scheduler = opts.scheduler ? new Scheduler(db, orchestrator, log) : undefined
  scheduler?.start()
  const retention = opts.retention ? new RetentionSweeper(db, log, opts.retention) : undefined
  retention?.start()
  const ops = metrics && { metrics, endpoints: opsEndpoints({ metrics, tokens, metricsToken: opts.metrics?.token, db, redis }) }
  // Workers and one-off runs serve no API: they need not hold GraphQL, Yoga and the schema.
  const api = opts.listen ? await createApi(services, opts.listen, opts.security, ops) : undefined
  let url: string | undefined
  let opsServer: Awaited<ReturnType<typeof startOpsServer>> | undefined
  try {
    url = await api?.start()
    if (ops && opts.metrics?.listen) opsServer = await startOpsServer(ops.endpoints, opts.metrics.listen, opts.metrics.allowedHosts ?? [])
  } catch (e) {
    // Could not listen (a port in use, a bad HOST): undo the start, so the caller can just report it.
    scheduler?.stop()
    await retention?.stop()
    await api?.stop()
    await orchestrator.stop()
    await sources.close?.()
    await db.$disconnect()
    throw e
  }
  if (url) log.info({ url: `${url}/graphql` }, 'GraphQL API listening (GraphiQL in a browser)')
  if (opsServer) log.info({ url: `${opsServer.url}/metrics` }, 'metrics and health listening')

  return {
    services,
    url,
    metricsUrl: opsServer?.url,
    stop: async (stopOpts) => {
      scheduler?.stop()
      await retention?.stop()
      await api?.stop()
      await opsServer?.stop()
      tokens.close()
      await orchestrator.stop(stopOpts)
      await sources.close?.()
      await redis?.close()
      await db.$disconnect()
    },
  }
}

/** Queue mode: partitions of partitioned runs are read by any worker (docs/architecture.md#partitions). */
async function redisPartitionQueue(
  redis: { url: string; prefix: string },
  o: AppOptions['orchestrator'],
  log: Logger,
  channels: RedisChannels,
): Promise<PartitionQueue> {
  const { BullPartitionQueue } = await import('./orchestrator/bull-partition-queue.js')
  return new BullPartitionQueue({
    redisUrl: redis.url,
    prefix: redis.prefix,
    concurrency: o?.partitions?.concurrency ?? DEFAULT_PARTITION_CONCURRENCY,
    timing: { ...DEFAULT_PARTITION_TIMING, ...o?.partitions?.timing },
    channels,
    log,
  })
}

/** BullMQ and ioredis are loaded only in queue mode. */
async function redisQueue(
  redis: { url: string; prefix: string },
  o: AppOptions['orchestrator'],
  log: Logger,
  slotFreed: Broadcast | undefined,
): Promise<RunQueue> {
  const { BullRunQueue } = await import('./orchestrator/bull-queue.js')
  return new BullRunQueue({
    redisUrl: redis.url,
    prefix: redis.prefix,
    concurrency: o?.concurrency ?? DEFAULT_CONCURRENCY,
    staleAfterMs: o?.staleAfterMs ?? DEFAULT_STALE_AFTER_MS,
    slotFreed,
    log,
  })
}

async function createApi(
  services: AppServices,
  listen: { host: string; port: number },
  overrides: Partial<SecurityOptions> = {},
  ops?: Observability,
) {
  const [{ createApiServer }, { securityFromConfig }] = await Promise.all([import('./api/server.js'), import('./api/security.js')])
  const security = { ...securityFromConfig(parseConfig({})), ...overrides }
  return createApiServer(services, listen, security, ops)
}
