/**
 * One entity set's table: generated base rows plus a small versioned overlay of changes, and the change
 * log that delta reads are cut from.
 *
 * Every change gets a global sequence number. A snapshot is just (slot count, seq, live count), so a
 * paged read started before a change keeps seeing the table as it was without copying anything: a slot's
 * content at a snapshot is the newest version with `seq <= snapshot.seq`, else the generated row.
 */
import type { EntityDef } from '../model/fields.js'
import { keyOf } from '../model/fields.js'
import { initialValue, withField, withoutField, type AddedField } from '../model/field-changes.js'
import { hash } from '../model/prng.js'
import type { ChangeRef, RowKey, SapRow } from '../types.js'

export interface TableSnapshot {
  /** Slots that existed (inserted rows get slots after the initial ones). */
  slotCount: number
  /** Changes with seq <= this are visible. */
  seq: number
  /** Rows alive at the snapshot. */
  liveCount: number
}

interface Version {
  seq: number
  row: SapRow | null
}

/** Shared, strictly increasing change sequence (global across entity sets, like ODQ's TSN order). */
export interface SeqClock {
  current: number
}

export class Table {
  readonly log: ChangeRef[] = []
  /** Rows looked at so far (rowAt calls): how much a request scanned, for tests of index-like reads. */
  rowsVisited = 0
  private slotCount: number
  private live: number
  private readonly versions = new Map<number, Version[]>()

  constructor(
    /** Replaced, never mutated, when a field is added or dropped (`addField`, `dropField`). */
    public def: EntityDef,
    private readonly seed: number,
    initialRows: number,
    private readonly clock: SeqClock,
  ) {
    this.slotCount = initialRows
    this.live = initialRows
  }

  get rowCount(): number {
    return this.live
  }

  snapshot(): TableSnapshot {
    return { slotCount: this.slotCount, seq: this.clock.current, liveCount: this.live }
  }

  /** Row in a slot as of the snapshot, or null when deleted / not yet inserted. Do not mutate the result. */
  rowAt(slot: number, snap: TableSnapshot): SapRow | null {
    this.rowsVisited++
    if (slot >= snap.slotCount) return null
    const versions = this.versions.get(slot)
    if (versions !== undefined) {
      for (let v = versions.length - 1; v >= 0; v--) {
        if (versions[v].seq <= snap.seq) return versions[v].row
      }
    }
    return this.def.generate(this.seed, slot)
  }

  /**
   * Slots [lo, hi) that can hold rows whose first key field lies in [min, max] (inclusive, either
   * open): slots are in key order and a slot keeps its key (updates keep keys, a delete empties the
   * slot, an insert takes the next slot), so two binary searches over the slots' generated keys find
   * them — what a database does with its primary index, instead of reading every row.
   */
  slotsBetween(bounds: { min?: string; max?: string }, snap: TableSnapshot): [number, number] {
    const field = this.def.keyFields[0]
    const keyAt = (slot: number) => String(this.def.generate(this.seed, slot)[field])
    const lo = bounds.min === undefined ? 0 : firstSlot(snap.slotCount, (s) => keyAt(s) >= bounds.min!)
    const hi = bounds.max === undefined ? snap.slotCount : firstSlot(snap.slotCount, (s) => keyAt(s) > bounds.max!)
    return [lo, Math.max(lo, hi)]
  }

  /** Index of the first log entry with seq > `afterSeq` (binary search: the log is in seq order). */
  logIndexAfter(afterSeq: number): number {
    let lo = 0
    let hi = this.log.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.log[mid].seq <= afterSeq) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  insert(count: number): ChangeRef[] {
    assertCount(count)
    const out: ChangeRef[] = []
    for (let n = 0; n < count; n++) {
      const slot = this.slotCount
      const after = this.def.generate(this.seed, slot)
      this.slotCount++
      this.live++
      out.push(this.record({ seq: ++this.clock.current, mode: 'C', key: keyOf(this.def, after), before: null, after }))
    }
    return out
  }

