import { CHANGE_MODE_COLUMN, ENTITY_COUNTER_COLUMN, classifyChange, type ChangeCounts, type Column, type Row } from '../sap/fields.js'

/** One row's class in a delta: a change (C/U/D, before images apart), or null for initial-load rows. */
export type ChangeClass = keyof ChangeCounts | 'before-image'

/**
 * Counts C/U/D rows of a delta as they stream past (before images are not counted as changes, but
 * are tallied, so that every classified row can be accounted for in the files).
 */
export class ChangeCounter {
  readonly counts: ChangeCounts = { created: 0, updated: 0, deleted: 0 }
  beforeImages = 0
  readonly #mode: number
  readonly #counter: number

  constructor(columns: Column[]) {
    this.#mode = columns.findIndex((c) => c.name === CHANGE_MODE_COLUMN)
    this.#counter = columns.findIndex((c) => c.name === ENTITY_COUNTER_COLUMN)
  }

  get tracksChanges(): boolean {
    return this.#mode !== -1
  }

  /** The class of one row (the same rule the counts use), for counting elsewhere. */
  readonly classify = (row: Row): ChangeClass | null =>
    this.#mode === -1 ? null : classifyChange(row[this.#mode], this.#counter === -1 ? null : row[this.#counter])

  count(rows: Row[]): void {
    if (this.#mode === -1) return
    for (const row of rows) {
      const kind = this.classify(row)
      if (kind === 'before-image') this.beforeImages++
      else if (kind) this.counts[kind]++
    }
  }
}
