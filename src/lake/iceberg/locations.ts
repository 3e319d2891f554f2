/**
 * The URIs a table records for its objects (docs/architecture.md#lake-tables, "Layout"): the form
 * engines open (`Destination.tableUriOf`) for a new table; a table created before that form existed
 * (its `location` in the `uriOf` form, e.g. Azure's blob `https://`) keeps its own form. One table
 * never mixes forms: a reader that opens one form and not the other would otherwise fail on part of
 * the table, and a position delete's `file_path` must equal the data file's recorded path.
 */
import type { Destination } from '../../storage/destination.js'
import type { TableMetadata } from './types.js'

/** How the table at `tablePath` (metadata null: not created yet) addresses the object at a key. */
export function tableUris(
  destination: Destination,
  tablePath: string,
  metadata: TableMetadata | null | undefined,
): (key: string) => string {
  const legacy =
    metadata !== null &&
    metadata !== undefined &&
    metadata.location !== destination.tableUriOf(tablePath) &&
    metadata.location === destination.uriOf(tablePath)
  return legacy ? (key) => destination.uriOf(key) : (key) => destination.tableUriOf(key)
}

/** The table's location as engines address it: the recorded one, or where a new table will be. */
export function tableLocation(destination: Destination, tablePath: string, metadata: TableMetadata | null | undefined): string {
  return metadata?.location ?? destination.tableUriOf(tablePath)
}
