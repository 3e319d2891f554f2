import { DestinationError } from '../../storage/destination.js'
import { recordSchema } from '../schema/describe.js'
import { buildManifest, MANIFEST_FILE, parseManifest, SUCCESS_MARKER_FILE } from '../manifest.js'
import type { RunContext } from './context.js'
import type { OpenedRead } from './open-read.js'
import type { Extracted } from './stream.js'
import { findRunSnapshot, LakeTableError, tableLocation, type RunSummary } from '../../lake/iceberg/index.js'
import { commitRunSnapshot, PENDING_MANIFEST_FILE, summaryOf, withSnapshotId } from '../lake/commit-snapshot.js'
import { commitToCurrentState, currentStateRefused, outOfStepMessage } from '../lake/current-state-run.js'
import { plannedTable, type RunTable } from '../lake/run-table.js'
import { RunRefused } from '../run-errors.js'

/**
 * The run's table snapshot is committed but its manifest.json could not be written: the run is left
 * to the lost-run sweep, which writes manifest.json from the pending copy and commits the run
 * (roll-forward.ts), so readers of manifests see it too.
 */
export class ManifestAfterSnapshot extends Error {
  override readonly name = 'ManifestAfterSnapshot'
}

/** The run stopped being this worker's before it could publish: another process owns it now. */
export class LeaseLost extends Error {
  override readonly name = 'LeaseLost'
}

/**
 * Writes manifest.json, the commit point (docs/architecture.md#rule-6). Just before, the worker proves it
 * still holds the run and records where the read ended (`positionOut`), renewing its lease in the
 * same statement; the write then gets a deadline well inside that lease, so a worker that stalls
 * cannot publish after another process has declared the run lost. A cancel does not interrupt it:
 * this close to the commit there is nothing left to save by stopping.
 *
 * From the moment the manifest may exist, the run can no longer be failed and cleaned up, only
 * committed: `ctx.publication` says so to whoever handles what comes next.
 */
export async function publishManifest(ctx: RunContext, opened: OpenedRead, x: Extracted): Promise<void> {
  const { deps, run, tracker, destination } = ctx
  await tracker.setStage('COMMITTING')
  const isDelta = opened.mode === 'DELTA' && x.changes !== null
  const table = await plannedTable(ctx)
  const manifest = buildManifest({
    runId: run.id,
    pipelineId: run.pipelineId,
    world: ctx.world,
    extractionMode: run.extractionMode,
    columns: x.columns,
    files: x.files,
    partitions: x.partitions?.map(({ partition: { id, range }, attempts }) => ({ id, ...range, attempts })),
    changeCounts: isDelta ? { ...x.changes!.counts } : null,
    deltaTokenIn: opened.deltaTokenIn,
    deltaTokenOut: x.end.token ?? null,
    ...(table
      ? {
          table: {
            path: table.tablePath,
            location: tableLocation(destination!, table.tablePath, table.plan.base?.metadata),
            columns: table.added,
            timestampUnit: table.plan.parquet.timestampUnit,
            ...(table.currentState
              ? {
                  currentState: {
                    path: table.currentState.tablePath,
                    location: table.currentState.location,
                    ...(table.currentState.continuesFrom !== undefined ? { continuesFrom: table.currentState.continuesFrom } : {}),
                  },
                }
              : {}),
          },
        }
      : {}),
  })
  const positionOut = opened.mode === 'FULL' ? undefined : x.end.position
  const held = await deps.db.run.updateMany({
    where: { id: run.id, status: 'RUNNING', workerId: deps.workerId },
    data: { positionOut: positionOut ?? null, deltaTokenOut: manifest.deltaTokenOut, heartbeatAt: new Date() },
  })
  if (held.count !== 1) throw new LeaseLost(`run ${run.id} is no longer this worker's; its manifest is not written`)

  const key = `${ctx.prefix}/${MANIFEST_FILE}`
  const published = table ? await commitTable(ctx, table, manifest, x) : manifest
  if (!table) {
    ctx.publication = 'in-doubt'
    try {
      await destination!.putText(key, JSON.stringify(manifest, null, 2), AbortSignal.timeout(Math.max(1_000, deps.staleAfterMs / 3)))
    } catch (e) {
      ctx.publication = await publicationAfterFailedWrite(ctx, key, e)
      if (ctx.publication !== 'published') throw e
    }
  }
  ctx.publication = 'published'
  ctx.commit = {
    ...(published.table?.snapshotId !== undefined ? { snapshotId: published.table.snapshotId } : {}),
    manifestUri: destination!.uriOf(key),
    positionOut,
    deltaTokenOut: manifest.deltaTokenOut,
    selectionHash: ctx.world.selectionHash,
    changeCounts: manifest.changeCounts,
    counters: {},
    schema: recordSchema(manifest.schema),
  }
  if (ctx.world.output.successMarker) await writeMarker(ctx)
}

