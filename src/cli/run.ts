import { type RunningApp, startApp } from '../app.js'
import { CLI_ACTOR } from '../auth/audit.js'
import type { Config } from '../config.js'
import type { ExtractionMode } from '../db/client.js'
import { isTerminal } from '../orchestrator/status.js'
import { createLogger } from '../util/logger.js'
import { createRunBar } from './progress-bar.js'
import { UsageError } from './usage-error.js'

const MODES = ['FULL', 'DELTA_INIT', 'DELTA', 'RECOVERY'] as const

/** `run <pipeline>` takes a file instead of a name when the name ends so (README, "YAML file format"). */
export const isCatalogFile = (ref: string) => /\.ya?ml$/i.test(ref)

/** Runs one pipeline of the catalogue in this process with a progress bar; the exit code says whether it committed. */
export async function runOnce(config: Config, pipelineRef: string, mode: string | undefined): Promise<number> {
  if (mode && !MODES.includes(mode as ExtractionMode)) throw new UsageError(`--mode must be one of ${MODES.join(', ')}`)
  const app = await startRunApp(config, { dataDir: config.DATA_DIR, databaseUrl: config.DATABASE_URL, secretKey: config.SECRET_KEY })
  try {
    const pipeline = await app.services.db.pipeline.findFirst({ where: { OR: [{ id: pipelineRef }, { name: pipelineRef }] } })
    if (!pipeline) {
      console.error(`no pipeline named or with id "${pipelineRef}"`)
      return 2
    }
    return await watchRun(app, pipeline, mode as ExtractionMode | undefined)
  } finally {
    await app.stop()
  }
}

/** The service without its API or scheduler, for one run in this process. */
export function startRunApp(config: Config, place: { dataDir: string; databaseUrl?: string; secretKey?: string }): Promise<RunningApp> {
  return startApp({
    ...place,
    rfcPoolSize: config.RFC_POOL_SIZE,
    outbound: { allowLoopback: config.ALLOW_LOOPBACK, allow: config.OUTBOUND_ALLOW },
    localRoots: config.LOCAL_ROOTS,
    s3DefaultCredentialEndpoints: config.S3_DEFAULT_CREDENTIALS_ENDPOINTS,
    log: createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL),
    // The run waits in the queue like any other when the service's runs fill every slot.
    orchestrator: { maxConcurrentRuns: config.MAX_CONCURRENT_RUNS || null },
  })
}

/**
 * Requests a run of the pipeline and shows its progress until it ends: exit 0 when it committed,
 * 1 when it failed or was cancelled.
 */
export async function watchRun(app: RunningApp, pipeline: { id: string; name: string }, mode: ExtractionMode | undefined): Promise<number> {
  const { db, orchestrator, bus } = app.services
  const events = bus.subscribe({ pipelineId: pipeline.id, kinds: ['status', 'stage', 'counters'] })
  const run = await orchestrator.requestRun(pipeline.id, { mode, trigger: 'MANUAL' })
  await app.services.audit.record({ actor: CLI_ACTOR, action: 'runPipeline', objectType: 'Run', objectId: run.id })
  console.error(`run ${run.id} of "${pipeline.name}" (${run.extractionMode})`)
  const bar = createRunBar(`${pipeline.name} ${run.extractionMode}`)
  for await (const e of events) {
    if (e.runId !== run.id) continue
    bar.update(e)
    if (isTerminal(e)) break
  }
  bar.stop()
  const done = await db.run.findUniqueOrThrow({ where: { id: run.id } })
  if (done.status !== 'SUCCEEDED') {
    console.error(`run ${done.id} ${done.status}: ${done.errorCode} ${done.errorMessage}`)
    return 1
  }
  console.log(`run ${done.id} committed ${done.rowsWritten} rows in ${done.filesWritten} file(s): ${done.manifestUri}`)
  return 0
}
