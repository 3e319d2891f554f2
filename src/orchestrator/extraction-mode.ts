import type { DeltaState, ExtractionMode, Pipeline } from '../db/client.js'
import { badInput, conflict } from '../errors.js'
import { POSITION_LOST_RECOVERY } from './run-errors.js'

/**
 * The extraction mode of a new run: what the pipeline's state implies, or what the caller asked
 * for when that makes sense. A DELTA pipeline starts with DELTA_INIT; a delta that an earlier run
 * fetched but did not commit is re-read as RECOVERY.
 */
export function extractionModeFor(
  pipeline: Pick<Pipeline, 'mode' | 'name'>,
  state:
    | (Pick<DeltaState, 'pendingRunId' | 'deltaLink' | 'lastCommittedRunId'> & {
        selectionHash?: string | null
        positionLostAt?: Date | null
      })
    | null,
  requested: ExtractionMode | null | undefined,
  /** Hash of the pipeline's selection now; a delta made with another one cannot be continued. */
  selection?: string,
): ExtractionMode {
  const initialised = !!state?.deltaLink
  if (
    initialised &&
    pipeline.mode === 'DELTA' &&
    requested !== 'DELTA_INIT' &&
    state.selectionHash &&
    selection &&
    state.selectionHash !== selection
  )
    throw conflict(
      `pipeline "${pipeline.name}" has a delta subscription made with another selection (connection, source, fields, filter or mode); call resetDelta, or run it with mode DELTA_INIT`,
      { field: 'mode' },
    )
  // SAP said the position is gone: a RECOVERY would ask for the same lost token again, and a silent
  // DELTA_INIT would deliver a full snapshot again to readers who do not dedupe (docs/architecture.md#position-lost).
  // Only the user may choose; a one-off FULL leaves the delta alone and stays allowed.
  if (state?.positionLostAt && pipeline.mode === 'DELTA' && requested !== 'DELTA_INIT' && requested !== 'FULL')
    throw conflict(`pipeline "${pipeline.name}" lost its delta position in SAP; ${POSITION_LOST_RECOVERY}`, { field: 'mode' })
  const implied: ExtractionMode =
    pipeline.mode === 'FULL' ? 'FULL' : !initialised ? 'DELTA_INIT' : state.pendingRunId ? 'RECOVERY' : 'DELTA'
  if (!requested || requested === implied) return implied
  if (pipeline.mode === 'FULL')
    throw badInput(`pipeline "${pipeline.name}" is a FULL pipeline; it runs FULL only (create a DELTA pipeline for deltas)`, 'mode')
  switch (requested) {
    case 'FULL':
    case 'DELTA_INIT':
      // A one-off snapshot leaves the subscription alone; DELTA_INIT replaces it and re-baselines.
      return requested
    case 'DELTA':
      if (!initialised) throw badInput(`pipeline "${pipeline.name}" has no delta yet; its first run must be DELTA_INIT`, 'mode')
      if (state.pendingRunId)
        throw badInput(
          `pipeline "${pipeline.name}" has a delta that was fetched but not committed; it must be re-read as RECOVERY first`,
          'mode',
        )
      return 'DELTA'
    case 'RECOVERY':
      if (!initialised || !state.lastCommittedRunId) throw badInput(`pipeline "${pipeline.name}" has no delta to recover yet`, 'mode')
      return 'RECOVERY'
  }
}
