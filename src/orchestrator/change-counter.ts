import { CHANGE_MODE_COLUMN, ENTITY_COUNTER_COLUMN, classifyChange, type ChangeCounts, type Column, type Row } from '../sap/fields.js'

/** Counts C/U/D rows of a delta as they stream past (before images are not counted twice). */
export class ChangeCounter {
  readonly counts: ChangeCounts = { created: 0, updated: 0, deleted: 0 }
  readonly #mode: number
  readonly #counter: number

  constructor(columns: Column[]) {
    this.#mode = columns.findIndex((c) => c.name === CHANGE_MODE_COLUMN)
    this.#counter = columns.findIndex((c) => c.name === ENTITY_COUNTER_COLUMN)
  }

  get tracksChanges(): boolean {
    return this.#mode !== -1
  }

  count(rows: Row[]): void {
    if (this.#mode === -1) return
    for (const row of rows) {
      const kind = classifyChange(row[this.#mode], this.#counter === -1 ? null : row[this.#counter])
      if (kind && kind !== 'before-image') this.counts[kind]++
    }
  }
}
