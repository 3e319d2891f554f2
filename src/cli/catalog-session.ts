import { resolve } from 'node:path'
import { ConnectionCatalog } from '../catalog/connections.js'
import { DestinationCatalog } from '../catalog/destinations.js'
import { PipelineCatalog } from '../catalog/pipelines.js'
import { type SourceChecker, sourceChecker } from '../catalog/source-check.js'
import type { SourceCheckPlan } from '../catalog/source-check-plan.js'
import type { Config } from '../config.js'
import { type Db, openDb } from '../db/client.js'
import { inOneTransaction } from '../db/one-transaction.js'
import { verifiedKeyFile, verifySecretKey } from '../db/key-check.js'
import { migrate } from '../db/migrate.js'
import { ensurePrivateDir } from '../db/private-files.js'
import { resolveSecretKey, SecretBox } from '../db/secrets.js'
import { dbTarget, describeTarget } from '../db/target.js'
import { OutboundPolicy } from '../net/outbound-policy.js'
import { sapSourceFactory } from '../orchestrator/sources.js'
import { createLogger, type Logger } from '../util/logger.js'
import type { Catalogs } from './file-objects.js'

export interface CatalogSession {
  db: Db
  box: SecretBox
  log: Logger
  connections: ConnectionCatalog
  destinations: DestinationCatalog
  pipelines: PipelineCatalog
  /**
   * Runs `work` with the same catalogues over one database transaction (`inOneTransaction`): what it
   * writes commits together, or not at all when it throws. `checkSource` replaces the pipelines'
   * check against SAP there (a SourceCheckPlan's, so that SAP is asked before, not inside).
   */
  inOneTransaction<T>(
    work: (catalogs: Catalogs) => Promise<T>,
    opts?: { checkSource?: (connections: ConnectionCatalog) => SourceChecker },
  ): Promise<T>
  /** Puts the questions `plan` noted to SAP (call it with no transaction open). */
  askSap(plan: SourceCheckPlan): Promise<void>
  close(): Promise<void>
}

/** Where a session's catalogue lives; a run from a file points it at a throwaway DATA_DIR. */
export interface CatalogPlace {
  dataDir: string
  databaseUrl?: string
  secretKey?: string
}

/**
 * The catalogues of the service's database, without its orchestrator, scheduler or API: what the
 * commands that read or edit the catalogue need (apply, connections test, pipelines list). The
 * same wiring as startApp (docs/architecture.md#composition-root, steps 1-3), so the rules are the
 * catalogues' own; no run is swept, queued or started by such a command.
 */
export async function openCatalogSession(
  config: Config,
  place: CatalogPlace = catalogPlaceOf(config),
  opts: { checkSources?: boolean } = {},
): Promise<CatalogSession> {
  ensurePrivateDir(place.dataDir)
  const log = createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL)
  const target = dbTarget(place.databaseUrl, place.dataDir)
  await migrate(target)
  const db = await openDb(target)
  let box: SecretBox
  try {
    const where = describeTarget(target)
    box = place.secretKey
      ? (await verifySecretKey(db, new SecretBox(place.secretKey), where), new SecretBox(place.secretKey))
      : await verifiedKeyFile(db, place.dataDir, resolveSecretKey(undefined, place.dataDir), where)
  } catch (e) {
    await db.$disconnect()
    throw e
  }
  const outbound = new OutboundPolicy({ allowLoopback: config.ALLOW_LOOPBACK, allow: config.OUTBOUND_ALLOW })
  const sources = sapSourceFactory({ rfcPoolSize: config.RFC_POOL_SIZE, outbound, log })
  const catalogsOver = (on: Db, checkSource?: (connections: ConnectionCatalog) => SourceChecker): Catalogs => {
    const connections = new ConnectionCatalog(on, box, { sources, log })
    const destinations = new DestinationCatalog(
      on,
      box,
      { localRoots: config.LOCAL_ROOTS, s3DefaultCredentialEndpoints: config.S3_DEFAULT_CREDENTIALS_ENDPOINTS },
      { objectStore: { outbound } },
    )
    // A scratch catalogue that only checks a file asks SAP nothing (see apply.ts).
    const checker = checkSource ? checkSource(connections) : sourceChecker({ connections, sources, log })
    const pipelines = new PipelineCatalog(on, (opts.checkSources ?? true) ? checker : undefined)
    return { db: on, connections, destinations, pipelines }
  }
  return {
    ...catalogsOver(db),
    box,
    log,
    inOneTransaction: (work, o) => inOneTransaction(db, (tx) => work(catalogsOver(tx, o?.checkSource))),
    askSap: (plan) => plan.ask({ sources, log }),
    close: async () => {
      await sources.close?.()
      await db.$disconnect()
    },
  }
}

const catalogPlaceOf = (config: Config): CatalogPlace => ({
  dataDir: resolve(config.DATA_DIR),
  databaseUrl: config.DATABASE_URL,
  secretKey: config.SECRET_KEY,
})

/** The service's database alone, for the commands that only read runs and pipelines (no secret key needed). */
export async function openServiceDb(config: Config): Promise<Db> {
  const target = dbTarget(config.DATABASE_URL, config.DATA_DIR)
  await migrate(target)
  return openDb(target)
}
