import { startApp } from '../app.js'
import { CLI_ACTOR } from '../auth/audit.js'
import type { Config } from '../config.js'
import type { ExtractionMode } from '../db/client.js'
import { isTerminal } from '../orchestrator/status.js'
import { createLogger } from '../util/logger.js'
import { createRunBar } from './progress-bar.js'

const MODES = ['FULL', 'DELTA_INIT', 'DELTA', 'RECOVERY'] as const

/** Runs one pipeline in this process with a progress bar; the exit code says whether it committed. */
export async function runOnce(config: Config, pipelineRef: string, mode: string | undefined): Promise<number> {
  if (mode && !MODES.includes(mode as ExtractionMode)) {
    console.error(`--mode must be one of ${MODES.join(', ')}`)
    return 2
  }
  const app = await startApp({
    dataDir: config.DATA_DIR,
    databaseUrl: config.DATABASE_URL,
    secretKey: config.SECRET_KEY,
    rfcPoolSize: config.RFC_POOL_SIZE,
    outbound: { allowLoopback: config.ALLOW_LOOPBACK, allow: config.OUTBOUND_ALLOW },
    localRoots: config.LOCAL_ROOTS,
    s3DefaultCredentialEndpoints: config.S3_DEFAULT_CREDENTIALS_ENDPOINTS,
    log: createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL),
    // The run waits in the queue like any other when the service's runs fill every slot.
    orchestrator: { maxConcurrentRuns: config.MAX_CONCURRENT_RUNS || null },
  })
  try {
    const { db, orchestrator, bus } = app.services
    const pipeline = await db.pipeline.findFirst({ where: { OR: [{ id: pipelineRef }, { name: pipelineRef }] } })
    if (!pipeline) {
      console.error(`no pipeline named or with id "${pipelineRef}"`)
      return 2
    }
    const events = bus.subscribe({ pipelineId: pipeline.id, kinds: ['status', 'stage', 'counters'] })
    const run = await orchestrator.requestRun(pipeline.id, { mode: mode as ExtractionMode | undefined, trigger: 'MANUAL' })
    await app.services.audit.record({ actor: CLI_ACTOR, action: 'runPipeline', objectType: 'Run', objectId: run.id })
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
  } finally {
    await app.stop()
  }
}
