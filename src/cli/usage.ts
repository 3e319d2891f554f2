import { settingsWithDefaults } from '../config.js'

const COMMANDS = `usage: delta-extractor <command> [options]

  serve [--with-worker]         GraphQL API (+ GraphiQL) at http://HOST:PORT/graphql, runs pipelines and schedules;
                                with REDIS_URL (queue mode) it queues runs for workers, and runs them too with --with-worker
  worker                        queue mode (needs REDIS_URL): runs the pipelines serve queues; no API, no scheduler.
                                SIGTERM drains: no new run, runs in flight get SHUTDOWN_GRACE_SECONDS, then are released
  run <pipeline> [--mode M]     run one pipeline now (name or id) with a progress bar (plain lines off a terminal)
                                and wait for it: exit 0 committed, 1 failed or cancelled, 2 bad input;
                                with REDIS_URL a worker of the deployment runs it and this command follows it
  run <file.yaml> [--pipeline NAME]
                                a one-off FULL run of a pipeline defined in the file, in a throwaway catalogue:
                                same Parquet files and manifest, the service's catalogue untouched
  apply <file.yaml> [--json]    create or update the file's connections, destinations and pipelines by name
                                (says created / updated / unchanged per object); nothing is applied if any is invalid
  runs list [--pipeline P] [--status S] [--limit 20] [--json]
                                runs, newest first
  runs show <id> [--json]       one run, every field
  runs logs <id> [--follow] [--json]
                                the run's log; --follow waits for the run to end, exit 0 if it succeeded, else 1
  pipelines list [--json]       pipelines with source, schedule and last run
  connections test <name> [--json]
                                log on to SAP with the stored settings; exit 1 with SAP's answer if refused
  compact <pipeline> [--target-file-mb 128] [--min-input-files 5] [--json]
                                rewrite the small data files of an ICEBERG pipeline's tables into fewer large ones, one
                                \`replace\` snapshot each (same rows), then expire old snapshots; refused (exit 1) while a
                                run of it is active; exit 2 for an unknown pipeline or one without a table
  migrate                       apply database migrations and exit
  rotate-key                    re-encrypt every stored secret under a new key, in one transaction
                                (old key: SECRET_KEY or DATA_DIR/secret.key; new: NEW_SECRET_KEY, or
                                generated into DATA_DIR/secret.key when SECRET_KEY is not set). Stop the service first
                                (a running one refuses to save secrets until restarted with the new key)
  simulate-sap [--port 4400] [--rows 100000] [--latency-ms 0] [--rows-per-second-per-read 0]
                                start the built-in SAP ODP OData simulator (user DEMO, password Welcome1!)
  demo [--rows 100000] [--serve]
                                end to end on embedded defaults: simulator → full load → delta → Parquet
  token create --role admin|operator|viewer --name NAME
                                create an API token and print it (shown once)
  token list [--json] | token revoke ID|NAME
                                list tokens; revoke one (services notice within 5 s; at once with REDIS_URL)
`

const WIDTH = 110

/**
 * The usage text. Its settings come from config.ts, the one schema of the environment, so a new
 * setting is listed without anyone remembering to (the README says what each one does).
 */
export function usage(): string {
  const lines = ['environment (defaults after =; see the README):']
  let line = ' '
  for (const [name, byDefault] of settingsWithDefaults()) {
    const item = byDefault ? `${name}=${byDefault}` : name
    if (line.length + item.length + 1 > WIDTH) {
      lines.push(line)
      line = ' '
    }
    line += ` ${item}`
  }
  lines.push(line)
  return `${COMMANDS}\n${lines.join('\n')}`
}
