/**
 * Row sources of a read, fixed when the read is materialised: later pages see the table (or the change
 * log) exactly as it was at the first page, however the data changes meanwhile.
 */
import type { Table, TableSnapshot } from '../data/table.js'
import type { SapRow, SimulatorVariants } from '../types.js'
import type { CompiledFilter } from './filter.js'
import type { OutRow } from './serialize.js'

export interface RowCursor {
  next(): OutRow | undefined
}

type Predicate = ((row: SapRow) => boolean) | undefined

/**
 * Current rows in key order, as full and init reads deliver them ('' / '0'). Only the slots the
 * filter's key bounds allow are visited (the primary index, Table.slotsBetween); the filter decides.
 */
export function tableCursor(table: Table, snap: TableSnapshot, filter: CompiledFilter | undefined, skip = 0): RowCursor {
  let [slot, end] = table.slotsBetween(filter?.keyBounds ?? {}, snap)
  let toSkip = skip
  return {
    next() {
      while (slot < end) {
        const row = table.rowAt(slot++, snap)
        if (row === null || (filter !== undefined && !filter.test(row))) continue
        if (toSkip > 0) {
          toSkip--
          continue
        }
        return { row, mode: '', cntr: '0' }
      }
      return undefined
    },
  }
}

/**
 * Rows the table cursor would yield, up to `limit` (a `$top` read needs no more to know its size),
 * without building them twice when no filter applies.
 */
export function countTableRows(table: Table, snap: TableSnapshot, filter: CompiledFilter | undefined, limit = Infinity): number {
  if (filter === undefined) return Math.min(snap.liveCount, limit)
  const [lo, hi] = table.slotsBetween(filter.keyBounds, snap)
  let n = 0
  for (let slot = lo; slot < hi && n < limit; slot++) {
    const row = table.rowAt(slot, snap)
    if (row !== null && filter.test(row)) n++
  }
  return n
}

/**
 * Delta rows for changes with afterSeq < seq <= toSeq, per the ODQ change-mode table (section 0):
 * insert C/+1 (U/+1 for CDS-style CDC), update U/-1 before image then U/+1 after image (ABR) or only the
 * after image (AIE), delete D/-1 with the last image. The selection's filter applies to each image.
 */
export function deltaCursor(table: Table, afterSeq: number, toSeq: number, variants: SimulatorVariants, filter: Predicate): RowCursor {
  let index = table.logIndexAfter(afterSeq)
  const pending: OutRow[] = []
  const push = (row: SapRow, mode: OutRow['mode'], cntr: OutRow['cntr']): void => {
    if (filter === undefined || filter(row)) pending.push({ row, mode, cntr })
  }
  return {
    next() {
      while (pending.length === 0) {
        const change = table.log[index]
        if (change === undefined || change.seq > toSeq) return undefined
        index++
        if (change.mode === 'C') push(change.after!, variants.insertsAsUpdates ? 'U' : 'C', '1')
        else if (change.mode === 'D') push(change.before!, 'D', '-1')
        else {
          if (variants.updateImages === 'before-and-after') push(change.before!, 'U', '-1')
          push(change.after!, 'U', '1')
        }
      }
      return pending.shift()
    },
  }
}

/**
 * Remembers the rows of the page being served, so a page whose response failed (a fault, a dropped
 * connection) can be served again from its first row when the client retries the same `__next`.
 */
export class PageCursor implements RowCursor {
  #page: OutRow[] = []
  #replay = 0

  constructor(private readonly source: RowCursor) {}

  next(): OutRow | undefined {
    if (this.#replay < this.#page.length) return this.#page[this.#replay++]
    const row = this.source.next()
    if (row !== undefined) {
      this.#page.push(row)
      this.#replay++
    }
    return row
  }

  /** The page went out whole: its rows are no longer needed. */
  commitPage(): void {
    this.#page = []
    this.#replay = 0
  }

  /** The page is being served again: start over from its first row. */
  rewindPage(): void {
    this.#replay = 0
  }
}

export function countCursor(cursor: RowCursor): number {
  let n = 0
  while (cursor.next() !== undefined) n++
  return n
}
