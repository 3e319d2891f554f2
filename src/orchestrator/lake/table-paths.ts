/** Where a run's lake tables live under its destination: the pipeline's settings as the run pinned them. */
import { lakeTablePaths } from '../../catalog/lake-output.js'
import type { PinnedWorld } from '../run/pinned.js'

type TableWorld = Pick<PinnedWorld, 'pipelineName' | 'output'>

/** The change-log table (`output.table: ICEBERG`), or null. */
export const tablePathOf = (world: TableWorld): string | null => lakeTablePaths(world.pipelineName, world.output).changeLog

/** The current-state table (`output.currentState: true`), or null. */
export const currentStatePathOf = (world: TableWorld): string | null => lakeTablePaths(world.pipelineName, world.output).currentState
