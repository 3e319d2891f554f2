/**
 * Paging a table through RFC_READ_TABLE (docs/sap-protocols.md §C) — stable, in column groups.
 *
 * Why not ROWSKIPS/ROWCOUNT: the module's SELECT has no ORDER BY (§C.2 step 5), so consecutive
 * pages may overlap or leave gaps (§C.4), every page re-reads and discards all skipped rows
 * (quadratic), and some releases demand ROWSKIPS to be a multiple of ROWCOUNT.
 *
 * Why not plain key ranges (`WHERE key > last` with ROWCOUNT = N): without ORDER BY the server may
 * return *any* N rows above `last`, so taking their maximum as the next `last` skips the rows it did
 * not return.
 *
 * What we do — key slices verified by count: a page is a key slice `lo < key <= hi` that holds at
 * most N rows. We ask for N+1 rows; getting at most N proves the slice was returned completely,
 * whatever the server's order. `hi` comes from a cheap key-only probe (`key > lo`, N+1 rows): on a
 * server that happens to return rows in key order (the usual case) the probe's N-th key closes a
 * slice of exactly N rows, so a page costs one narrow probe plus one call per column group. The
 * first probe reads the first column group in full, so a read that fits one page (a small table, a
 * typical delta) costs a single scan. If a slice overflows (unordered server, concurrent inserts),
 * it is narrowed and read again. Rows inserted below `lo` after we passed it are not in this
 * snapshot; no row is read twice or skipped. ROWSKIPS is never used, so the "multiple of ROWCOUNT"
 * rule of newer releases (§C.2) cannot bite.
 *
 * Tables wider than 512 characters are read in column groups that each carry the full key (§C.5);
 * the groups of one slice are read in parallel through the connection pool and joined on the key.
 */
import { SourceError } from '../errors.js'
import type { SapLog } from '../log.js'
import type { RfcPool } from './pool.js'
import { READ_TABLE } from './table-meta.js'
import { signedNumberText, type RfcField } from './values.js'
import { and, literal, optionLines, or, type Condition } from './where.js'

/** One joined row: the raw slot text of every planned field, in plan order. */
export interface RawRow {
  texts: string[]
  /** Key values (trimmed), in key order. */
  key: string[]
}

export interface PagerContext {
  pool: RfcPool
  log: SapLog
  /** Seconds per call. */
  timeout?: number
  /** Retries of a call after a communication failure (reads are idempotent). Default 2. */
  retries?: number
  backoffMs?: number
}

export interface TablePlan {
  table: string
  /** The fields read, in output order (table order). */
  fields: RfcField[]
  /** Primary key fields (subset of `fields`); empty → unkeyed offset paging (one group only). */
  keys: RfcField[]
  /** Field names per RFC_READ_TABLE call, keys first in each. */
  groups: string[][]
}

const MAX_PAGE_RETRIES = 5

/** One RFC_READ_TABLE call: which fields, which rows. */
interface GroupCall {
  fields: string[]
  cond: Condition
  /** ROWCOUNT. */
  rowCount: number
  /** ROWSKIPS: only tables without a known key are paged by offset. */
  skip?: number
}

export class TablePager {
  private readonly index: Map<string, number>
  private readonly keyIndexes: number[]
  private readonly numericKey: boolean[]
  calls = 0

  /** The key fields slices are cut on: the primary key without the client (one client is visible per logon). */
  private readonly keys: RfcField[]

  constructor(
    private readonly ctx: PagerContext,
    private readonly plan: TablePlan,
    private readonly filter: Condition,
    private readonly pageSize: number,
  ) {
    this.index = new Map(plan.fields.map((f, i) => [f.name, i]))
    this.keys = plan.keys.filter((k) => k.sourceType.toUpperCase() !== 'CLNT')
    this.keyIndexes = this.keys.map((k) => this.index.get(k.name)!)
    this.numericKey = this.keys.map((k) => ['packed', 'int1', 'int2', 'int4', 'int8', 'float'].includes(k.kind))
  }

