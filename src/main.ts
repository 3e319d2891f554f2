/**
 * delta-extractor command line: serve | worker | run | migrate | rotate-key | simulate-sap | demo | token.
 * The environment is parsed here, once (src/config.ts); commands receive plain values.
 */
import { parseArgs } from 'node:util'
import { usage } from './cli/usage.js'
import { ConfigError, parseConfig } from './config.js'

const USAGE = usage()

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  const config = parseConfig(process.env)
  switch (command) {
    case 'serve': {
      const { values } = parseArgs({ args: rest, options: { 'with-worker': { type: 'boolean', default: false } } })
      return (await import('./cli/serve.js')).serve(config, { withWorker: values['with-worker'] })
    }
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
      return (await import('./cli/worker.js')).worker(config)
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
