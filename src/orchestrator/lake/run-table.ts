/**
 * The run engine's side of a pipeline's Iceberg change-log table (docs/architecture.md#lake-commit):
 * before a run writes its first file it plans the table write, so its Parquet files carry the
 * table's field ids and the change-log columns. NONE pipelines never come here: their files stay as
 * they were.
 */
import {
  changeLogColumns,
  EXTRACTED_AT_COLUMN,
  LakeTableError,
  planTableWrite,
  RUN_ID_COLUMN,
  type TablePlan,
} from '../../lake/iceberg/index.js'
import { CHANGE_MODE_COLUMN, ENTITY_COUNTER_COLUMN, type Column, type Row } from '../../sap/fields.js'
import type { Destination } from '../../storage/destination.js'
import { RunRefused } from '../run-errors.js'
import { verdictOf } from '../schema/compare.js'
import type { RunContext } from '../run/context.js'
import { refuseForeignTable } from './table-owner.js'
import { planCurrentState, type CurrentStateTarget } from './current-state-run.js'
import { tablePathOf } from './table-paths.js'

/** A run's plan for its table: the columns its files hold and how each source row becomes a table row. */
export interface RunTable {
  tablePath: string
  plan: TablePlan
  /** The source's columns followed by the change-log columns (changeLogColumns): what every file holds. */
  columns: Column[]
  /** The change-log columns appended to each source row, in order. */
  added: Column[]
  /** Appends the change-log values to each row in place (a page's rows are the read's alone, used once). */
  extend(rows: Row[]): Row[]
  /** The current-state table the run is also committed to (`output.currentState`), or null. */
  currentState: CurrentStateTarget | null
  /** The pipeline whose runs the tables hold (their owner mark). */
  pipelineId: string
}

const tables = new WeakMap<RunContext, Promise<RunTable>>()

/**
 * The run's table plan, made once per run (a partitioned read asks once per partition). Null for a
 * pipeline without a table. The rows get their appended values here: the change mode and entity
 * counter as null where the source has none (a full load has no change mode), the run id, and one
 * extraction time per run.
 */
export function runTableFor(ctx: RunContext, source: readonly Column[]): Promise<RunTable> | null {
  const tablePath = tablePathOf(ctx.world)
  if (!tablePath) return null
  let table = tables.get(ctx)
  if (!table) {
    table = planRunTable(ctx, tablePath, source)
    tables.set(ctx, table)
  }
  return table
}

/** The plan a run made, if it made one (publish commits it). */
export function plannedTable(ctx: RunContext): Promise<RunTable> | undefined {
  return tables.get(ctx)
}

async function planRunTable(ctx: RunContext, tablePath: string, source: readonly Column[]): Promise<RunTable> {
  let columns: Column[]
  try {
    columns = changeLogColumns(source)
  } catch (e) {
    throw asRunError(e)
  }
  const plan = await planFor(ctx.destination!, tablePath, columns, ctx.signal)
  refuseForeignTable(plan.base?.metadata, tablePath, ctx.run.pipelineId)
  judgeFullRun(ctx, plan)
  const currentState = await planCurrentState(ctx, plan, columns).catch((e: unknown) => {
    throw asRunError(e)
  })
  const added = columns.slice(source.length)
  const extractedAt = new Date()
  const runId = ctx.run.id
  const values = added.map((c) => {
    if (c.name === RUN_ID_COLUMN) return runId
    if (c.name === EXTRACTED_AT_COLUMN) return extractedAt
    if (c.name === CHANGE_MODE_COLUMN || c.name === ENTITY_COUNTER_COLUMN) return null
    throw new LakeTableError('LAKE_INPUT', `the change-log column ${c.name} has no value rule`)
  })
  if (plan.diff.added.length)
    await ctx.tracker.note('info', `table ${tablePath}: new column(s) ${plan.diff.added.join(', ')} added to the table schema`)
  return {
    tablePath,
    plan,
    columns,
    added,
    currentState,
    pipelineId: ctx.run.pipelineId,
    extend: (rows) => {
      for (const r of rows) r.push(...values)
      return rows
    },
  }
}

/** planTableWrite with the lake's refusals as run errors. */
export async function planFor(
  destination: Destination,
  tablePath: string,
  columns: readonly Column[],
  signal?: AbortSignal,
): Promise<TablePlan> {
  try {
    return await planTableWrite(destination, tablePath, columns, signal)
  } catch (e) {
    throw asRunError(e)
  }
}

/**
 * A FULL run is compared with the table's current schema, its baseline (DELTA and RECOVERY runs are
 * compared with the last committed run by checkSchema before this), under the same policy (verdictOf):
 * ALLOW_ADDITIVE takes new columns and Iceberg's type promotions, BLOCK takes no change. A DELTA_INIT
 * starts over by the user's choice and is not judged.
 */
function judgeFullRun(ctx: RunContext, plan: TablePlan): void {
  if (ctx.run.extractionMode !== 'FULL' || !plan.base) return
  const { added, removed, promoted, incompatible } = plan.diff
  const policy = ctx.world.output.schemaChanges
  const kinds = {
    changed: [added, removed, promoted, incompatible].some((l) => l.length > 0),
    removed: removed.length > 0,
    incompatible: incompatible.length > 0,
  }
  const verdict = verdictOf(kinds, policy)
  if (!verdict.allowed) {
    const what = [...added.map((n) => `${n} added`), ...removed.map((n) => `${n} removed`), ...promoted, ...incompatible]
    throw new RunRefused(
      'SCHEMA_CHANGED',
      `the source's columns differ from table ${plan.tablePath}'s current schema: ${what.join('; ')}. ${verdict.reason}; nothing was committed`,
    )
  }
}

/** An incompatible type change is a schema change the pipeline cannot take; other lake errors keep their class. */
function asRunError(e: unknown): unknown {
  if (e instanceof LakeTableError && (e.code === 'LAKE_SCHEMA_INCOMPATIBLE' || e.code === 'LAKE_INPUT'))
    return new RunRefused('SCHEMA_CHANGED', `${e.message}; nothing was committed`)
  return e
}
