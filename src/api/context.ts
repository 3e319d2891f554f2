import type { AuditLog } from '../auth/audit.js'
import type { Principal } from '../auth/roles.js'
import type { TokenService } from '../auth/tokens.js'
import type { ConnectionCatalog } from '../catalog/connections.js'
import type { DestinationCatalog } from '../catalog/destinations.js'
import type { PipelineCatalog } from '../catalog/pipelines.js'
import type { Db } from '../db/client.js'
import type { Orchestrator } from '../orchestrator/orchestrator.js'
import type { ProgressBus } from '../orchestrator/progress.js'
import type { SourceFactory } from '../orchestrator/sources.js'
import type { Logger } from '../util/logger.js'

/** The service's parts, as the API layer sees them. One instance per running service. */
export interface AppServices {
  db: Db
  log: Logger
  bus: ProgressBus
  orchestrator: Orchestrator
  connections: ConnectionCatalog
  destinations: DestinationCatalog
  pipelines: PipelineCatalog
  sources: SourceFactory
  tokens: TokenService
  audit: AuditLog
  /**
   * Whether stored schedules fire: false only where SCHEDULER=false was set on a one-process
   * deployment (in queue mode another instance may run the scheduler). `nextRunAt` is null then.
   */
  schedulesFire: boolean
}

export interface ApiContext {
  app: AppServices
  /** The caller, resolved from its token once per HTTP request or websocket connection. */
  principal?: Principal
}
