/**
 * A pipeline's lake table as the API shows it (`Pipeline.lakeTable`): where it is, its current
 * snapshot and schema, read from the table's newest metadata on the pipeline's destination.
 */
import type { DestinationCatalog } from '../../catalog/destinations.js'
import type { Destination as DestinationRow } from '../../db/client.js'
import { loadTable, tableLocation, type IcebergSchema } from '../../lake/iceberg/index.js'
import type { Destination } from '../../storage/destination.js'
import { currentStatePathOf, tablePathOf } from './table-paths.js'
import type { PinnedWorld } from '../run/pinned.js'

/** How long a query waits for the table's metadata: a field of a page, not a run. */
const TABLE_READ_MS = 5_000

export interface LakeTableView {
  format: 'ICEBERG'
  /** The table path under the destination root. */
  path: string
  /** The table's location as engines address it (its metadata's `location`; Destination.tableUriOf before the first commit). */
  location: string
  /** Null until the first run commits (the table does not exist yet). */
  version: number | null
  currentSnapshotId: string | null
  schemaId: number | null
  fields: IcebergSchema['fields']
}

/** The pipeline's change-log table (`changeLog`) or its current-state table; null when it has none. */
export async function lakeTableOf(
  destinations: DestinationCatalog,
  pipeline: { name: string; destination: DestinationRow },
  output: PinnedWorld['output'],
  which: 'changeLog' | 'currentState' = 'changeLog',
): Promise<LakeTableView | null> {
  const world = { pipelineName: pipeline.name, output }
  const path = which === 'changeLog' ? tablePathOf(world) : currentStatePathOf(world)
  if (!path) return null
  let destination: Destination | undefined
  try {
    destination = await destinations.open(pipeline.destination)
    const table = await loadTable(destination, path, AbortSignal.timeout(TABLE_READ_MS))
    const metadata = table?.metadata
    const schema = metadata?.schemas.find((s) => s['schema-id'] === metadata['current-schema-id'])
    return {
      format: 'ICEBERG',
      path,
      location: tableLocation(destination, path, metadata),
      version: table?.version ?? null,
      currentSnapshotId: metadata && metadata['current-snapshot-id'] >= 0 ? String(metadata['current-snapshot-id']) : null,
      schemaId: schema?.['schema-id'] ?? null,
      fields: schema?.fields ?? [],
    }
  } finally {
    destination?.close?.()
  }
}
