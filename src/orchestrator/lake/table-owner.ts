/** Which pipeline a lake table belongs to: a mark every run's commit sets, checked before a run writes. */
import type { TableMetadata } from '../../lake/iceberg/index.js'
import { RunRefused } from '../run-errors.js'

/** Table property naming the pipeline whose runs the table holds (set by every run's commit). */
export const OWNER_PROPERTY = 'delta-extractor.pipeline-id'

/**
 * A table another pipeline writes is refused before the run writes a file (TABLE_IN_USE): the
 * catalogue refuses two pipelines with one table path on one destination, but two destinations can
 * name the same bucket and prefix, and a pipeline deleted and created again under its name is
 * another pipeline. A table without the mark (written before it existed) is taken as it is.
 */
export function refuseForeignTable(metadata: TableMetadata | undefined, tablePath: string, pipelineId: string): void {
  const owner = metadata?.properties[OWNER_PROPERTY]
  if (owner && owner !== pipelineId)
    throw new RunRefused(
      'TABLE_IN_USE',
      `the lake table at ${tablePath} holds the runs of another pipeline (id ${owner}), on this or another destination naming the same place; give this pipeline another name or destination, or remove that table. Nothing was committed`,
    )
}