  /** Pages of joined rows in key order; lazily, one slice per iteration step. */
  async *pages(signal: AbortSignal): AsyncGenerator<RawRow[]> {
    if (this.keys.length === 0) {
      yield* this.offsetPages(signal)
      return
    }
    const N = this.pageSize
    const keyGroup = this.keys.map((k) => k.name)
    let lo: string[] | undefined
    let fraction = 1
    // The first probe reads the first column group in full: when everything left fits one page (a
    // small table, a typical delta) that answer is already complete and saves a second scan of the
    // table in SAP. Once a probe overflows, later probes read only the key.
    let dataProbe = true
    for (;;) {
      const probe = await this.readGroup(
        { fields: dataProbe ? this.plan.groups[0] : keyGroup, cond: this.range(lo, undefined), rowCount: N + 1 },
        signal,
      )
      if (probe.length === 0) return
      const complete = probe.length <= N ? probe : undefined
      if (!complete) dataProbe = false
      let hi = complete ? undefined : this.sortedKeys(probe)[Math.max(1, Math.floor(N * fraction)) - 1]
      let rows: RawRow[] | undefined
      for (let attempt = 0; rows === undefined; attempt++) {
        const reuse = complete && dataProbe && hi === undefined && attempt === 0
        const results = await Promise.all(
          this.plan.groups.map((g, i) =>
            reuse && i === 0 ? complete : this.readGroup({ fields: g, cond: this.range(lo, hi), rowCount: N + 1 }, signal),
          ),
        )
        const over = results.find((r) => r.length > N)
        if (over) {
          // Not the slice the probe promised: narrow to the lower half of what came back.
          hi = this.sortedKeys(over)[Math.max(1, Math.floor(N / 2)) - 1]
          fraction = Math.max(fraction / 2, 1 / N)
          this.ctx.log('debug', 'RFC_READ_TABLE slice overflowed; narrowing', { table: this.plan.table, hi })
          continue
        }
        rows = this.join(results)
        if (rows === undefined) {
          if (attempt >= MAX_PAGE_RETRIES)
            throw new SourceError(
              'SOURCE_UNAVAILABLE',
              `the column groups of ${this.plan.table} kept returning different rows for the same key range (the table changes too fast to read in groups); retry later`,
            )
          this.ctx.log('debug', 'column groups disagree (concurrent change); reading the slice again', { table: this.plan.table })
        }
      }
      if (fraction < 1 && rows.length < N / 4) fraction = Math.min(1, fraction * 2)
      if (rows.length > 0) yield rows
      if (hi === undefined) return
      lo = hi
    }
  }

  /**
   * Tables without a known key: ROWSKIPS/ROWCOUNT with a constant page size (the divisibility rule of
   * §C.2), one group only. Row order is not guaranteed by SAP — documented, and logged.
   */
  private async *offsetPages(signal: AbortSignal): AsyncGenerator<RawRow[]> {
    if (this.plan.groups.length > 1)
      throw new SourceError(
        'SOURCE_BAD_REQUEST',
        `${this.plan.table} has no known primary key and is wider than one RFC_READ_TABLE row; select fewer fields`,
      )
    this.ctx.log('warn', 'no primary key known: paging with ROWSKIPS/ROWCOUNT, which SAP does not guarantee to be stable (§C.4)', {
      table: this.plan.table,
    })
    for (let skip = 0; ; skip += this.pageSize) {
      const rows = await this.readGroup({ fields: this.plan.groups[0], cond: this.filter, rowCount: this.pageSize, skip }, signal)
      if (rows.length > 0) yield rows
      if (rows.length < this.pageSize) return
    }
  }

  /**
   * `filter AND key > lo AND key <= hi`, the key compared as a tuple. The leading key field's own
   * bounds are repeated at the top level: implied by the tuple comparison, but they let a database
   * (and the simulator) use the primary index instead of scanning the table for every slice.
   */
  private range(lo: string[] | undefined, hi: string[] | undefined): Condition {
    const first = this.keys[0].name
    return and(
      this.filter,
      lo && [first, '>=', this.lit(0, lo[0])],
      hi && [first, '<=', this.lit(0, hi[0])],
      lo && this.keys.length > 1 ? this.tupleCompare(lo, '>') : lo && [first, '>', this.lit(0, lo[0])],
      hi && this.keys.length > 1 ? this.tupleCompare(hi, '<=') : undefined,
    )
  }

