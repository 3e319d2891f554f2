import { securityFromConfig } from '../api/security.js'
import { startApp } from '../app.js'
import type { CreatedToken } from '../auth/tokens.js'
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
    retention: { days: config.RUN_RETENTION_DAYS },
    orchestrator: { concurrency: config.WORKER_CONCURRENCY },
    security: securityFromConfig(config),
    onFirstToken: (created) => {
      log.warn(
        { tokenId: created.apiToken.id, name: created.apiToken.name },
        'no API token existed: created an admin token and printed it on stderr (not in this log)',
      )
      process.stderr.write(firstTokenNotice(created, config))
    },
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
