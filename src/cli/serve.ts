import { securityFromConfig } from '../api/security.js'
import { startApp } from '../app.js'
import type { CreatedToken } from '../auth/tokens.js'
import type { Config } from '../config.js'
import { lakeMaintenanceOf } from '../orchestrator/lake/maintain.js'
import { createLogger } from '../util/logger.js'
import { describeRedis, partitionSettings, serviceOptions, stopWithin, untilStopSignal } from './service-process.js'

/**
 * Serves until SIGINT/SIGTERM, then stops cleanly: runs in flight get SHUTDOWN_GRACE_SECONDS to
 * finish and are then released for recovery. Without REDIS_URL it runs pipelines itself; with it
 * (queue mode) it only queues them for `worker` processes, unless `withWorker`.
 */
export async function serve(config: Config, { withWorker }: { withWorker: boolean }): Promise<number> {
  const log = createLogger(config.LOG_LEVEL)
  // Listening from the start: a signal while starting stops the service as soon as it has started.
  const stopSignal = untilStopSignal(config, log)
  const work = !config.REDIS_URL || withWorker
  if (config.REDIS_URL)
    log.info({ redis: describeRedis(config.REDIS_URL), prefix: config.REDIS_PREFIX, work }, 'queue mode: runs are queued in Redis')
  const app = await startApp({
    ...serviceOptions(config, log),
    listen: { host: config.HOST, port: config.PORT },
    scheduler: config.SCHEDULER,
    retention: { days: config.RUN_RETENTION_DAYS },
    orchestrator: {
      concurrency: config.WORKER_CONCURRENCY,
      work,
      maxConcurrentRuns: config.MAX_CONCURRENT_RUNS || null,
      partitions: partitionSettings(config),
      lakeMaintenance: lakeMaintenanceOf(config.LAKE_SNAPSHOT_RETENTION_DAYS),
    },
    security: securityFromConfig(config),
    onFirstToken: (created) => {
      log.warn(
        { tokenId: created.apiToken.id, name: created.apiToken.name },
        'no API token existed: created an admin token and printed it on stderr (not in this log)',
      )
      process.stderr.write(firstTokenNotice(created, config))
    },
  })
  await stopWithin(app.stop, await stopSignal, log)
  return 0
}

/**
 * The first admin token, for a person at the console. It goes to stderr, not into the JSON log on
 * stdout: logs are shipped and kept, this line is read once. It is shown only here, never again.
 */
function firstTokenNotice(created: CreatedToken, config: Config): string {
  return `
  No API token existed, so an admin token named "${created.apiToken.name}" was created.
  It is shown this once (only its hash is stored):

      ${created.token}

  Send it as  Authorization: Bearer <token>  (in GraphiQL: the headers editor at
  http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${config.PORT}/graphql).
  Make tokens of your own with  delta-extractor token create --role admin|operator|viewer --name …
  and revoke this one with  delta-extractor token revoke ${created.apiToken.name}

`
}
