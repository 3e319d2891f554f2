import { type RunningApp, startApp } from '../app.js'
import { CLI_ACTOR } from '../auth/audit.js'
import type { Config } from '../config.js'
import { lakeMaintenanceOf } from '../orchestrator/lake/maintain.js'
import type { ExtractionMode } from '../db/client.js'
import { snapshotOf } from '../orchestrator/progress.js'
import { isTerminal } from '../orchestrator/status.js'
import { createLogger } from '../util/logger.js'
import { createRunBar } from './progress-bar.js'
import { UsageError } from './usage-error.js'

const MODES = ['FULL', 'DELTA_INIT', 'DELTA', 'RECOVERY'] as const

/** `run <pipeline>` takes a file instead of a name when the name ends so (README, "YAML file format"). */
export const isCatalogFile = (ref: string) => /\.ya?ml$/i.test(ref)

/**
 * Runs one pipeline of the catalogue with a progress bar; the exit code says whether it committed.
 * Without REDIS_URL this process runs it. With it (queue mode) the run is queued for the deployment's
 * workers like any other and this process only follows it over Redis: the workers are where the
 * concurrency limits are held and where every other run goes, so a one-off run waits its turn, is
 * taken by exactly one worker, and never makes this command a worker of other queued runs (README,
 * "Command line").
 */
export async function runOnce(config: Config, pipelineRef: string, mode: string | undefined): Promise<number> {
  if (mode && !MODES.includes(mode as ExtractionMode)) throw new UsageError(`--mode must be one of ${MODES.join(', ')}`)
  const redis = config.REDIS_URL ? { url: config.REDIS_URL, prefix: config.REDIS_PREFIX } : undefined
  const app = await startRunApp(config, { dataDir: config.DATA_DIR, databaseUrl: config.DATABASE_URL, secretKey: config.SECRET_KEY }, redis)
  try {
    const pipeline = await app.services.db.pipeline.findFirst({ where: { OR: [{ id: pipelineRef }, { name: pipelineRef }] } })
    if (!pipeline) {
      console.error(`no pipeline named or with id "${pipelineRef}"`)
      return 2
    }
    if (redis)
      console.error(
        `REDIS_URL is set: the run is queued for the deployment's workers (worker, serve --with-worker) and followed here; Ctrl-C stops following, not the run`,
      )
    return await watchRun(app, pipeline, mode as ExtractionMode | undefined)
  } finally {
    await app.stop()
  }
}

/**
 * The service without its API or scheduler, for one run: in this process, or with `redis` queued for
 * the deployment's workers (this orchestrator takes no job, and so re-queues nothing into a queue of its own).
 */
export function startRunApp(
  config: Config,
  place: { dataDir: string; databaseUrl?: string; secretKey?: string },
  redis?: { url: string; prefix: string },
): Promise<RunningApp> {
  return startApp({
    ...place,
    rfcPoolSize: config.RFC_POOL_SIZE,
    outbound: { allowLoopback: config.ALLOW_LOOPBACK, allow: config.OUTBOUND_ALLOW },
    localRoots: config.LOCAL_ROOTS,
    s3DefaultCredentialEndpoints: config.S3_DEFAULT_CREDENTIALS_ENDPOINTS,
    log: createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL),
    redis,
    // The run waits in the queue like any other when the service's runs fill every slot.
    orchestrator: {
      maxConcurrentRuns: config.MAX_CONCURRENT_RUNS || null,
      work: !redis,
      lakeMaintenance: lakeMaintenanceOf(config.LAKE_SNAPSHOT_RETENTION_DAYS),
    },
  })
}

/**
 * Requests a run of the pipeline and shows its progress until it ends: exit 0 when it committed,
 * 1 when it failed or was cancelled.
 */
export async function watchRun(app: RunningApp, pipeline: { id: string; name: string }, mode: ExtractionMode | undefined): Promise<number> {
  const { db, orchestrator, bus } = app.services
  const events = bus.subscribe({ pipelineId: pipeline.id, kinds: ['status', 'stage', 'counters', 'resync'] })
  const run = await orchestrator.requestRun(pipeline.id, { mode, trigger: 'MANUAL' })
  await app.services.audit.record({ actor: CLI_ACTOR, action: 'runPipeline', objectType: 'Run', objectId: run.id })
  console.error(`run ${run.id} of "${pipeline.name}" (${run.extractionMode})`)
  const bar = createRunBar(`${pipeline.name} ${run.extractionMode}`)
  for await (const e of events) {
    // In queue mode the events come over Redis: after a drop, the database says where the run is
    // (one that ended meanwhile would otherwise be waited for forever; docs/architecture.md#progress).
    const now = e.kind === 'resync' ? snapshotOf(await db.run.findUniqueOrThrow({ where: { id: run.id } })) : e
    if (now.runId !== run.id) continue
    bar.update(now)
    if (isTerminal(now)) break
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
