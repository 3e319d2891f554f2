import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { ConnectionCatalog } from '../catalog/connections.js'
import type { DestinationCatalog } from '../catalog/destinations.js'
import type { Db, Pipeline, Prisma } from '../db/client.js'
import { SourceError } from '../sap/errors.js'
import type { SourceSpec } from '../sap/source.js'
import type { Destination } from '../storage/destination.js'
import { DEFAULT_PATH_TEMPLATE, renderPathTemplate } from '../storage/path-template.js'
import { ParquetRoller, type Compression, type WrittenFile } from '../transform/index.js'
import type { Logger } from '../util/logger.js'
import { prefetch } from '../util/prefetch.js'
import { ChangeCounter } from './change-counter.js'
import { commitRun, type CommitRecord } from './commit.js'
import { markUncommitted, removeFailedOutput, sweepLeftovers } from './leftovers.js'
import { buildManifest, MANIFEST_FILE, SUCCESS_MARKER_FILE } from './manifest.js'
import type { ProgressBus } from './progress.js'
import { classifyRunError, RunCancelled, type RunError } from './run-errors.js'
import { RunTracker, type TrackerTiming } from './run-tracker.js'
import type { SourceFactory } from './sources.js'
import { UploadQueue } from './uploads.js'

export interface ExecuteDeps {
  db: Db
  bus: ProgressBus
  log: Logger
  connections: ConnectionCatalog
  destinations: DestinationCatalog
  sources: SourceFactory
  /** Parquet files are staged here (one folder per run) until uploaded. */
  stagingDir: string
  timing: TrackerTiming
  workerId: string
}

const RUN_INCLUDE = {
  pipeline: { include: { connection: true, destination: true, deltaState: { include: { lastCommittedRun: true } } } },
} satisfies Prisma.RunInclude
type LoadedRun = Prisma.RunGetPayload<{ include: typeof RUN_INCLUDE }>

/** The source settings of a pipeline, as the SAP side reads them. */
export function sourceSpecOf(p: Pipeline): SourceSpec {
  return {
    kind: p.sourceKind,
    entitySet: p.entitySet ?? undefined,
    odpContext: p.odpContext ?? undefined,
    odpName: p.odpName ?? undefined,
    table: p.table ?? undefined,
    fields: p.fields ? (JSON.parse(p.fields) as string[]) : undefined,
    filter: p.filter ?? undefined,
    watermarkField: p.watermarkField ?? undefined,
    pageSize: p.pageSize ?? OUTPUT_DEFAULTS.pageSize,
    subscriber: p.id,
  }
}

/** Output defaults where a pipeline leaves them open. */
export const OUTPUT_DEFAULTS = { compression: 'SNAPPY' as Compression, rowGroupRows: 100_000, maxFileMb: 256, pageSize: 20_000 }
const UPLOAD_CONCURRENCY = 2
/** How long a failed run may spend removing its files before leaving them to the next run. */
const CLEANUP_TIMEOUT_MS = 30_000
/** Pages read ahead of the encoder: the next page downloads while this one is encoded. */
const PAGES_AHEAD = 1

/**
 * Why a run's signal was aborted: cancelled by a user, the process is shutting down, or the run is
 * no longer this worker's (another process declared it lost and has re-run the pipeline).
 */
export type AbortReason = RunCancelled | { shutdown: true } | { leaseLost: true }

/**
 * Executes one QUEUED run to its end: claim → extract → transform → upload → manifest → commit.
 * The delta state moves only in the transaction that marks the run SUCCEEDED; on any failure it
 * stays where it was and the pipeline's next run re-reads the same delta.
 */
/** How an execution ended, for the retry decision; null when the run was not this worker's to run. */
export type RunOutcome = { runId: string; pipelineId: string; attempt: number; status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'RELEASED'; error?: RunError } | null