/**
 * An ICEBERG pipeline's commit point (lake/commit-snapshot.ts has the order): the pending manifest,
 * the snapshot, then manifest.json. A snapshot commit that failed is read back like a manifest
 * write: the run's snapshot is there → published; the store or the table refused it → not
 * published; anything else → in doubt, for the sweep. manifest.json after the snapshot cannot take
 * the commit back: if it cannot be written the run is left to the sweep (ManifestAfterSnapshot).
 */
async function commitTable(ctx: RunContext, table: RunTable, manifest: ReturnType<typeof buildManifest>, x: Extracted) {
  const destination = ctx.destination!
  const deadline = () => AbortSignal.timeout(Math.max(1_000, ctx.deps.staleAfterMs / 3))
  await destination.putText(`${ctx.prefix}/${PENDING_MANIFEST_FILE}`, JSON.stringify(manifest, null, 2), deadline())
  ctx.publication = 'in-doubt'
  let snapshotId: number
  try {
    const summary: RunSummary = { runId: ctx.run.id, ...summaryOf(manifest) }
    snapshotId = (await commitRunSnapshot(destination, table, ctx.prefix, x.files, summary, deadline())).snapshotId
  } catch (e) {
    const found = await findRunSnapshot(destination, table.tablePath, ctx.run.id, AbortSignal.timeout(10_000)).catch(() => undefined)
    if (!found) {
      // Refused outright (by the table, the store, or a schema that moved): the table is as it was.
      const refused =
        e instanceof LakeTableError || e instanceof RunRefused || (e instanceof DestinationError && e.code !== 'DESTINATION_UNAVAILABLE')
      ctx.publication = found === null && refused ? 'none' : 'in-doubt'
      throw e
    }
    snapshotId = found['snapshot-id']
  }
  ctx.publication = 'published'
  const currentStateSnapshotId = table.currentState ? await applyCurrentState(ctx, table, manifest, x, snapshotId) : undefined
  const published = withSnapshotId(manifest, snapshotId, currentStateSnapshotId)
  try {
    await destination.putText(`${ctx.prefix}/${MANIFEST_FILE}`, JSON.stringify(published, null, 2), deadline())
  } catch (err) {
    await ctx.tracker
      .note(
        'warn',
        `${MANIFEST_FILE} could not be written (${(err as Error)?.message}); the run is committed by its table snapshot ${snapshotId} and left to the lost-run sweep, which writes ${MANIFEST_FILE} and commits it`,
      )
      .catch(() => undefined)
    throw new ManifestAfterSnapshot(`run ${ctx.run.id}: committed by snapshot ${snapshotId}, ${MANIFEST_FILE} not written`, { cause: err })
  }
  await destination.remove(`${ctx.prefix}/${PENDING_MANIFEST_FILE}`).catch(() => undefined)
  return published
}