  /** (k1 op1 v1) OR (k1 = v1 AND k2 op2 v2) … with strict ops before the last field. */
  private tupleCompare(values: string[], op: '>' | '<='): Condition {
    const keys = this.keys
    const strict = op === '>' ? '>' : '<'
    const terms: Condition[] = []
    for (let i = 0; i < keys.length; i++) {
      const t: Condition[] = []
      for (let j = 0; j < i; j++) t.push([keys[j].name, '=', this.lit(j, values[j])])
      t.push([keys[i].name, i === keys.length - 1 ? op : strict, this.lit(i, values[i])])
      terms.push(and(...t))
    }
    return or(...terms)
  }

  private lit(keyIndex: number, value: string): string {
    return this.numericKey[keyIndex] ? value : literal(value)
  }

  private sortedKeys(rows: RawRow[]): string[][] {
    return rows.map((r) => r.key).sort((a, b) => this.compareKeys(a, b))
  }

  compareKeys(a: string[], b: string[]): number {
    for (let i = 0; i < a.length; i++) {
      if (a[i] === b[i]) continue
      if (this.numericKey[i]) return Number(a[i]) - Number(b[i])
      return a[i] < b[i] ? -1 : 1
    }
    return 0
  }

  /** Joins the groups of one slice on the key; undefined if they do not hold the same keys. */
  private join(results: RawRow[][]): RawRow[] | undefined {
    const [first, ...rest] = results
    if (rest.length === 0) return first.sort((a, b) => this.compareKeys(a.key, b.key))
    const byKey = new Map<string, RawRow>()
    for (const r of first) byKey.set(r.key.join('\u0000'), r)
    for (const group of rest) {
      if (group.length !== byKey.size) return undefined
      for (const r of group) {
        const target = byKey.get(r.key.join('\u0000'))
        if (!target) return undefined
        for (let i = 0; i < r.texts.length; i++) if (r.texts[i] !== undefined) target.texts[i] = r.texts[i]
      }
    }
    return [...byKey.values()].sort((a, b) => this.compareKeys(a.key, b.key))
  }

  /** One RFC_READ_TABLE call for the fields of a group; rows carry texts at their plan positions. */
  private async readGroup({ fields, cond, rowCount, skip = 0 }: GroupCall, signal: AbortSignal): Promise<RawRow[]> {
    const params = {
      QUERY_TABLE: this.plan.table,
      DELIMITER: '',
      NO_DATA: '',
      ROWSKIPS: skip,
      ROWCOUNT: rowCount,
      FIELDS: fields.map((f) => ({ FIELDNAME: f })),
      OPTIONS: optionLines(cond).map((TEXT) => ({ TEXT })),
    }
    const res = await this.callWithRetry(params, signal)
    const layout = (Array.isArray(res['FIELDS']) ? (res['FIELDS'] as Record<string, unknown>[]) : []).map((f) => ({
      at: this.index.get(String(f['FIELDNAME'] ?? '').trim()),
      offset: Number(f['OFFSET'] ?? 0),
      length: Number(f['LENGTH'] ?? 0),
    }))
    if (
      layout.length !== fields.length ||
      layout.some((l) => l.at === undefined || !Number.isFinite(l.offset) || !Number.isFinite(l.length))
    ) {
      throw new SourceError(
        'SOURCE_PROTOCOL',
        `${READ_TABLE} answered for ${this.plan.table} with FIELDS that do not match the ${fields.length} requested`,
      )
    }
    const data = Array.isArray(res['DATA']) ? (res['DATA'] as Record<string, unknown>[]) : []
    const width = this.plan.fields.length
    const out: RawRow[] = new Array(data.length)
    for (let r = 0; r < data.length; r++) {
      const wa = String(data[r]['WA'] ?? '')
      const texts: string[] = new Array(width)
      for (const l of layout) texts[l.at!] = wa.substr(l.offset, l.length)
      const key = this.keyIndexes.map((i, k) => (this.numericKey[k] ? (signedNumberText(texts[i]) ?? '0') : texts[i].trimEnd()))
      out[r] = { texts, key }
    }
    return out
  }

  private callWithRetry(params: Record<string, unknown>, signal: AbortSignal): Promise<Record<string, unknown>> {
    this.calls++
    return this.ctx.pool.call(READ_TABLE, params, {
      signal,
      timeout: this.ctx.timeout,
      what: `table ${this.plan.table}`,
      retries: this.ctx.retries ?? 2,
      backoffMs: this.ctx.backoffMs,
      log: this.ctx.log,
    })
  }
}