export async function executeRun(deps: ExecuteDeps, runId: string, signal: AbortSignal): Promise<RunOutcome> {
  const { db, log: baseLog } = deps
  const claimed = await db.run.updateMany({
    where: { id: runId, status: 'QUEUED' },
    data: { status: 'RUNNING', stage: 'CONNECTING', startedAt: new Date(), heartbeatAt: new Date(), workerId: deps.workerId },
  })
  if (claimed.count === 0) return null // cancelled while queued, or another worker has it

  const run = await db.run.findUniqueOrThrow({ where: { id: runId }, include: RUN_INCLUDE })
  const log = baseLog.child({ runId, pipelineId: run.pipelineId, mode: run.extractionMode })
  const cancelFromDb = new AbortController()
  const tracker = new RunTracker(db, deps.bus, log, run.id, run.pipelineId, deps.workerId, 'CONNECTING', deps.timing, (state) => {
    if (cancelFromDb.signal.aborted) return
    if (state.leaseLost) cancelFromDb.abort({ leaseLost: true } satisfies AbortReason)
    else if (state.cancelRequested) cancelFromDb.abort(new RunCancelled())
  })
  const runSignal = AbortSignal.any([signal, cancelFromDb.signal])
  tracker.publishStatus('RUNNING', 'CONNECTING')
  const staging = join(deps.stagingDir, run.id)
  const pipeline = run.pipeline
  const prefix = renderPathTemplate(pipeline.pathTemplate ?? DEFAULT_PATH_TEMPLATE, {
    pipeline: pipeline.name,
    entity: pipeline.entitySet ?? pipeline.odpName ?? pipeline.table ?? 'data',
    at: run.queuedAt,
    runId: run.id,
    mode: run.extractionMode,
  })
  let destination: Destination | undefined
  const outcome = { runId: run.id, pipelineId: run.pipelineId, attempt: run.attempt }
  try {
    await tracker.note('info', `run started (${run.extractionMode})`, { prefix })
    destination = await deps.destinations.open(pipeline.destination)
    await markUncommitted(db, run.id, prefix)
    const swept = await sweepLeftovers(db, run.pipelineId, run.id, destination, log, runSignal)
    if (swept) await tracker.note('info', `removed the uncommitted objects of ${swept} earlier run(s)`)
    await extract(deps, run, tracker, destination, prefix, staging, runSignal, log)
    return { ...outcome, status: 'SUCCEEDED' }
  } catch (e) {
    const reason = runSignal.aborted ? (runSignal.reason as AbortReason) : undefined
    if (reason && 'leaseLost' in reason) {
      // Its outcome and its files are the new owner's business now: touch nothing.
      tracker.stop()
      log.warn('run stopped: another process declared it lost and re-ran the pipeline')
      return { ...outcome, status: 'RELEASED' }
    }
    if (reason && 'shutdown' in reason) {
      // Leave it RUNNING with a heartbeat in the past: the next start sees a lost run at once,
      // fails it as WORKER_LOST and runs the pipeline again, recovering the same delta.
      tracker.stop()
      await db.run.updateMany({ where: { id: run.id, status: 'RUNNING', workerId: deps.workerId }, data: { heartbeatAt: new Date(0) } })
      log.info('run released for recovery at shutdown')
      return { ...outcome, status: 'RELEASED' }
    }
    const error = classifyRunError(reason ?? e, (id, err) => log.error({ err, errorId: id }, 'run failed unexpectedly'))
    const status = error.code === 'CANCELLED' ? 'CANCELLED' : 'FAILED'
    tracker.stop()
    const c = tracker.counters
    const ended = await db.run.updateMany({
      where: { id: run.id, status: 'RUNNING', workerId: deps.workerId },
      data: {
        status,
        activeKey: null,
        finishedAt: new Date(),
        errorCode: error.code,
        errorMessage: error.message,
        errorRetryable: error.retryable,
        ...c,
      },
    })
    if (ended.count !== 1) {
      // Not ours to end (declared lost meanwhile), or it committed after all (a commit whose
      // reply was lost): either way its files are not leftovers of this worker's to remove.
      log.warn({ code: error.code }, 'run failed after it stopped being this worker\'s; leaving its outcome and files alone')
      return { ...outcome, status: 'RELEASED' }
    }
    tracker.publishStatus(status)
    log.info({ code: error.code }, `run ${status.toLowerCase()}`)
    await tracker.note(status === 'CANCELLED' ? 'warn' : 'error', error.message, { code: error.code })
    // Files of a run that did not commit are not data: remove them (or leave the prefix recorded for
    // the next run to remove; without a manifest readers already see it as incomplete). Bounded in
    // time: a storage outage must not hold a worker slot for the SDK's whole retry schedule.
    if (destination) await removeFailedOutput(db, run.id, destination, prefix, log, AbortSignal.timeout(CLEANUP_TIMEOUT_MS))
    return { ...outcome, status, error }
  } finally {
    tracker.stop()
    destination?.close?.()
    await rm(staging, { recursive: true, force: true })
  }
}

