/**
 * The schema check of a run (docs/architecture.md#schema-changes): before a DELTA or RECOVERY run
 * writes anything, the columns SAP sends are compared with those the pipeline's last committed run
 * wrote (`DeltaState.schemaColumns`). What the pipeline's schemaChanges policy allows goes on, with a
 * run event naming the added or changed fields; anything else fails the run with SCHEMA_CHANGED
 * before a file is written, so nothing is committed and the delta position stays where it was.
 *
 * A DELTA_INIT starts a new baseline (first run, after resetDelta, or runPipeline(mode: DELTA_INIT)):
 * it is the user's explicit choice to start over from a snapshot, so it is not compared, only
 * recorded. A FULL run of a pipeline without a lake table is not compared (each is a whole copy on
 * its own); one with an ICEBERG table is compared with the table's schema (lake/run-table.ts), under
 * the same verdictOf.
 */
import type { Column } from '../../sap/fields.js'
import { describeSchema } from '../../transform/index.js'
import { RunRefused } from '../run-errors.js'
import type { RunContext } from '../run/context.js'
import { compareSchemas, describeDiff, isUnchanged, judge } from './compare.js'
import { storedColumns, trackedColumns } from './describe.js'

export async function checkSchema(ctx: RunContext, columns: readonly Column[]): Promise<void> {
  const { run, world } = ctx
  if (run.extractionMode !== 'DELTA' && run.extractionMode !== 'RECOVERY') return
  const state = run.pipeline.deltaState
  if (!state?.schemaColumns) return // committed before schemas were recorded: this run records the first
  const before = storedColumns(state.schemaColumns, {
    table: 'delta state of pipeline',
    id: run.pipelineId,
    repair: 'resetDelta starts a new baseline',
  })
  const diff = compareSchemas(before, trackedColumns(describeSchema(columns)))
  if (isUnchanged(diff)) return
  const policy = world.output.schemaChanges
  const verdict = judge(diff, policy)
  const what = describeDiff(diff)
  if (!verdict.allowed)
    throw new RunRefused(
      'SCHEMA_CHANGED',
      `SAP's fields differ from those the last committed run wrote: ${what}. ${verdict.reason}; nothing was committed and the delta position is unchanged. To go on: resetDelta (the next run is a DELTA_INIT, a full snapshot with the new fields), or, where only fields were added, schemaChanges: ALLOW_ADDITIVE (README, Schema changes)`,
    )
  await ctx.tracker.note('warn', `schema change allowed by schemaChanges ${policy}: ${what}`, {
    added: diff.added.map((c) => c.name),
    changed: diff.changed.map((c) => c.name),
  })
}