  update(keysOrCount: RowKey[] | number): ChangeRef[] {
    return this.resolve(keysOrCount, 'update').map((slot) => {
      const before = this.current(slot)!
      const seq = ++this.clock.current
      const after = this.def.mutate(this.seed, before, seq)
      this.setVersion(slot, seq, after)
      return this.record({ seq, mode: 'U', key: keyOf(this.def, before), before, after })
    })
  }

  delete(keysOrCount: RowKey[] | number): ChangeRef[] {
    return this.resolve(keysOrCount, 'delete').map((slot) => {
      const before = this.current(slot)!
      const seq = ++this.clock.current
      this.setVersion(slot, seq, null)
      this.live--
      return this.record({ seq, mode: 'D', key: keyOf(this.def, before), before, after: null })
    })
  }

  /**
   * Adds a business field mid-life (model/field-changes.ts): rows that exist now hold its initial
   * value, also in the change log and the stored versions that delta reads are cut from; rows
   * inserted or updated from now on get values of their own.
   */
  addField(field: AddedField): void {
    this.def = withField(this.def, field, this.slotCount)
    const initial = initialValue(field.type)
    this.forEachStoredRow((row) => {
      if (!(field.name in row)) row[field.name] = initial
    })
  }

  /** Drops a business field mid-life: gone from the metadata, from every row and from the change log's images. */
  dropField(name: string): void {
    this.def = withoutField(this.def, name)
    this.forEachStoredRow((row) => {
      delete row[name]
    })
  }

  private forEachStoredRow(f: (row: SapRow) => void): void {
    for (const c of this.log) for (const row of [c.before, c.after]) if (row) f(row)
    for (const versions of this.versions.values()) for (const v of versions) if (v.row) f(v.row)
  }

  private current(slot: number): SapRow | null {
    return this.rowAt(slot, this.snapshot())
  }

  private setVersion(slot: number, seq: number, row: SapRow | null): void {
    const list = this.versions.get(slot)
    if (list) list.push({ seq, row })
    else this.versions.set(slot, [{ seq, row }])
  }

  private record(change: ChangeRef): ChangeRef {
    this.log.push(change)
    return change
  }

  /** Slots to change: the given keys (each must exist), or `count` live rows picked from the seed. */
  private resolve(keysOrCount: RowKey[] | number, what: string): number[] {
    if (typeof keysOrCount !== 'number') {
      const slots = keysOrCount.map((key) => {
        const slot = this.def.slotOfKey(key)
        if (slot === undefined || this.current(slot) === null) {
          throw new Error(`cannot ${what} ${this.def.name}: no row with key ${JSON.stringify(key)}`)
        }
        return slot
      })
      if (new Set(slots).size !== slots.length) throw new Error(`cannot ${what} ${this.def.name}: duplicate keys`)
      return slots
    }
    assertCount(keysOrCount)
    if (keysOrCount > this.live) throw new Error(`cannot ${what} ${keysOrCount} rows of ${this.def.name}: only ${this.live} exist`)
    const chosen = new Set<number>()
    const salt = this.clock.current
    // random probes are cheap while most slots are alive; fall back to a scan when they keep missing
    for (let attempt = 0; chosen.size < keysOrCount && attempt < keysOrCount * 20; attempt++) {
      const slot = hash(this.seed, salt, attempt) % this.slotCount
      if (!chosen.has(slot) && this.current(slot) !== null) chosen.add(slot)
    }
    for (let slot = 0; chosen.size < keysOrCount && slot < this.slotCount; slot++) {
      if (!chosen.has(slot) && this.current(slot) !== null) chosen.add(slot)
    }
    return [...chosen]
  }
}

/** The first slot in [0, count) where `past` holds, given that once it holds it keeps holding; count when none. */
function firstSlot(count: number, past: (slot: number) => boolean): number {
  let [lo, hi] = [0, count]
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (past(mid)) hi = mid
    else lo = mid + 1
  }
  return lo
}

function assertCount(count: number): void {
  if (!Number.isInteger(count) || count < 0) throw new Error(`row count must be a non-negative integer, got ${count}`)
}
