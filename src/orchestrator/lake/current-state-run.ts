/**
 * The run engine's side of a pipeline's current-state table (`output.currentState: true`,
 * docs/architecture.md#lake-commit): the SAP table as it is now, kept from the same Parquet files the
 * change-log table lists (lake/iceberg/current-state.ts does the merge). A run is committed to the
 * change-log table first (its commit point), then to this one, then manifest.json names both
 * snapshots; a run lost in between is finished by the lost-run sweep (roll-forward.ts), which applies
 * it here again by run id, so a committed run ends up in both tables or the sweep keeps trying.
 */
import {
  applyRunToCurrentState,
  equalityDeleteLayout,
  LAST_RUN_PROPERTY,
  LakeCommitConflictError,
  LakeTableError,
  loadTable,
  planTableWrite,
  tableLocation,
  type CommitFile,
  type RunSummary,
  type SchemaSeed,
  type TablePlan,
} from '../../lake/iceberg/index.js'
import type { Column } from '../../sap/fields.js'
import type { Destination } from '../../storage/destination.js'
import { RunRefused } from '../run-errors.js'
import type { RunContext } from '../run/context.js'
import { OWNER_PROPERTY, refuseForeignTable } from './table-owner.js'
import { currentStatePathOf } from './table-paths.js'

/** Where a run's rows go in the current-state table and by which key. */
export interface CurrentStateTarget {
  tablePath: string
  keyColumns: string[]
  /** The table's location as engines address it (its recorded one, or where it will be created). */
  location: string
  /** A delta's predecessor: the run the table must end at when the run is applied (checked again then). */
  continuesFrom?: string | null
}

/** Commits after a conflict: the pipeline hold keeps other runs off the table (a foreign writer or maintenance). */
const COMMIT_ATTEMPTS = 4

/** A full load or an initial snapshot replaces the table; a delta (or its recovery) applies its images by key. */
const currentStateMode = (extractionMode: string): 'FULL' | 'DELTA' =>
  extractionMode === 'FULL' || extractionMode === 'DELTA_INIT' ? 'FULL' : 'DELTA'

/**
 * Checked before the run writes a file, so a run the current-state table cannot take is refused with
 * nothing committed (CURRENT_STATE_REFUSED): the source has no key to merge by; a delta whose
 * predecessor is not the table's last applied run (the table was turned on mid-life, or misses a
 * run); or the table's field ids are not the change-log table's (its files are added as they are).
 */
export async function planCurrentState(
  ctx: RunContext,
  changeLog: TablePlan,
  columns: readonly Column[],
): Promise<CurrentStateTarget | null> {
  const tablePath = currentStatePathOf(ctx.world)
  if (!tablePath) return null
  const destination = ctx.destination!
  const keyColumns = columns.filter((c) => c.key).map((c) => c.name)
  if (!keyColumns.length)
    throw new RunRefused(
      'CURRENT_STATE_REFUSED',
      `the source has no key columns, and the current-state table ${tablePath} merges changes by key; turn currentState off for this pipeline. Nothing was committed`,
    )
  const plan = await planTableWrite(destination, tablePath, [...columns], ctx.signal, seedOf(changeLog))
  refuseForeignTable(plan.base?.metadata, tablePath, ctx.run.pipelineId)
  let continuesFrom: string | null | undefined
  if (currentStateMode(ctx.run.extractionMode) === 'DELTA') {
    const last = plan.base?.metadata.properties[LAST_RUN_PROPERTY] ?? null
    const newest = await ctx.deps.db.run.findFirst({
      where: { pipelineId: ctx.run.pipelineId, status: 'SUCCEEDED', snapshotId: { not: null }, id: { not: ctx.run.id } },
      orderBy: { finishedAt: 'desc' },
      select: { id: true },
    })
    if (!last || last !== newest?.id)
      throw new RunRefused(
        'CURRENT_STATE_REFUSED',
        `the current-state table ${tablePath} ${last ? `ends at run ${last}` : 'does not exist yet'}, but this delta continues from run ${newest?.id ?? '(none)'}: applied on top, it would miss changes. Load it whole first: runPipeline with mode DELTA_INIT (after resetDelta) or FULL. Nothing was committed`,
      )
    continuesFrom = last
  }
  if (plan.parquet.fieldIds.join() !== changeLog.parquet.fieldIds.join())
    throw new RunRefused(
      'CURRENT_STATE_REFUSED',
      `the current-state table ${tablePath} gives the columns field ids ${plan.parquet.fieldIds.join(',')}, the change-log table ${changeLog.parquet.fieldIds.join(',')}; the run's files cannot belong to both. Remove the folder ${tablePath} on the destination (a FULL or DELTA_INIT then builds it again) or turn currentState off. Nothing was committed`,
    )
  // The key the merge matches on must be fields of the table (refused here, not after the change-log commit).
  try {
    equalityDeleteLayout(plan.schema, columns, keyColumns)
  } catch (e) {
    throw new RunRefused('CURRENT_STATE_REFUSED', `the current-state table ${tablePath}: ${(e as Error).message}. Nothing was committed`)
  }
  return { tablePath, keyColumns, location: tableLocation(destination, tablePath, plan.base?.metadata), continuesFrom }
}

