import type { DestinationCatalog } from '../catalog/destinations.js'
import type { Db, Run } from '../db/client.js'
import type { Destination } from '../storage/destination.js'
import type { Logger } from '../util/logger.js'
import { commitRun } from './commit.js'
import { recordSchema } from './schema/describe.js'
import { MANIFEST_FILE, parseManifest, SUCCESS_MARKER_FILE, type Manifest } from './manifest.js'
import { pinnedOf } from './run/pinned.js'
import type { RunObserver } from './run-observer.js'
import { columnOfManifest } from '../lake/iceberg/index.js'
import { findCommittedRun, PENDING_MANIFEST_FILE, summaryOf, withSnapshotId } from './lake/commit-snapshot.js'
import { commitToCurrentState, currentStateRefused, outOfStepMessage } from './lake/current-state-run.js'
import { currentStatePathOf, tablePathOf } from './lake/table-paths.js'

/** How long a sweep may wait for storage to say whether a lost run's manifest exists. */
const MANIFEST_CHECK_MS = 5_000
/** How long applying a lost run to the current-state table may take (it reads the run's keys back). */
const CURRENT_STATE_APPLY_MS = 10 * 60_000

/**
 * What a lost run's store says: its manifest is there and the run is now committed from it; the
 * store answered that there is none (the run may be failed and its delta re-read); or nobody can
 * tell yet (the store is unreachable, its credentials no longer work) — then the run must stay as
 * it is, since failing it would re-deliver changes a reader may already have taken.
 */
export type RollForward = 'committed' | 'absent' | 'unknown'

/**
 * A run lost while COMMITTING may have written its manifest: then the lake already holds its files
 * as committed, and re-reading the delta would deliver the same changes a second time. Such a run
 * is committed from what it recorded before the manifest (`positionOut`) and from the manifest
 * itself, as its worker would have done — on the destination the run pinned, not the pipeline's
 * current one.
 */
export async function rollForward(
  deps: { db: Db; destinations: DestinationCatalog; log: Logger; observer?: RunObserver },
  run: Run,
): Promise<RollForward> {
  // Before COMMITTING (or before it recorded its position) a run cannot have written a manifest.
  if (run.stage !== 'COMMITTING' || !run.uncommittedPrefix) return 'absent'
  if (run.extractionMode !== 'FULL' && !run.positionOut) return 'absent'
  const { db, log } = deps
  const key = `${run.uncommittedPrefix}/${MANIFEST_FILE}`
  const pipeline = await db.pipeline.findUnique({ where: { id: run.pipelineId }, include: { destination: true, connection: true } })
  if (!pipeline) return 'absent' // deleted: its runs go with it
  const world = pinnedOf(run, () => pipeline)
  let destination: Destination | undefined
  let manifest: Manifest | undefined
  try {
    destination = await deps.destinations.openPinned(world.destination)
    const text = await destination.getText(key, AbortSignal.timeout(MANIFEST_CHECK_MS))
    manifest = text ? parseManifest(text) : undefined
    const tablePath = tablePathOf(world)
    if (manifest?.runId !== run.id && tablePath) manifest = await fromSnapshot(destination, tablePath, currentStatePathOf(world), run, log)
    if (manifest?.runId === run.id && world.output.successMarker) await ensureMarker(destination, run.uncommittedPrefix, log)
  } catch (err) {
    log.warn(
      { runId: run.id, err: { name: (err as Error)?.name, message: (err as Error)?.message } },
      'could not tell whether the lost run wrote its manifest; it stays as it is until the store answers',
    )
    return 'unknown'
  } finally {
    destination?.close?.()
  }
  if (manifest?.runId !== run.id) return 'absent'

  const committed = await commitRun(
    db,
    run,
    { heartbeatAt: run.heartbeatAt },
    {
      manifestUri: destination!.uriOf(key),
      ...(manifest.table?.snapshotId !== undefined ? { snapshotId: manifest.table.snapshotId } : {}),
      positionOut: run.extractionMode === 'FULL' ? undefined : run.positionOut,
      deltaTokenOut: manifest.deltaTokenOut,
      selectionHash: run.pinned ? world.selectionHash : undefined,
      changeCounts: manifest.changeCounts,
      schema: recordSchema(manifest.schema),
      counters: { rowsWritten: BigInt(manifest.rows), filesWritten: manifest.files.length, bytesWritten: BigInt(manifest.bytes) },
    },
    { level: 'warn', message: 'its worker stopped after writing manifest.json; committed from the manifest' },
  )
  if (!committed) return 'unknown' // changed hands meanwhile: whoever holds it now settles it
  deps.observer?.runEnded({
    status: 'SUCCEEDED',
    errorCode: null,
    mode: run.extractionMode,
    startedAt: run.startedAt,
    rowsWritten: BigInt(manifest.rows),
    bytesWritten: BigInt(manifest.bytes),
  })
  log.warn({ runId: run.id, pipelineId: run.pipelineId }, 'lost run had written its manifest; committed it instead of re-reading the delta')
  return 'committed'
}

