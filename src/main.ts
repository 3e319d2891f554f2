/**
 * delta-extractor command line: serve | run | migrate | simulate-sap | demo.
 * The environment is parsed here, once (src/config.ts); commands receive plain values.
 */
import { parseArgs } from 'node:util'
import { ConfigError, parseConfig } from './config.js'

const USAGE = `usage: delta-extractor <command> [options]

  serve                         GraphQL API (+ GraphiQL) at http://HOST:PORT/graphql, runs pipelines and schedules
  run <pipeline> [--mode M]     run one pipeline now (name or id) and wait for it; exit 1 if it fails
  migrate                       apply database migrations and exit
  rotate-key                    re-encrypt every stored secret under a new key, in one transaction
                                (old key: SECRET_KEY or DATA_DIR/secret.key; new: NEW_SECRET_KEY, or
                                generated into DATA_DIR/secret.key when SECRET_KEY is not set). Stop the service first
                                (a running one refuses to save secrets until restarted with the new key)
  simulate-sap [--port 4400] [--rows 100000] [--latency-ms 0] [--rows-per-second-per-read 0]
                                start the built-in SAP ODP OData simulator (user DEMO, password Welcome1!)
  demo [--rows 100000] [--serve]
                                end to end on embedded defaults: simulator → full load → delta → Parquet
  worker                        queue workers need REDIS_URL (queue mode); not available yet
  token create --role admin|operator|viewer --name NAME
                                create an API token and print it (shown once)
  token list | token revoke ID|NAME
                                list tokens; revoke one (a running service notices within 5 s)

environment: PORT HOST DATABASE_URL DATA_DIR SECRET_KEY NEW_SECRET_KEY LOG_LEVEL WORKER_CONCURRENCY RFC_POOL_SIZE SCHEDULER
             CORS_ORIGINS ALLOWED_HOSTS MAX_REQUEST_BYTES QUERY_MAX_* MUTATIONS_PER_MINUTE
             SUBSCRIPTIONS_PER_SOCKET SUBSCRIPTIONS_PER_TOKEN SOCKETS_PER_TOKEN
             ALLOW_LOOPBACK OUTBOUND_ALLOW LOCAL_ROOTS S3_DEFAULT_CREDENTIALS_ENDPOINTS (see README)`

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  const config = parseConfig(process.env)
  switch (command) {
    case 'serve':
      return (await import('./cli/serve.js')).serve(config)
    case 'run': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { mode: { type: 'string' } } })
      if (positionals.length !== 1) throw new UsageError('run needs exactly one pipeline name or id')
      return (await import('./cli/run.js')).runOnce(config, positionals[0], values.mode)
    }
    case 'migrate':
      return (await import('./cli/migrate.js')).migrateOnly(config)
    case 'rotate-key':
      return (await import('./cli/rotate-key.js')).rotateKey(config)
    case 'simulate-sap': {
      const { values } = parseArgs({
        args: rest,
        options: {
          port: { type: 'string', default: '4400' },
          rows: { type: 'string', default: '100000' },
          'latency-ms': { type: 'string', default: '0' },
          'rows-per-second-per-read': { type: 'string', default: '0' },
        },
      })
      return (await import('./cli/simulate.js')).simulate(config, {
        port: Number(values.port),
        rows: Number(values.rows),
        latencyMs: Number(values['latency-ms']),
        rowsPerSecondPerRead: Number(values['rows-per-second-per-read']),
      })
    }
    case 'demo': {
      const { values } = parseArgs({
        args: rest,
        options: { rows: { type: 'string', default: '100000' }, serve: { type: 'boolean', default: false } },
      })
      return (await import('./cli/demo.js')).demo(config, { rows: Number(values.rows), serve: values.serve })
    }
    case 'token':
      return (await import('./cli/token.js')).tokenCommand(config, rest)
    case 'worker':
      console.error(
        'worker: separate worker processes need a shared queue (REDIS_URL, queue mode), which is not available in this release; `serve` runs pipelines itself',
      )
      return 2
    case undefined:
    case 'help':
    case '--help':
      console.log(USAGE)
      return command ? 0 : 2
    default:
      throw new UsageError(`unknown command "${command}"`)
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined && code !== null && !(code === 0 && process.argv[2] === 'serve')) process.exitCode = code
  },
  (e) => {
    if (e instanceof UsageError || e instanceof ConfigError) {
      console.error(`${e.message}\n\n${USAGE}`)
      process.exitCode = 2
    } else if (e instanceof Error && e.name === 'StartupRefused') {
      console.error(`refusing to start: ${e.message}`)
      process.exitCode = 2
    } else if ((e as Error)?.name === 'SecretKeyMismatch') {
      // A refusal to start, not a crash: the message says what to do, a stack trace would not help.
      console.error(`delta-extractor: ${(e as Error).message}`)
      process.exitCode = 2
    } else {
      console.error(e)
      process.exitCode = 1
    }
  },
)
