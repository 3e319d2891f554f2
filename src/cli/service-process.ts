import type { AppOptions } from '../app.js'
import type { Config } from '../config.js'
import type { Logger } from '../util/logger.js'

/** What `serve` and `worker` start the service with, from the environment. */
export function serviceOptions(config: Config, log: Logger): AppOptions {
  return {
    dataDir: config.DATA_DIR,
    databaseUrl: config.DATABASE_URL,
    secretKey: config.SECRET_KEY,
    rfcPoolSize: config.RFC_POOL_SIZE,
    outbound: { allowLoopback: config.ALLOW_LOOPBACK, allow: config.OUTBOUND_ALLOW },
    localRoots: config.LOCAL_ROOTS,
    s3DefaultCredentialEndpoints: config.S3_DEFAULT_CREDENTIALS_ENDPOINTS,
    log,
    redis: config.REDIS_URL ? { url: config.REDIS_URL, prefix: config.REDIS_PREFIX } : undefined,
    metrics: { token: config.METRICS_TOKEN, allowedHosts: config.ALLOWED_HOSTS },
  }
}

/** Resolves at the first SIGINT or SIGTERM, with the grace the runs in flight get to finish. */
export function untilStopSignal(config: Config, log: Logger): Promise<{ graceMs: number }> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      const graceMs = config.SHUTDOWN_GRACE_SECONDS * 1000
      log.info({ signal, graceMs }, 'stopping: no new runs; runs in flight may finish within the grace, then are released')
      resolve({ graceMs })
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}

/** What stopping may take beyond the grace: closing sockets, pools and the database. */
const STOP_MARGIN_MS = 10_000

/**
 * Stops the app within the grace plus a margin, even when something does not end (a request that
 * ignores its abort, a database call that never answers): a stop that takes longer is logged and the
 * process exits with 1 at once (open sockets would keep it alive until the container is killed). Runs
 * not released by then are recovered as lost runs, like after a crash (docs/architecture.md#leases).
 */
export async function stopWithin(
  stop: (opts: { graceMs: number }) => Promise<void>,
  opts: { graceMs: number },
  log: Logger,
  exit: (code: number) => void = (code) => process.exit(code),
): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const limitMs = opts.graceMs + STOP_MARGIN_MS
  const overdue = new Promise<'overdue'>((resolve) => {
    timer = setTimeout(() => resolve('overdue'), limitMs)
  })
  try {
    if ((await Promise.race([stop(opts), overdue])) !== 'overdue') return
    log.error(
      { limitMs },
      'stop did not finish within the grace and its margin: exiting anyway; runs still held are recovered as lost runs',
    )
    exit(1)
  } finally {
    clearTimeout(timer)
  }
}

/** REDIS_URL for a log line: it may carry a password. */
export function describeRedis(url: string): string {
  const u = new URL(url)
  if (u.password) u.password = '***'
  return u.href
}

/**
 * Queue mode's partition settings (docs/architecture.md#partitions). The stale window is kept at
 * three heartbeats at least, so one late renewal never makes the owner take a live partition back.
 */
export function partitionSettings(config: Config) {
  return {
    concurrency: config.PARTITION_CONCURRENCY,
    timing: {
      heartbeatMs: config.PARTITION_HEARTBEAT_MS,
      staleAfterMs: Math.max(config.PARTITION_STALE_MS, 3 * config.PARTITION_HEARTBEAT_MS),
    },
  }
}