/**
 * An ICEBERG pipeline's run commits with its table snapshot, before manifest.json
 * (lake/commit-snapshot.ts): a run lost after its snapshot is committed from it. Its manifest.json is
 * written now from the pending copy, with the snapshot id. No snapshot: the run did not commit
 * (undefined). A snapshot without its pending manifest cannot happen by this writer's order; it is
 * reported and the run left as it is (thrown: 'unknown').
 */
async function fromSnapshot(
  destination: Destination,
  tablePath: string,
  currentStatePath: string | null,
  run: Run,
  log: Logger,
): Promise<Manifest | undefined> {
  const prefix = run.uncommittedPrefix!
  const found = await findCommittedRun(destination, tablePath, prefix, run.id, AbortSignal.timeout(MANIFEST_CHECK_MS))
  if (!found) return undefined
  if (!found.manifest)
    throw new Error(
      `table ${tablePath} has snapshot ${found.snapshot['snapshot-id']} of run ${run.id}, but ${PENDING_MANIFEST_FILE} is missing`,
    )
  const currentStateSnapshotId = currentStatePath
    ? await applyToCurrentState(destination, tablePath, currentStatePath, run, found.manifest, found.snapshot['snapshot-id'], log)
    : undefined
  const manifest = withSnapshotId(found.manifest, found.snapshot['snapshot-id'], currentStateSnapshotId)
  await destination.putText(`${prefix}/${MANIFEST_FILE}`, JSON.stringify(manifest, null, 2), AbortSignal.timeout(MANIFEST_CHECK_MS))
  await destination.remove(`${prefix}/${PENDING_MANIFEST_FILE}`).catch(() => undefined)
  log.warn(
    { runId: run.id, snapshotId: found.snapshot['snapshot-id'] },
    'lost run had committed its table snapshot; manifest.json written from it',
  )
  return manifest
}

/**
 * A run committed to the change log is applied to the current-state table before its manifest.json
 * says it is in both (lake/current-state-run.ts): again by run id, so a run its worker already
 * applied is not applied twice. The files, columns and the delta's predecessor come from the pending
 * manifest. A refusal by the table (removed or changed under the pipeline), or any failure of a run
 * someone cancelled, commits the run without it: the change log holds the run, and a run failed now
 * would have its delta read a second time; the table stays at its last run and says so to the next
 * delta (CURRENT_STATE_REFUSED). Other failures (the store) leave the run for the next sweep.
 */
async function applyToCurrentState(
  destination: Destination,
  tablePath: string,
  currentStatePath: string,
  run: Run,
  pending: Manifest,
  snapshotId: number,
  log: Logger,
): Promise<number | undefined> {
  const schema = [...pending.schema, ...(pending.table?.columns ?? [])]
  const continuesFrom = pending.table?.currentState?.continuesFrom
  const target = {
    tablePath: currentStatePath,
    keyColumns: pending.schema.filter((c) => c.key).map((c) => c.name),
    ...(continuesFrom !== undefined ? { continuesFrom } : {}),
  }
  try {
    return await commitToCurrentState(destination, target, {
      runId: run.id,
      pipelineId: run.pipelineId,
      extractionMode: run.extractionMode,
      changeLogPath: tablePath,
      files: pending.files.map((f) => ({ key: `${run.uncommittedPrefix}/${f.path}`, recordCount: f.rows, sizeBytes: f.bytes })),
      columns: schema.map(columnOfManifest),
      summary: summaryOf(pending),
      signal: AbortSignal.timeout(CURRENT_STATE_APPLY_MS),
    })
  } catch (e) {
    if (!currentStateRefused(e) && !run.cancelRequested) throw e
    const err = e as Error
    log.warn({ runId: run.id, err: { name: err?.name, message: err?.message } }, outOfStepMessage(currentStatePath, snapshotId, err))
    return undefined
  }
}

/** The `_SUCCESS` marker the run's worker may not have got to write; best effort, as there. */
async function ensureMarker(destination: Destination, prefix: string, log: Logger): Promise<void> {
  const key = `${prefix}/${SUCCESS_MARKER_FILE}`
  try {
    if ((await destination.getText(key, AbortSignal.timeout(MANIFEST_CHECK_MS))) === null)
      await destination.putText(key, '', AbortSignal.timeout(MANIFEST_CHECK_MS))
  } catch (err) {
    log.warn({ err: { name: (err as Error)?.name, message: (err as Error)?.message } }, 'could not write _SUCCESS for a rolled-forward run')
  }
}
