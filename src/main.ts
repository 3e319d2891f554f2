/**
 * delta-extractor command line: serve | worker | run | apply | runs | pipelines | connections |
 * compact | migrate | rotate-key | simulate-sap | demo | token (the usage text, src/cli/usage.ts, says what each does).
 * The environment is parsed here, once (src/config.ts); commands receive plain values.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util'
import { UsageError } from './cli/usage-error.js'
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
      const { values, positionals } = parse(rest, { mode: { type: 'string' }, pipeline: { type: 'string' } })
      if (positionals.length !== 1) throw new UsageError('run needs exactly one pipeline name or id, or a .yaml file')
      const { isCatalogFile, runOnce } = await import('./cli/run.js')
      if (isCatalogFile(positionals[0])) return (await import('./cli/run-file.js')).runFile(config, positionals[0], values)
      if (values.pipeline) throw new UsageError('--pipeline goes with a file: run file.yaml --pipeline NAME')
      return runOnce(config, positionals[0], values.mode)
    }
    case 'apply': {
      const { values, positionals } = parse(rest, { json: { type: 'boolean', default: false } })
      if (positionals.length !== 1) throw new UsageError('apply needs exactly one file (connections, destinations, pipelines)')
      return (await import('./cli/apply.js')).applyCommand(config, positionals[0], values)
    }
    case 'runs': {
      const [sub, ...args] = rest
      const { values, positionals } = parse(args, {
        json: { type: 'boolean', default: false },
        follow: { type: 'boolean', short: 'f', default: false },
        pipeline: { type: 'string' },
        status: { type: 'string' },
        limit: { type: 'string', default: '20' },
      })
      const runs = await import('./cli/runs.js')
      if (sub === 'list' && !positionals.length) return runs.runsList(config, values)
      if (sub === 'show' && positionals.length === 1) return runs.runsShow(config, positionals[0], values)
      if (sub === 'logs' && positionals.length === 1) return (await import('./cli/run-logs.js')).runLogs(config, positionals[0], values)
      throw new UsageError('runs list | runs show <id> | runs logs <id> [--follow]')
    }
    case 'pipelines': {
      const { values, positionals } = parse(rest, { json: { type: 'boolean', default: false } })
      if (positionals.join(' ') !== 'list') throw new UsageError('pipelines list [--json]')
      return (await import('./cli/pipelines.js')).pipelinesList(config, values)
    }
    case 'connections': {
      const { values, positionals } = parse(rest, { json: { type: 'boolean', default: false } })
      if (positionals.length !== 2 || positionals[0] !== 'test') throw new UsageError('connections test <name|id> [--json]')
      return (await import('./cli/connections.js')).connectionsTest(config, positionals[1], values)
    }
    case 'compact': {
      const { values, positionals } = parse(rest, {
        json: { type: 'boolean', default: false },
        'target-file-mb': { type: 'string' },
        'min-input-files': { type: 'string' },
      })
      if (positionals.length !== 1) throw new UsageError('compact needs exactly one pipeline name or id')
      return (await import('./cli/compact.js')).compactCommand(config, positionals[0], values)
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

/** parseArgs with positionals; an unknown option or a missing value is a UsageError (exit 2 with the usage). */
function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true as const, strict: true as const })
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined && code !== null && !(code === 0 && process.argv[2] === 'serve')) process.exitCode = code
  },
  (e) => {
    if (e instanceof UsageError || e instanceof ConfigError) {
      console.error(`${e.message}\n\n${USAGE}`)
      process.exitCode = 2
    } else if ((e as Error)?.name === 'FileProblem') {
      // A file that cannot be applied names its own place (file, object, field); nothing was written.
      console.error(`${(e as Error).message}\nnothing was applied (README, "YAML file format")`)
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
