/**
 * The partition worker of queue mode (docs/architecture.md#partitions): any working process, the
 * run's owner included, reads one attempt at one key range of another worker's run. It claims the
 * attempt's `RunPartition` row, renews the row's heartbeat while it reads, writes under the run's
 * prefix with the attempt's own names, and ends the row SUCCEEDED with every figure the owner's
 * integrity check needs, or FAILED with its error — only while the row is still its own. A split
 * DELTA_INIT's partition reads from the start stored on its row and stores its end (the fingerprints
 * it saw) in the row's result, for the owner to join. It commits nothing: the owner verifies,
 * publishes and commits.
 */
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { ConnectionCatalog } from '../../catalog/connections.js'
import type { DestinationCatalog } from '../../catalog/destinations.js'
import type { Db } from '../../db/client.js'
import type { Destination } from '../../storage/destination.js'
import type { Broadcast } from '../../util/broadcast.js'
import { SourceError } from '../../sap/errors.js'
import type { Logger } from '../../util/logger.js'
import type { PartitionJob, PartitionQueue } from '../partition-queue.js'
import { classifyRunError, RunCancelled } from '../run-errors.js'
import type { SourceFactory } from '../sources.js'
import { runPrefix } from './context.js'
import { writtenOf, type PartitionFailure } from './partition-result.js'
import { pinnedOf, sourceSpecOf } from './pinned.js'
import { streamRead } from './stream.js'
import { tablePathOf } from '../lake/table-paths.js'

export interface PartitionWorkerDeps {
  db: Db
  log: Logger
  connections: ConnectionCatalog
  destinations: DestinationCatalog
  sources: SourceFactory
  stagingDir: string
  workerId: string
  queue: PartitionQueue
  cancels?: Broadcast
}

/** The attempt is no longer this worker's: the owner took it back (stale heartbeat) or the run ended. */
class AttemptLost extends Error {
  override readonly name = 'AttemptLost'
}

/** How often a reading worker tells the owner its running row count (the owner adds it to the run's rowsExtracted). */
const PROGRESS_EVERY_MS = 250

/** Reads one partition attempt to its end; the row says how it ended. Never throws. */
export async function readPartition(deps: PartitionWorkerDeps, job: PartitionJob, shutdown: AbortSignal): Promise<void> {
  const { db, workerId } = deps
  const log = deps.log.child({ runId: job.runId, partitionRow: job.partitionId })
  const now = new Date()
  // The claim: still unclaimed, its run still RUNNING and not being cancelled.
  const taken = await db.runPartition.updateMany({
    where: { id: job.partitionId, runId: job.runId, status: 'QUEUED', run: { is: { status: 'RUNNING', cancelRequested: false } } },
    data: { status: 'RUNNING', workerId, heartbeatAt: now, startedAt: now },
  })
  if (taken.count !== 1) {
    log.info('partition not taken: it is not QUEUED any more, or its run has ended')
    return
  }
  const row = await db.runPartition.findUniqueOrThrow({ where: { id: job.partitionId }, include: { run: true } })
  const id = `p${String(row.index).padStart(2, '0')}`
  const partLog = log.child({ partition: id, attempt: row.attempt })
  const mine = { id: row.id, status: 'RUNNING' as const, workerId }
  const stop = new AbortController()
  const signal = AbortSignal.any([shutdown, stop.signal])
  const opened: string[] = []
  let rowsRead = 0
  let destination: Destination | undefined
  let prefix = ''
  const staging = join(deps.stagingDir, row.runId, `${id}-a${row.attempt}`)
  const tell = (ended: boolean) => deps.queue.publish({ runId: row.runId, partitionId: row.id, rowsExtracted: rowsRead, ended })
  const progress = setInterval(() => tell(false), PROGRESS_EVERY_MS)
  const heartbeat = setInterval(() => void beat(), deps.queue.timing.heartbeatMs)
  const stopHearingCancels = deps.cancels?.listen((runId) => runId === row.runId && stop.abort(new RunCancelled()))
  async function beat(): Promise<void> {
    try {
      const renewed = await db.runPartition.updateMany({ where: mine, data: { heartbeatAt: new Date() } })
      if (renewed.count !== 1) return stop.abort(new AttemptLost('the owner took this attempt back'))
      const run = await db.run.findUnique({ where: { id: row.runId }, select: { status: true, cancelRequested: true } })
      if (run?.status !== 'RUNNING') stop.abort(new AttemptLost(`the run is ${run?.status ?? 'gone'}`))
      else if (run.cancelRequested) stop.abort(new RunCancelled())
    } catch (err) {
      partLog.warn({ err }, 'partition heartbeat failed; trying again at the next one')
    }
  }
  try {
    const run = row.run
    const world = pinnedOf(run, () => {
      throw new Error(`run ${run.id} has no pinned world`)
    })
    if (!run.connectionId) throw new Error(`run ${run.id} has no pinned connection`)
    // Never queued (execute.ts): its files would lack the table plan only the run's owner makes.
    if (tablePathOf(world)) throw new Error(`run ${run.id} writes a lake table; its partitions are read by its owner`)
    const connection = await db.connection.findUniqueOrThrow({ where: { id: run.connectionId } })
    destination = await deps.destinations.openPinned(world.destination)
    await mkdir(staging, { recursive: true })
    const source = deps.sources(deps.connections.resolve(connection), partLog)
    const keyRange = { field: row.rangeField, from: row.rangeFrom ?? undefined, to: row.rangeTo ?? undefined }
    const { mode, position } = readModeOf(run.extractionMode, row.initStart)
    const read = await source.read({ spec: { ...sourceSpecOf(world, run.pipelineId), keyRange }, mode, position, signal })
    prefix = runPrefix(world, run)
    const target = { world, staging, destination, prefix, run: { id: run.id } }
    const name = (i: number) => `part-${id}-a${row.attempt}-${String(i).padStart(5, '0')}.parquet`
    const extracted = await streamRead(target, read, mode, {
      fileName: name,
      count: (d) => void (rowsRead += Number(d.rowsExtracted ?? 0n)),
      // Recorded before the upload starts, on the row and only while it is ours: if this process
      // dies, the owner knows every name that may have reached the store.
      beforeUpload: async (fileName) => {
        opened.push(fileName)
        const recorded = await db.runPartition.updateMany({ where: mine, data: { result: JSON.stringify({ opened }) } })
        if (recorded.count !== 1) throw new AttemptLost('the owner took this attempt back')
      },
      signal,
    })
    const ended = await db.runPartition.updateMany({
      where: mine,
      data: { status: 'SUCCEEDED', result: JSON.stringify(writtenOf(extracted)), finishedAt: new Date(), heartbeatAt: new Date() },
    })
    if (ended.count !== 1) throw new AttemptLost('the owner took this attempt back before it ended')
    partLog.info({ rows: extracted.rowsFromSource, files: extracted.files.length }, 'partition read')
  } catch (e) {
    const cause = signal.aborted ? signal.reason : e
    // Its files go first: a late attempt must leave nothing the manifest does not list.
    for (const key of opened)
      await destination
        ?.remove(`${prefix}/${key}`)
        .catch((err) => partLog.warn({ err, key }, 'could not remove a file of a failed partition attempt'))
    if (cause instanceof AttemptLost) partLog.warn({ reason: cause.message }, 'partition attempt abandoned; its files removed')
    else await recordFailure(deps, mine, cause, opened, rowsRead, shutdown.aborted, partLog)
  } finally {
    clearInterval(progress)
    clearInterval(heartbeat)
    stopHearingCancels?.()
    tell(true)
    destination?.close?.()
    await rm(staging, { recursive: true, force: true })
  }
}

