/**
 * The column model: the one description of a source's fields that the SAP clients produce and the
 * Parquet writer consumes. It knows nothing of OData, RFC or Parquet; each side maps to and from it.
 *
 * Values travel as rows (arrays in column order) with these JS representations, chosen so that no
 * SAP value is rounded or reinterpreted on the way:
 *
 * | kind      | JS value                         | why                                              |
 * |-----------|----------------------------------|--------------------------------------------------|
 * | string    | string                           | NUMC keeps its leading zeros                     |
 * | decimal   | string, canonical decimal text   | exact; `-1234.50`, never a float                 |
 * | int8/16/32| number                           |                                                  |
 * | uint8     | number                           | Edm.Byte                                         |
 * | int64     | bigint                           | INT8 overflows a double                          |
 * | double    | number                           | FLTP                                             |
 * | boolean   | boolean                          |                                                  |
 * | date      | Date at 00:00 UTC                | calendar date; SAP `00000000` arrives as null    |
 * | time      | number, microseconds since 00:00 | 0 … 86_400_000_000 inclusive: SAP `240000` valid |
 * | timestamp | Date (UTC instant)               | millisecond precision                            |
 * | binary    | Uint8Array                       |                                                  |
 * | guid      | string (lower-case 8-4-4-4-12)   |                                                  |
 *
 * `null` stands for a missing value in any column.
 */
import { SourceError } from './errors.js'

export type ColumnType =
  | { kind: 'string'; maxLength?: number }
  | { kind: 'decimal'; precision: number; scale: number }
  | { kind: 'int8' }
  | { kind: 'uint8' }
  | { kind: 'int16' }
  | { kind: 'int32' }
  | { kind: 'int64' }
  | { kind: 'double' }
  | { kind: 'boolean' }
  | { kind: 'date' }
  | { kind: 'time' }
  | { kind: 'timestamp' }
  | { kind: 'binary'; maxLength?: number }
  | { kind: 'guid' }

export type ColumnKind = ColumnType['kind']

/** SAP annotations that change how a column is treated downstream. */
export type ColumnSemantics = 'change-mode' | 'entity-counter' | 'currency-code' | 'unit-of-measure' | (string & {})

export interface Column {
  name: string
  type: ColumnType
  nullable: boolean
  /** Part of the business key (ODQ_CHANGEMODE / ODQ_ENTITYCNTR are never key columns here). */
  key: boolean
  label?: string
  semantics?: ColumnSemantics
  /** Name of the column that holds this amount's currency or unit (sap:unit). */
  unit?: string
  /** The SAP/EDM type the column came from, e.g. `Edm.Decimal` or `CURR`, kept for the manifest. */
  sourceType?: string
}

export type Value = string | number | bigint | boolean | Date | Uint8Array | null
export type Row = Value[]

/** ODQ technical fields kept in delta files (docs/sap-protocols.md §0). */
export const CHANGE_MODE_COLUMN = 'ODQ_CHANGEMODE'
export const ENTITY_COUNTER_COLUMN = 'ODQ_ENTITYCNTR'

export const MICROS_PER_DAY = 86_400_000_000

/** Per-row change classes counted into a run's manifest and `changeCounts`. */
export interface ChangeCounts {
  created: number
  updated: number
  deleted: number
}

/**
 * Classifies one delta row by its ODQ change mode and entity counter. A `U` row with a negative
 * counter is the before image of an update (ABR deltas deliver it next to the after image), so it is
 * not counted a second time. Initial-load rows (blank mode) count as nothing.
 */
export function classifyChange(mode: Value, counter: Value): keyof ChangeCounts | 'before-image' | null {
  switch (mode) {
    case 'C':
      return 'created'
    case 'U':
      return typeof counter === 'string' && counter.startsWith('-') ? 'before-image' : 'updated'
    case 'D':
      return 'deleted'
    case '':
    case null:
      return null
    default:
      // SAP documents no other mode: treating one as an upsert could resurrect a deleted row, so the
      // run stops with a class of its own instead of an internal error.
      throw new SourceError(
        'SOURCE_PROTOCOL',
        `SAP sent an unknown ODQ change mode ${JSON.stringify(mode)} (expected C, U, D or blank); nothing is committed`,
      )
  }
}
