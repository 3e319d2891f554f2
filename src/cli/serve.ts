import { startApp } from '../app.js'
import type { Config } from '../config.js'
import { createLogger } from '../util/logger.js'

/** Serves until SIGINT/SIGTERM, then stops cleanly: runs in flight are released for recovery. */
export async function serve(config: Config): Promise<number> {
  const log = createLogger(config.LOG_LEVEL)
  const app = await startApp({
    dataDir: config.DATA_DIR,
    databaseUrl: config.DATABASE_URL,
    secretKey: config.SECRET_KEY,
    rfcPoolSize: config.RFC_POOL_SIZE,
    outbound: { allowLoopback: config.ALLOW_LOOPBACK, allow: config.OUTBOUND_ALLOW },
    localRoots: config.LOCAL_ROOTS,
    s3DefaultCredentialEndpoints: config.S3_DEFAULT_CREDENTIALS_ENDPOINTS,
    log,
    listen: { host: config.HOST, port: config.PORT },
    scheduler: config.SCHEDULER,
    orchestrator: { concurrency: config.WORKER_CONCURRENCY },
  })
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping')
      resolve()
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  await app.stop()
  return 0
}