/**
 * How an attempt reads: a FULL run's partition as a snapshot of its range; a split DELTA_INIT's as a
 * DELTA_INIT of its range from the start its owner fixed before queueing and stored on the row
 * (partitioned-init.ts, docs/sap-protocols.md §C.7) — never from a start of its own, which the
 * owner's join would refuse. A row that does not match its run's mode is a broken promise, not a read.
 */
function readModeOf(extractionMode: string, initStart: string | null): { mode: 'FULL' | 'DELTA_INIT'; position?: string } {
  if (extractionMode === 'FULL' && initStart === null) return { mode: 'FULL' }
  if (extractionMode === 'DELTA_INIT' && initStart !== null) return { mode: 'DELTA_INIT', position: initStart }
  throw new SourceError(
    'SOURCE_PROTOCOL',
    `a partition of a ${extractionMode} run ${initStart === null ? 'has no' : 'has a'} delta initialisation start; only FULL runs and split DELTA_INITs are read as partitions`,
  )
}

/** Ends the row FAILED with the classified error, only while it is still this worker's. */
async function recordFailure(
  deps: PartitionWorkerDeps,
  mine: { id: number; status: 'RUNNING'; workerId: string },
  e: unknown,
  opened: string[],
  rowsRead: number,
  shuttingDown: boolean,
  log: Logger,
): Promise<void> {
  // A shutdown is not the partition's fault: the owner reads it again at once elsewhere.
  const error = shuttingDown
    ? { code: 'WORKER_LOST' as const, message: 'the partition worker shut down while reading', retryable: true }
    : classifyRunError(e, (logId, err) => log.error({ err, logId }, 'partition failed unexpectedly'))
  const result: PartitionFailure = { error, opened, rowsRead }
  await deps.db.runPartition
    .updateMany({
      where: mine,
      data: { status: 'FAILED', result: JSON.stringify(result), finishedAt: new Date(), heartbeatAt: new Date() },
    })
    .catch((err) => log.warn({ err }, 'could not record a failed partition attempt; the owner takes it back when its heartbeat is stale'))
  log.warn({ code: error.code, retryable: error.retryable }, 'partition attempt failed')
}