const seedOf = (plan: Pick<TablePlan, 'schema' | 'lastColumnId'>): SchemaSeed => ({ schema: plan.schema, lastColumnId: plan.lastColumnId })

export interface CurrentStateCommit {
  runId: string
  /** The pipeline whose runs the table holds (its owner mark). */
  pipelineId: string
  extractionMode: string
  /** The change-log table, whose schema a new current-state table starts from. */
  changeLogPath: string
  files: readonly CommitFile[]
  /** The columns the files hold (source columns, then the change-log columns). */
  columns: readonly Column[]
  summary: Omit<RunSummary, 'runId'>
  signal?: AbortSignal
}

/** A refusal by the current-state table itself, which retrying will not get past (not a conflict, not the store). */
export const currentStateRefused = (e: unknown): e is LakeTableError =>
  e instanceof LakeTableError && !(e instanceof LakeCommitConflictError)

/** What a run committed without the current-state table says, in its log and the service log. */
export const outOfStepMessage = (tablePath: string, snapshotId: number, e: Error) =>
  `the current-state table ${tablePath} cannot take the run (${e.message}); the run is committed by its change-log snapshot ${snapshotId} and the current-state table stays at its last run: the next delta is refused (CURRENT_STATE_REFUSED) until a DELTA_INIT or FULL run loads it whole`

/**
 * Applies a run whose change-log snapshot is committed. Idempotent by run id (a run already applied
 * returns its snapshot), so the run's worker and the sweep may both try; a conflict is met by
 * applying again on the newer version.
 */
export async function commitToCurrentState(
  destination: Destination,
  target: Omit<CurrentStateTarget, 'location'>,
  run: CurrentStateCommit,
): Promise<number> {
  // Read once: the change log's schema is the one the run's files were written with, whatever a retry meets.
  const changeLog = await loadTable(destination, run.changeLogPath, run.signal)
  const schema = changeLog?.metadata.schemas.find((s) => s['schema-id'] === changeLog.metadata['current-schema-id'])
  const seed = schema ? seedOf({ schema, lastColumnId: changeLog!.metadata['last-column-id'] }) : undefined
  for (let attempt = 1; ; attempt++) {
    try {
      const applied = await applyRunToCurrentState(destination, target.tablePath, {
        runId: run.runId,
        mode: currentStateMode(run.extractionMode),
        files: run.files,
        columns: run.columns,
        keyColumns: target.keyColumns,
        summary: run.summary,
        seed,
        fullLoadKeysUnique: true,
        continuesFrom: target.continuesFrom,
        properties: { [OWNER_PROPERTY]: run.pipelineId },
        signal: run.signal,
      })
      return applied.snapshotId
    } catch (e) {
      if (!(e instanceof LakeCommitConflictError) || attempt >= COMMIT_ATTEMPTS) throw e
    }
  }
}
