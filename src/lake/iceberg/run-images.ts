/**
 * Which rows of a run's files are the SAP table's rows once the run is applied (issue 13 point 2,
 * docs/architecture.md#lake-tables "Current-state table"). The files are streamed back one file and
 * one row group at a time, reading only the key columns, ODQ_CHANGEMODE and ODQ_ENTITYCNTR.
 *
 * "Last" is delivery order: the files in the order the run lists them, rows in file order. SAP's
 * counter is a difference, not an ordering key (docs/sap-protocols.md, "Change mode and entity
 * counter": rows keep the order SAP delivered them in), so ODQ_ENTITYCNTR only tells a before image
 * (U, −1) from an after image. Per key: C, U (after image) and a blank mode (a full or initial row)
 * make that row the key's row; D removes the key; a before image changes nothing (its after image
 * follows). Held in memory: one entry per key the run touched (bounded by the run's changes,
 * never the whole table).
 */
import { CHANGE_MODE_COLUMN, classifyChange, ENTITY_COUNTER_COLUMN, type Row, type Value } from '../../sap/fields.js'
import type { Destination } from '../../storage/destination.js'
import { LakeTableError } from './errors.js'
import { openDataFile } from './parquet-rows.js'

/** A run file as the merge sees it: its destination key (field ids and row count come from its footer). */
export interface RunFileInput {
  key: string
}

export interface RunImages {
  /** Key values (keyColumns order) of every key the run created, changed or deleted. */
  touchedKeys: Row[]
  /** Per run file (same order): rows that stay, ascending; every other row is deleted by position. */
  kept: number[][]
  /** Row count of each run file, as read from its footer. */
  rowCounts: number[]
  /** Field id of each column name, as the files' footers give them (checked equal across files). */
  fieldIds: Map<string, number>
}

/** One key as `Map` identity: type-tagged text of each value, so `1` and `'1'` stay different keys. */
export function keyIdentity(values: readonly Value[]): string {
  return values
    .map((v) => {
      if (v === null || v === undefined) return 'n:'
      if (v instanceof Date) return `d:${v.toISOString()}`
      if (v instanceof Uint8Array) return `b:${Buffer.from(v).toString('hex')}`
      return `${typeof v}:${String(v)}`
    })
    .join('\u0000')
}

interface Final {
  key: Row
  /** Where the key's row is: [file, position], or null when the run deleted the key. */
  at: [number, number] | null
}

export async function readRunImages(
  destination: Destination,
  files: readonly RunFileInput[],
  keyColumns: readonly string[],
  signal?: AbortSignal,
): Promise<RunImages> {
  const finals = new Map<string, Final>()
  const rowCounts: number[] = []
  const fieldIds = new Map<string, number>()
  const names = [...keyColumns, CHANGE_MODE_COLUMN, ENTITY_COUNTER_COLUMN]
  for (const [fileIndex, file] of files.entries()) {
    const bytes = await destination.getBytes(file.key, signal)
    if (!bytes) throw new LakeTableError('LAKE_INPUT', `run file ${file.key} is missing`)
    const open = await openDataFile(bytes, file.key)
    open.layout.columns.forEach((c, i) => {
      const id = open.layout.fieldIds[i]
      if (fieldIds.has(c.name) && fieldIds.get(c.name) !== id)
        throw new LakeTableError(
          'LAKE_INPUT',
          `run file ${file.key} gives ${c.name} field id ${id}, an earlier file ${fieldIds.get(c.name)}`,
        )
      fieldIds.set(c.name, id)
    })
    let position = 0
    for (let g = 0; g < open.rowGroups; g++) {
      for (const row of await open.readColumns(g, names)) {
        const key = row.slice(0, keyColumns.length)
        const change = classifyChange(row[keyColumns.length], row[keyColumns.length + 1])
        if (change !== 'before-image') {
          if (key.some((v) => v === null))
            throw new LakeTableError('LAKE_INPUT', `run file ${file.key} row ${position} has a null key column`)
          finals.set(keyIdentity(key), { key, at: change === 'deleted' ? null : [fileIndex, position] })
        }
        position++
      }
    }
    rowCounts.push(position)
  }
  const kept: number[][] = files.map(() => [])
  for (const { at } of finals.values()) if (at) kept[at[0]].push(at[1])
  for (const k of kept) k.sort((a, b) => a - b)
  return { touchedKeys: [...finals.values()].map((f) => f.key), kept, rowCounts, fieldIds }
}

/** Positions 0…count−1 of one file not in `kept` (ascending): the rows its position delete names. */
export function* deletedPositions(count: number, kept: readonly number[]): Generator<number> {
  let k = 0
  for (let pos = 0; pos < count; pos++) {
    if (k < kept.length && kept[k] === pos) k++
    else yield pos
  }
}
