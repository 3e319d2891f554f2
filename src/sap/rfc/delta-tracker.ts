/**
 * The watermark side of a TABLE_RFC DELTA_INIT or DELTA (docs/sap-protocols.md §C.7, watermark.ts):
 * the highest watermark read, the fingerprints of the rows in the overlap window, which rows a DELTA
 * delivered before, and the position the next DELTA starts from. A DELTA_INIT, split or not, keeps
 * the start fixed before it read instead (split-init.ts).
 */
import type { SourceReadEnd } from '../source.js'
import type { RawRow } from './read-table.js'
import type { RfcField } from './values.js'
import { capFuture, encodePosition, fingerprint, lowerBound, watermarkValue, type TablePosition, type Watermark } from './watermark.js'

export interface DeltaOptions {
  table: string
  watermark: Watermark
  /** The fields read, in row order. */
  fields: RfcField[]
  overlap: number
  /** DELTA: the position the read starts from. */
  previous?: TablePosition
  /**
   * DELTA_INIT: the start fixed before the read (the run's, for a partition of a split one). Its
   * watermark stays the high mark whatever the read sees (the position must not depend on when each
   * row was read), and every row inside its window is fingerprinted, so the next DELTA does not
   * deliver again a row read here in its new version.
   */
  fixed?: TablePosition
  /** The clock that caps future watermarks. */
  now?: () => Date
}

/**
 * The watermark side of a DELTA_INIT or DELTA (§C.7): follows the highest watermark and the rows in
 * the overlap window, tells which rows a DELTA delivered before, and makes the next position.
 */
export class DeltaTracker {
  skipped = 0
  private readonly window: Window
  private readonly seen: Set<string>
  /** Where the watermark's fields sit in a row. */
  private readonly at: number[]
  private readonly now: () => Date

  constructor(private readonly o: DeltaOptions) {
    this.window = new Window(o.watermark, o.overlap, o.fixed ? o.fixed.watermark : o.previous?.watermark, o.fixed !== undefined)
    this.seen = new Set(o.previous?.seen ?? [])
    this.at = o.watermark.fields.map((f) => o.fields.indexOf(f))
    this.now = o.now ?? (() => new Date())
  }

  /** Records a row; true when a DELTA delivered it before, unchanged (it is then left out). */
  repeated(raw: RawRow): boolean {
    const w = this.o.watermark
    const delta = this.o.previous !== undefined
    const wm = watermarkValue(
      w,
      this.at.map((i) => raw.texts[i]),
    )
    const fp = this.window.add(wm, capFuture(w, wm, this.now()), raw.texts, delta)
    if (!delta || fp === undefined || !this.seen.has(fp)) return false
    this.skipped++
    return true
  }

  /** The position the next DELTA starts from. */
  end(): SourceReadEnd {
    const { table, watermark, overlap, previous } = this.o
    const { window } = this
    const position: TablePosition = {
      v: 1,
      kind: 'TABLE_RFC',
      table,
      watermarkField: watermark.name,
      overlapSeconds: overlap,
      seen: window.fingerprints(),
    }
    if (window.max !== undefined) position.watermark = window.max
    return { position: encodePosition(position), token: window.max ?? previous?.watermark }
  }
}

/** Tracks the highest watermark and the fingerprints of rows inside the moving overlap window. */
class Window {
  max: string | undefined
  private from: string | undefined
  private entries: Array<{ wm: string; fp: string }> = []
  private pruneAt = 10_000

  constructor(
    private readonly w: Watermark,
    private readonly overlap: number,
    start: string | undefined,
    /** The high mark and the window stay at `start` (a partition of a split DELTA_INIT). */
    private readonly fixed = false,
  ) {
    this.max = start
    this.from = start === undefined ? undefined : lowerBound(w, start, overlap)
  }

  /**
   * Records a row. Returns its fingerprint when `always` or when the row falls in the window (only
   * rows with a watermark recur in deltas; hashing the others would be wasted work on a big init).
   */
  add(wm: string | undefined, capped: string | undefined, texts: string[], always: boolean): string | undefined {
    if (wm === undefined) return undefined
    if (!this.fixed && capped !== undefined && (this.max === undefined || capped > this.max)) {
      this.max = capped
      this.from = lowerBound(this.w, capped, this.overlap)
    }
    const inWindow = this.from === undefined || wm >= this.from
    if (!inWindow && !always) return undefined
    const fp = fingerprint(texts)
    if (inWindow) this.entries.push({ wm, fp })
    if (this.entries.length > this.pruneAt) {
      this.prune()
      this.pruneAt = Math.max(10_000, this.entries.length * 2)
    }
    return fp
  }

  fingerprints(): string[] {
    this.prune()
    return [...new Set(this.entries.map((e) => e.fp))].sort()
  }

  private prune(): void {
    const from = this.from
    if (from !== undefined) this.entries = this.entries.filter((e) => e.wm >= from)
  }
}