/**
 * The run is committed (its change-log snapshot exists); now the current-state table takes it. This
 * cannot take the commit back either. A failure the store may get over (unreachable, a conflict
 * retried out) leaves the run to the lost-run sweep, which applies it again by run id before it
 * writes manifest.json (roll-forward.ts), as for a manifest that could not be written. A refusal by
 * the table itself (it was removed or changed under the pipeline: LAKE_OUT_OF_STEP, an invalid or
 * incompatible table) will not pass by retrying: the run is committed without it and the table stays
 * at its last run, so the next delta is refused (CURRENT_STATE_REFUSED) until a load replaces it —
 * loud, and the change log stays exactly once. No short deadline: the run's files are read back
 * (keys only) and, each attempt writing its own files, the apply is safe if the sweep starts it too.
 */
async function applyCurrentState(
  ctx: RunContext,
  table: RunTable,
  manifest: ReturnType<typeof buildManifest>,
  x: Extracted,
  snapshotId: number,
): Promise<number | undefined> {
  try {
    return await commitToCurrentState(ctx.destination!, table.currentState!, {
      runId: ctx.run.id,
      pipelineId: ctx.run.pipelineId,
      extractionMode: ctx.run.extractionMode,
      changeLogPath: table.tablePath,
      files: x.files.map((f) => ({ key: `${ctx.prefix}/${f.fileName}`, recordCount: f.rows, sizeBytes: f.bytes })),
      columns: table.columns,
      summary: summaryOf(manifest),
    })
  } catch (err) {
    if (currentStateRefused(err)) {
      const message = outOfStepMessage(table.currentState!.tablePath, snapshotId, err)
      ctx.log.warn({ runId: ctx.run.id, err: { name: err.name, code: err.code, message: err.message } }, message)
      await ctx.tracker.note('warn', message).catch(() => undefined)
      return undefined
    }
    await ctx.tracker
      .note(
        'warn',
        `the current-state table ${table.currentState!.tablePath} could not take the run yet (${(err as Error)?.message}); the run is committed by its change-log snapshot ${snapshotId} and left to the lost-run sweep, which applies it and commits the run`,
      )
      .catch(() => undefined)
    throw new ManifestAfterSnapshot(`run ${ctx.run.id}: committed by snapshot ${snapshotId}, not yet in the current-state table`, {
      cause: err,
    })
  }
}

/**
 * A manifest write that failed may still have stored the manifest: a timed-out or aborted request
 * can complete at the store afterwards. So the manifest is read back: there, it is published. Not
 * there, it is settled only if the store itself refused the write (auth, missing container…);
 * after a timeout or a cut connection it stays in doubt, for the lost-run sweep to settle once the
 * request can no longer be in flight.
 */
async function publicationAfterFailedWrite(ctx: RunContext, key: string, e: unknown): Promise<'none' | 'in-doubt' | 'published'> {
  let text: string | null
  try {
    text = await ctx.destination!.getText(key, AbortSignal.timeout(10_000))
  } catch {
    return 'in-doubt'
  }
  if (text && parseManifest(text)?.runId === ctx.run.id) return 'published'
  const refused = e instanceof DestinationError && e.code !== 'DESTINATION_UNAVAILABLE'
  return refused ? 'none' : 'in-doubt'
}

/**
 * Spark's `_SUCCESS`, after the manifest. The run is committed by the manifest whatever happens
 * here; a marker that cannot be written is recorded on the run, not a reason to take the commit back.
 */
async function writeMarker(ctx: RunContext): Promise<void> {
  try {
    // Within the lease, like the manifest: a hanging marker must not hold the commit past it.
    await ctx.destination!.putText(
      `${ctx.prefix}/${SUCCESS_MARKER_FILE}`,
      '',
      AbortSignal.timeout(Math.max(1_000, ctx.deps.staleAfterMs / 3)),
    )
  } catch (err) {
    ctx.log.warn({ err: { name: (err as Error)?.name, message: (err as Error)?.message } }, 'could not write _SUCCESS after the manifest')
    await ctx.tracker
      .note(
        'warn',
        `the ${SUCCESS_MARKER_FILE} marker could not be written (${(err as Error)?.message}); the run is committed by manifest.json`,
      )
      .catch(() => undefined)
  }
}
