import type { AppServices } from './api/context.js'
import { ConnectionCatalog } from './catalog/connections.js'
import { DestinationCatalog, type DestinationCatalogOptions } from './catalog/destinations.js'
import { PipelineCatalog } from './catalog/pipelines.js'
import { openDb } from './db/client.js'
import { migrate } from './db/migrate.js'
import { resolveSecretKey, SecretBox } from './db/secrets.js'
import { dbTarget, describeTarget } from './db/target.js'
import { Orchestrator, type OrchestratorOptions } from './orchestrator/orchestrator.js'
import { InMemoryProgressBus } from './orchestrator/progress.js'
import { Scheduler } from './orchestrator/scheduler.js'
import { sapSourceFactory } from './orchestrator/sources.js'
import type { Logger } from './util/logger.js'

export interface AppOptions {
  dataDir: string
  databaseUrl?: string
  secretKey?: string
  log: Logger
  /** Serve GraphQL on this address; omit for a worker-only or embedded (CLI, demo) instance. */
  listen?: { host: string; port: number }
  scheduler?: boolean
  orchestrator?: Omit<OrchestratorOptions, 'dataDir'>
  /** Retries and timeouts of object-store destinations (defaults suit production; tests shorten them). */
  destinations?: DestinationCatalogOptions
  /** Sees every SQL statement (statement counts in tests and benchmarks). */
  onQuery?: (sql: string) => void
  /** RFC connections open at once per SAP connection (default 4); used when `orchestrator.sources` is not given. */
  rfcPoolSize?: number
}

export interface RunningApp {
  services: AppServices
  /** Base URL of the API when it listens, e.g. http://127.0.0.1:4000 */
  url?: string
  stop(): Promise<void>
}

/**
 * Wires the service together: database (migrated), catalogs, progress bus, orchestrator, scheduler
 * and API. Everything is passed in; nothing here reads the environment.
 */
export async function startApp(opts: AppOptions): Promise<RunningApp> {
  const { log } = opts
  const target = dbTarget(opts.databaseUrl, opts.dataDir)
  const migrations = await migrate(target)
  log.info({ db: describeTarget(target), applied: migrations.applied }, 'database ready')
  const db = await openDb(target, { onQuery: opts.onQuery })
  const box = new SecretBox(resolveSecretKey(opts.secretKey, opts.dataDir))
  const bus = new InMemoryProgressBus()
  const connections = new ConnectionCatalog(db, box)
  const destinations = new DestinationCatalog(db, box, opts.destinations)
  const sources = opts.orchestrator?.sources ?? sapSourceFactory({ rfcPoolSize: opts.rfcPoolSize, log })
  const orchestrator = new Orchestrator({ db, bus, log, connections, destinations }, { ...opts.orchestrator, sources, dataDir: opts.dataDir })
  const services: AppServices = { db, log, bus, orchestrator, connections, destinations, pipelines: new PipelineCatalog(db), sources }

  await orchestrator.start()
  const scheduler = opts.scheduler ? new Scheduler(db, orchestrator, log) : undefined
  scheduler?.start()
  // Workers and one-off runs serve no API: they need not hold GraphQL, Yoga and the schema.
  const api = opts.listen ? (await import('./api/server.js')).createApiServer(services, opts.listen) : undefined
  const url = await api?.start()
  if (url) log.info({ url: `${url}/graphql` }, 'GraphQL API listening (GraphiQL in a browser)')

  return {
    services,
    url,
    stop: async () => {
      scheduler?.stop()
      await api?.stop()
      await orchestrator.stop()
      await sources.close?.()
      await db.$disconnect()
    },
  }
}
