/**
 * Server pages in batches of rows (docs/sap-protocols.md#a-6-1): the scanner's parsed groups converted
 * and cut to the size the consumer takes, so memory holds a batch, not a server page.
 */
import type { Row } from '../fields.js'
import type { ResultsScanner } from './results-scanner.js'
import { convertRows, type RowPlan } from './values.js'

/** Counters of one server page, for its log line. */
export interface PageStats {
  rows: number
  parseMs: number
  convertMs: number
}

/**
 * Turns the scanner's small parsed groups into converted batches of exactly `batchRows` rows (the
 * last of a page: fewer). Its own class, not generator code, so the parsed objects are garbage as
 * soon as a group is converted: a generator's locals would live on while the consumer holds a batch.
 */
export class Batcher {
  private rows: Row[] = []
  private rowBase = 0
  private stats: PageStats = { rows: 0, parseMs: 0, convertMs: 0 }

  constructor(
    private readonly scanner: ResultsScanner,
    private readonly plan: RowPlan,
    private readonly batchRows: number,
  ) {}

  /** A new server page starts after `rowsBefore` rows; returns its counters. */
  startPage(rowsBefore: number): PageStats {
    this.scanner.reset()
    this.rows = []
    this.rowBase = rowsBefore
    return (this.stats = { rows: 0, parseMs: 0, convertMs: 0 })
  }

  /** Feeds `chunk` (if any); returns the next full batch, or undefined until the bytes of one arrived. */
  next(chunk?: Uint8Array): Row[] | undefined {
    const { scanner, stats } = this
    for (;;) {
      scanner.maxRows = this.batchRows - this.rows.length
      const t0 = performance.now()
      if (chunk) scanner.push(chunk)
      chunk = undefined
      const raw = scanner.take()
      const t1 = performance.now()
      stats.parseMs += t1 - t0
      if (raw === undefined) return undefined
      const converted = convertRows(raw, this.plan, this.rowBase + stats.rows)
      stats.convertMs += performance.now() - t1
      stats.rows += converted.length
      for (const row of converted) this.rows.push(row)
      if (this.rows.length >= this.batchRows) return this.take()
    }
  }

  /** The rows of the page not yet handed out, if any. */
  rest(): Row[] | undefined {
    return this.rows.length > 0 ? this.take() : undefined
  }

  private take(): Row[] {
    const out = this.rows
    this.rows = []
    return out
  }
}
