import { startApp } from '../app.js'
import type { Config } from '../config.js'
import { lakeMaintenanceOf } from '../orchestrator/lake/maintain.js'
import { createLogger } from '../util/logger.js'
import { describeRedis, partitionSettings, serviceOptions, stopWithin, untilStopSignal } from './service-process.js'

/**
 * A queue-mode worker: runs what `serve` queues, no API and no scheduler. On SIGTERM it drains
 * (docs/architecture.md#queue-mode). Exit 2 without REDIS_URL: there is nothing to take runs from.
 */
export async function worker(config: Config): Promise<number> {
  if (!config.REDIS_URL) {
    console.error(
      'worker: REDIS_URL is not set. Workers take runs from a Redis queue that `serve` fills (queue mode); set REDIS_URL (the same for serve and every worker), or run pipelines in the serving process with `serve` alone',
    )
    return 2
  }
  const log = createLogger(config.LOG_LEVEL)
  // Listening from the start: a signal while starting stops the service as soon as it has started.
  const stopSignal = untilStopSignal(config, log)
  const options = serviceOptions(config, log)
  const app = await startApp({
    ...options,
    // Workers serve no API; their own metrics and health answer here (README "Metrics and health").
    metrics: {
      ...options.metrics,
      listen: config.METRICS_PORT === undefined ? undefined : { host: config.HOST, port: config.METRICS_PORT },
    },
    orchestrator: {
      concurrency: config.WORKER_CONCURRENCY,
      work: true,
      maxConcurrentRuns: config.MAX_CONCURRENT_RUNS || null,
      partitions: partitionSettings(config),
      lakeMaintenance: lakeMaintenanceOf(config.LAKE_SNAPSHOT_RETENTION_DAYS),
    },
  })
  log.info(
    {
      workerId: app.services.orchestrator.workerId,
      concurrency: config.WORKER_CONCURRENCY,
      redis: describeRedis(config.REDIS_URL),
      prefix: config.REDIS_PREFIX,
    },
    'worker ready: taking runs from the queue',
  )
  await stopWithin(app.stop, await stopSignal, log)
  log.info('worker stopped')
  return 0
}