async function extract(
  deps: ExecuteDeps,
  run: LoadedRun,
  tracker: RunTracker,
  destination: Destination,
  prefix: string,
  staging: string,
  signal: AbortSignal,
  log: Logger,
): Promise<void> {
  const { db } = deps
  const pipeline = run.pipeline
  const state = pipeline.deltaState
  const source = deps.sources(deps.connections.resolve(pipeline.connection), log)

  const readMode = run.extractionMode === 'FULL' ? 'FULL' : run.extractionMode === 'DELTA_INIT' ? 'DELTA_INIT' : 'DELTA'
  let positionIn: string | undefined
  let deltaTokenIn: string | null = null
  if (readMode === 'DELTA') {
    if (!state?.deltaLink) throw new SourceError('DELTA_POSITION_LOST', 'the pipeline has no stored delta position; run it with mode DELTA_INIT')
    // An explicit RECOVERY with nothing pending repeats the last committed delta from its start token.
    const repeatFrom = run.extractionMode === 'RECOVERY' && !state.pendingRunId ? state.lastCommittedRun?.deltaTokenIn : null
    positionIn = repeatFrom ?? state.deltaLink
    deltaTokenIn = repeatFrom ?? state.token
    // Marks the delta as fetched-but-not-committed: if this run does not commit, the next one is a RECOVERY.
    await db.deltaState.update({ where: { pipelineId: pipeline.id }, data: { pendingRunId: run.id } })
    await db.run.update({ where: { id: run.id }, data: { deltaTokenIn } })
  }

  const read = await source.read({ spec: sourceSpecOf(pipeline), mode: readMode, position: positionIn, signal })
  await tracker.setStage('EXTRACTING')
  await mkdir(staging, { recursive: true })
  const compression = (pipeline.compression ?? OUTPUT_DEFAULTS.compression) as Compression
  const roller = new ParquetRoller(read.columns, {
    dir: staging,
    fileName: (i) => `part-${String(i).padStart(5, '0')}.parquet`,
    compression,
    rowGroupRows: pipeline.rowGroupRows ?? OUTPUT_DEFAULTS.rowGroupRows,
    maxFileBytes: (pipeline.maxFileMb ?? OUTPUT_DEFAULTS.maxFileMb) * 1024 * 1024,
    kvMetadata: { 'delta-extractor.run': run.id, 'delta-extractor.pipeline': pipeline.name },
  })
  const uploads = new UploadQueue(destination, prefix, UPLOAD_CONCURRENCY, signal, (f) =>
    tracker.add({ filesWritten: 1, bytesWritten: BigInt(f.bytes) }),
  )
  const changes = new ChangeCounter(read.columns)
  try {
    let written = 0
    const encode = async (finished: Promise<WrittenFile[]>) => {
      for (const f of await finished) await uploads.add(f)
      tracker.add({ rowsWritten: BigInt(roller.rowsWritten - written) })
      written = roller.rowsWritten
    }
    for await (const page of prefetch(read.pages, PAGES_AHEAD)) {
      signal.throwIfAborted()
      tracker.add({ rowsExtracted: BigInt(page.rows.length) })
      changes.count(page.rows)
      await encode(roller.write(page.rows))
    }
    const end = await read.end()
    if (readMode !== 'FULL' && !end.position)
      throw new SourceError('SOURCE_PROTOCOL', 'SAP ended the delta read without a delta link; nothing is committed')

    await tracker.setStage('TRANSFORMING')
    await encode(roller.finish())
    await tracker.setStage('UPLOADING')
    const files = await uploads.done()

    signal.throwIfAborted()
    await tracker.setStage('COMMITTING')
    const isDelta = readMode === 'DELTA' && changes.tracksChanges
    const manifest = buildManifest({
      runId: run.id,
      pipeline,
      extractionMode: run.extractionMode,
      compression,
      columns: read.columns,
      files,
      changeCounts: isDelta ? changes.counts : null,
      deltaTokenIn,
      deltaTokenOut: end.token ?? null,
    })
    const positionOut = readMode === 'FULL' ? undefined : end.position
    // Recorded before the manifest exists: should this worker die between the manifest and the
    // commit, whoever finds the run lost commits it from here and the manifest (roll-forward.ts)
    // instead of re-reading a delta the lake already holds.
    const recorded = await db.run.updateMany({
      where: { id: run.id, status: 'RUNNING', workerId: deps.workerId },
      data: { positionOut: positionOut ?? null, deltaTokenOut: end.token ?? null },
    })
    if (recorded.count !== 1) throw new Error(`run ${run.id} is no longer owned by this worker; not writing its manifest`)
    await destination.putText(`${prefix}/${MANIFEST_FILE}`, JSON.stringify(manifest, null, 2), signal)
    // Spark/Hadoop's marker, after the manifest: either says "complete" to its kind of reader.
    if (pipeline.successMarker) await destination.putText(`${prefix}/${SUCCESS_MARKER_FILE}`, '', signal)
    await commit(deps, run, tracker, {
      manifestUri: destination.uriOf(`${prefix}/${MANIFEST_FILE}`),
      positionOut,
      deltaTokenOut: end.token ?? null,
      changeCounts: manifest.changeCounts,
    })
    log.info({ rows: manifest.rows, files: files.length }, 'run committed')
    // After the commit point: a failure here changes nothing committed; the next read repeats from
    // the stored position.
    await read.confirm?.(signal).catch((err) => log.warn({ err }, 'could not confirm the read in SAP; the next run repeats it'))
  } catch (e) {
    // In-flight uploads end before the caller removes the run's prefix, or they would land after it.
    await uploads.abort()
    await roller.abort().catch(() => {})
    throw e
  }
}

/** The database commit of this worker's run; refuses if the run stopped being this worker's. */
async function commit(deps: ExecuteDeps, run: LoadedRun, tracker: RunTracker, out: Omit<CommitRecord, 'counters'>): Promise<void> {
  tracker.stop()
  const committed = await commitRun(deps.db, run, { workerId: deps.workerId }, { ...out, counters: tracker.counters })
  if (!committed) throw new Error(`run ${run.id} is no longer owned by this worker; not committing`)
  tracker.publishStatus('SUCCEEDED', 'DONE')
}
