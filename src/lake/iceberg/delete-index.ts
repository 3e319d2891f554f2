/**
 * A snapshot's delete files read into memory for `rewriteWithDeletes` (docs/architecture.md#lake-maintenance),
 * by the spec's scan-planning rules (Iceberg `format/spec.md`, "Scan Planning"; tables are unpartitioned):
 * - an equality delete of sequence number S removes the rows of data files of sequence number < S
 *   whose values of its `equality_ids` equal one of its rows: held as one map per set of ids, from
 *   the key to the highest S that names it (a row of sequence s is deleted when that S > s);
 * - a position delete of sequence number S removes row `pos` of the data file `file_path` names when
 *   that file's sequence number is <= S: held as sorted positions per data file.
 * Delete files are read one at a time, a row group at a time. What is held is bounded by the changes
 * since the table's last full load (a full load replaces the snapshot and its deletes), never its rows.
 */
import type { Value } from '../../sap/fields.js'
import type { Destination } from '../../storage/destination.js'
import { LakeTableError } from './errors.js'
import { openTableFile, type DataFileLayout } from './parquet-rows.js'
import { keyIdentity } from './run-images.js'
import type { ManifestEntry } from './snapshot-files.js'
import { FileContent } from './types.js'

export interface EqualityKeys {
  /** The field ids a row is matched on (a delete file's `equality_ids`). */
  ids: number[]
  /** Key identity (`matchIdentity`) → highest sequence number of an equality delete holding it. */
  keys: Map<string, number>
}

export interface DeleteIndex {
  equality: EqualityKeys[]
  /** Highest sequence number of any equality delete: data files below it may lose rows by key. */
  maxEqualitySequence: number
  /** Data file URI → positions deleted from it (ascending, distinct). */
  positions: Map<string, number[]>
}

/**
 * A key as `Map` identity across files: integers compare by value whether they were read as `number`
 * (Iceberg int) or `bigint` (long), since a promoted int → long column holds both kinds in one table.
 */
export function matchIdentity(values: readonly Value[]): string {
  return keyIdentity(values.map((v) => (typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : v)))
}

/** Column index in `layout` of each field id, −1 when the file predates the field (its value is null). */
export function columnsOfIds(layout: DataFileLayout, ids: readonly number[]): number[] {
  return ids.map((id) => layout.fieldIds.indexOf(id))
}

/**
 * Reads every delete file in `deletes`. `dataSequence` maps each live data file's URI to its data
 * sequence number: position deletes naming other files (gone from the snapshot, or newer than the
 * delete) are dropped, as a reader would ignore them.
 */
export async function readDeleteIndex(
  destination: Destination,
  deletes: readonly ManifestEntry[],
  dataSequence: ReadonlyMap<string, number>,
  signal?: AbortSignal,
): Promise<DeleteIndex> {
  const equality = new Map<string, EqualityKeys>()
  const positions = new Map<string, number[]>()
  let maxEqualitySequence = 0
  for (const entry of deletes) {
    const file = await openTableFile(destination, entry.path, signal)
    if (entry.content === FileContent.EQUALITY_DELETES) {
      const ids = entry.equalityIds ?? []
      if (!ids.length) throw new LakeTableError('LAKE_TABLE_INVALID', `equality delete file ${entry.path} names no equality ids`)
      const at = columnsOfIds(file.layout, ids)
      if (at.some((i) => i < 0))
        throw new LakeTableError(
          'LAKE_TABLE_INVALID',
          `equality delete file ${entry.path} lacks a column of its equality ids ${ids.join(',')}`,
        )
      const set = equality.get(ids.join(',')) ?? { ids, keys: new Map<string, number>() }
      equality.set(ids.join(','), set)
      for (let g = 0; g < file.rowGroups; g++) {
        const names = at.map((i) => file.layout.columns[i].name)
        for (const row of await file.readColumns(g, names)) {
          const id = matchIdentity(row)
          if ((set.keys.get(id) ?? -1) < entry.sequenceNumber) set.keys.set(id, entry.sequenceNumber)
        }
      }
      maxEqualitySequence = Math.max(maxEqualitySequence, entry.sequenceNumber)
    } else if (entry.content === FileContent.POSITION_DELETES) {
      for (let g = 0; g < file.rowGroups; g++) {
        for (const [path, pos] of await file.readColumns(g, ['file_path', 'pos'])) {
          const uri = String(path)
          const seq = dataSequence.get(uri)
          if (seq === undefined || seq > entry.sequenceNumber) continue
          const list = positions.get(uri) ?? []
          list.push(Number(pos))
          positions.set(uri, list)
        }
      }
    } else {
      throw new LakeTableError('LAKE_TABLE_INVALID', `${entry.path} in a delete manifest has content ${String(entry.content)}`)
    }
  }
  for (const [uri, list] of positions)
    positions.set(
      uri,
      [...new Set(list)].sort((a, b) => a - b),
    )
  return { equality: [...equality.values()], maxEqualitySequence, positions }
}
