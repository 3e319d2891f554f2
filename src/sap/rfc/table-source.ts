/**
 * TABLE_RFC reads: FULL snapshots, and watermark deltas (DELTA_INIT = snapshot + a position fixed
 * before it reads, split-init.ts; DELTA = rows changed since the position, de-duplicated — see
 * watermark.ts). Rows are typed per §C.3 by values.ts; paging and column groups are read-table.ts.
 */
import { SourceError } from '../errors.js'
import type { Row } from '../fields.js'
import { domainOf, planKeyRanges, type FieldKeyRange, type KeyRange, type KeyRangePlan } from '../key-ranges.js'
import { lazyRead, requirePageSize, type LazyRead } from '../lazy-read.js'
import type { SapLog } from '../log.js'
import type { SourcePage, SourceReadEnd, SourceReadRequest, SourceSpec, SplitInit } from '../source.js'
import { badValue, ValueError } from '../values.js'
import { planColumnGroups } from './column-groups.js'
import { READ_TABLE } from './table-meta.js'
import type { RfcPool } from './pool.js'
import { TablePager, type RawRow, type TablePlan } from './read-table.js'
import { describeTable, type TableMeta } from './table-meta.js'
import { columnOf, textConverter, type AbapKind, type RfcField } from './values.js'
import { DeltaTracker } from './delta-tracker.js'
import { highestWatermark, initStart, joinInitEnds, searchPrecision } from './split-init.js'
import {
  beforeCondition,
  decodePosition,
  encodePosition,
  lowerBound,
  resolveWatermark,
  sinceCondition,
  watermarkSteps,
  type TablePosition,
  type Watermark,
} from './watermark.js'
import { and, literal, optionLines, parseWhere, type Condition } from './where.js'

export interface TableSourceContext {
  pool: RfcPool
  log: SapLog
  /** Seconds per RFC call. */
  timeout?: number
  retries?: number
  backoffMs?: number
  /** Overlap window of watermark deltas; default 1 day for dates, 1 hour for timestamps. */
  overlapSeconds?: number
  now?: () => Date
}

/** Validates the spec against the table and returns the lazy read. */
export async function readTable(ctx: TableSourceContext, req: SourceReadRequest): Promise<LazyRead> {
  const { spec, mode } = req
  const { plan, filter, watermark } = await planTable(ctx, req)
  const overlap = watermark ? overlapOf(ctx, watermark) : 0
  let since: Condition = []
  let previous: TablePosition | undefined
  // A DELTA_INIT's position is fixed before any row is read (split-init.ts, §C.7): a partition of a
  // split init gets the run's start; an unsplit one searches its own now, so no change made while it
  // reads can be stamped below the position it commits.
  const fixed =
    mode === 'DELTA_INIT' && watermark
      ? req.position
        ? decodePosition(req.position, plan.table, watermark, overlap)
        : await findInitStart(ctx, { plan, filter, watermark }, overlap, req.signal)
      : undefined
  if (mode === 'DELTA') {
    if (!req.position) throw new SourceError('DELTA_POSITION_LOST', 'a DELTA read needs the stored position; run a DELTA_INIT')
    previous = decodePosition(req.position, plan.table, watermark!, overlap)
    since = sinceCondition(watermark!, previous.watermark ? lowerBound(watermark!, previous.watermark, overlap) : initialOf(watermark!))
  }
  const pager = new TablePager(ctx, plan, [...andFilter(and(filter, keyRangeCondition(spec.keyRange)), since)], spec.pageSize)
  ctx.log('info', 'TABLE_RFC read planned', {
    table: plan.table,
    mode,
    fields: plan.fields.length,
    groups: plan.groups.length,
    keys: plan.keys.map((k) => k.name),
    since: previous?.watermark,
  })
  const delta =
    mode !== 'FULL' && watermark
      ? new DeltaTracker({ table: plan.table, watermark, fields: plan.fields, overlap, previous, fixed, now: ctx.now })
      : undefined
  return lazyRead({ columns: plan.fields.map(columnOf), produce: () => tablePages({ ctx, req, plan, pager, delta }) })
}

/**
 * Ranges of the table's first key field (the client excluded: one client is visible per logon),
 * found with one-row, one-field RFC_READ_TABLE probes under the pipeline's WHERE (§C.1). Numeric key
 * fields are not cut: their literals and order differ from the character keys the ranges assume.
 */
export async function tableKeyRanges(ctx: TableSourceContext, spec: SourceSpec, parts: number, signal: AbortSignal): Promise<KeyRangePlan> {
  const { plan, filter } = await planTable(ctx, { spec, mode: 'FULL', signal })
  const key = plan.keys.find((k) => k.sourceType.toUpperCase() !== 'CLNT')
  if (!key || (key.kind !== 'numc' && key.kind !== 'char'))
    return { ranges: [{}], note: `${plan.table} has no character key field to split on; read as one partition` }
  const sample = (r: KeyRange) => firstValue(ctx, plan.table, key.name, and(filter, keyRangeCondition({ field: key.name, ...r })), signal)
  const first = await sample({})
  if (first === undefined) return { field: key.name, ranges: [{}] }
  return { field: key.name, ranges: await planKeyRanges(domainOf(first), parts, async (r) => (await sample(r)) !== undefined, first) }
}

/**
 * A TABLE_RFC DELTA_INIT split into partitions (split-init.ts): the highest watermark the table holds
 * now, found before any partition reads, as the start every partition reads from; and how their ends
 * make the run's one position.
 */
export async function splitTableInit(ctx: TableSourceContext, spec: SourceSpec, signal: AbortSignal): Promise<SplitInit> {
  const read = await planTable(ctx, { spec, mode: 'DELTA_INIT', signal })
  const { watermark } = read
  if (!watermark) throw new SourceError('SOURCE_BAD_REQUEST', 'a TABLE_RFC delta initialisation needs a watermarkField')
  const start = await findInitStart(ctx, { ...read, watermark }, overlapOf(ctx, watermark), signal)
  ctx.log('info', 'TABLE_RFC delta initialisation split: start fixed before the partitions read', {
    table: read.plan.table,
    watermark: start.watermark,
  })
  return { start: encodePosition(start), token: start.watermark, join: (ends) => joinInitEnds(start, watermark, ends) }
}

/**
 * Where a DELTA_INIT's position stands, split or not: the highest watermark the table holds under the
 * pipeline's filter before any row is read (`highestWatermark`, one-row probes), with no fingerprints yet.
 */
async function findInitStart(
  ctx: TableSourceContext,
  { plan, filter, watermark }: TableReadPlan & { watermark: Watermark },
  overlap: number,
  signal: AbortSignal,
): Promise<TablePosition> {
  const field = watermark.fields[0].name
  const highest = await highestWatermark(
    watermarkSteps(watermark, (ctx.now ?? (() => new Date()))()),
    searchPrecision(watermark, overlap),
    async (from, before) =>
      (await firstValue(
        ctx,
        plan.table,
        field,
        and(filter, and(sinceCondition(watermark, from), beforeCondition(watermark, before))),
        signal,
      )) !== undefined,
  )
  return initStart(plan.table, watermark, overlap, highest)
}

/** The first value of `field` among the rows `cond` selects, or undefined when there are none: a one-row, one-field call (§C.1). */
async function firstValue(
  ctx: TableSourceContext,
  table: string,
  field: string,
  cond: Condition,
  signal: AbortSignal,
): Promise<string | undefined> {
  const res = await ctx.pool.call(
    READ_TABLE,
    {
      QUERY_TABLE: table,
      DELIMITER: '',
      NO_DATA: '',
      ROWSKIPS: 0,
      ROWCOUNT: 1,
      FIELDS: [{ FIELDNAME: field }],
      OPTIONS: optionLines(cond).map((TEXT) => ({ TEXT })),
    },
    { signal, timeout: ctx.timeout, what: `table ${table}`, retries: ctx.retries ?? 2, backoffMs: ctx.backoffMs, log: ctx.log },
  )
  const data = Array.isArray(res['DATA']) ? (res['DATA'] as Array<Record<string, unknown>>) : []
  return data.length ? String(data[0]['WA'] ?? '').trimEnd() : undefined
}

/** A partition's key range as WHERE (§C.6): character keys compare as SAP stores them, blank-padded. */
function keyRangeCondition(range: FieldKeyRange | undefined): Condition {
  return and(
    range?.from !== undefined ? [range.field, '>=', literal(range.from)] : undefined,
    range?.to !== undefined ? [range.field, '<', literal(range.to)] : undefined,
  )
}

/** The overlap window of watermark deltas (§C.7): the connection's, or 1 day for dates, 1 hour for timestamps. */
const overlapOf = (ctx: TableSourceContext, w: Watermark): number => ctx.overlapSeconds ?? (w.kind === 'date' ? 86_400 : 3_600)

interface TableReadPlan {
  plan: TablePlan
  /** The user's WHERE, as tokens. */
  filter: Condition
  watermark?: Watermark
}

/** The fields, column groups, filter and watermark of a read, checked against SAP's dictionary. */
async function planTable(ctx: TableSourceContext, { spec, mode, signal }: SourceReadRequest): Promise<TableReadPlan> {
  if (!spec.table) throw new SourceError('SOURCE_BAD_REQUEST', 'a TABLE_RFC source needs a table')
  requirePageSize('pageSize', spec.pageSize)
  const meta = await describeTable(ctx.pool, spec.table, {
    signal,
    timeout: ctx.timeout,
    log: ctx.log,
    retries: ctx.retries ?? 2,
    backoffMs: ctx.backoffMs,
  })
  const watermark = spec.watermarkField ? resolveWatermark(spec.watermarkField, new Map(meta.fields.map((f) => [f.name, f]))) : undefined
  if (mode !== 'FULL' && !watermark)
    throw new SourceError(
      'SOURCE_BAD_REQUEST',
      `${mode} of table ${meta.table} needs a watermark field (a change date or timestamp such as AEDAT); RFC_READ_TABLE has no change queue`,
    )
  const fields = selectFields(meta, spec.fields, watermark, ctx.log)
  const kinds = new Map<string, AbapKind>(meta.fields.map((f) => [f.name, f.kind]))
  const filter = spec.filter?.trim() ? parseWhere(spec.filter, kinds) : []
  const keys = fields.filter((f) => f.key)
  const groups = planColumnGroups(
    fields.map((f) => ({ name: f.name, width: f.length })),
    keys.map((f) => f.name),
  )
  return { plan: { table: meta.table, fields, keys, groups }, filter, watermark }
}

interface TablePages {
  ctx: TableSourceContext
  req: SourceReadRequest
  plan: TablePlan
  pager: TablePager
  /** DELTA_INIT and DELTA. */
  delta?: DeltaTracker
}

/** The pages of the read: converted rows, without those a DELTA delivered before. */
async function* tablePages({ ctx, req, plan, pager, delta }: TablePages): AsyncGenerator<SourcePage, SourceReadEnd> {
  const convert = rowConverter(plan.fields, plan.keys)
  let rowsOut = 0
  for await (const page of pager.pages(req.signal)) {
    const out: Row[] = []
    for (const raw of page) if (!delta?.repeated(raw)) out.push(convert(raw, rowsOut + out.length))
    rowsOut += out.length
    if (out.length > 0) yield { rows: out }
  }
  ctx.log('info', 'TABLE_RFC read finished', {
    table: plan.table,
    mode: req.mode,
    rows: rowsOut,
    skippedAsDelivered: delta?.skipped ?? 0,
    calls: pager.calls,
  })
  return delta?.end() ?? {}
}

function andFilter(filter: Condition, since: Condition): Condition {
  if (filter.length === 0) return since
  if (since.length === 0) return filter
  return ['(', ...filter, ')', 'AND', '(', ...since, ')']
}

/**
 * "Any set watermark": rows whose watermark is still initial are not part of deltas. A date starts at
 * 0001-01-01: year 0000 is no date in ABAP, and SAP refuses the literal (SAPSQL_DATA_LOSS, §C.6).
 */
function initialOf(w: Watermark): string {
  if (w.kind === 'date') return '00010101'
  if (w.kind === 'date+time') return '00010101000000'
  const f = w.fields[0]
  return '00000000000001' + (f.kind === 'packed' && f.decimals > 0 ? '.' + '0'.repeat(f.decimals) : '')
}

/**
 * Why RFC_READ_TABLE cannot deliver a field's value whole (§C.3), or undefined when it can. RAW: the
 * module moves the bytes into a character slot of DDIC LENG places, and hex needs two per byte, so
 * only the first half arrives (observed for RAW 8 and RAW 16 fields) — a value we must not pass off
 * as complete.
 */
function unreadable(f: RfcField): string | undefined {
  if (f.kind === 'unsupported') return 'strings make RFC_READ_TABLE dump'
  if (f.kind === 'raw')
    return `RFC_READ_TABLE writes its ${f.length} bytes as hex into ${f.length} characters, so only the first half arrives`
  return undefined
}

/**
 * Requested fields + key + watermark, in table order. Fields RFC_READ_TABLE cannot read whole (see
 * {@link unreadable}) are refused, naming them, whether named or implied by reading all fields:
 * dropping a column silently would look like a complete copy.
 */
function selectFields(meta: TableMeta, wanted: string[] | undefined, w: Watermark | undefined, log: SapLog): RfcField[] {
  const names = new Set(meta.fields.map((f) => f.name))
  let chosen = meta.fields
  if (wanted && wanted.length > 0) {
    const upper = wanted.map((n) => n.trim().toUpperCase())
    const unknown = upper.filter((n) => !names.has(n))
    if (unknown.length > 0)
      throw new SourceError(
        'SOURCE_BAD_REQUEST',
        `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} in table ${meta.table}`,
      )
    const set = new Set([...upper, ...meta.keys, ...(w?.fields.map((f) => f.name) ?? [])])
    chosen = meta.fields.filter((f) => set.has(f.name))
  }
  const bad = chosen.filter((f) => unreadable(f) !== undefined)
  if (bad.length > 0) {
    const list = bad.map((f) => `${f.name} (${f.sourceType}${f.key ? ', key' : ''}): ${unreadable(f)}`).join('; ')
    const way = bad.some((f) => f.key || w?.fields.includes(f))
      ? 'a key or watermark field cannot be left out, so read this table over ODP instead'
      : wanted && wanted.length > 0
        ? 'remove it from `fields`'
        : `list the fields to read in \`fields\`, without ${bad.length > 1 ? 'these' : 'it'}`
    throw new SourceError('SOURCE_BAD_REQUEST', `table ${meta.table}: ${list}; ${way}`)
  }
  const floats = chosen.filter((f) => f.kind === 'float').map((f) => f.name)
  // FLTP's slot has 16 characters: ' 6.000000000E+02' keeps 10 significant digits of a double's 15-17.
  if (floats.length > 0) log('warn', 'RFC_READ_TABLE rounds FLTP fields to 10 significant digits', { table: meta.table, fields: floats })
  return chosen
}

/** Converts joined raw rows; a value that does not fit names its column, row and key. */
function rowConverter(fields: RfcField[], keys: RfcField[]): (raw: RawRow, rowNo: number) => Row {
  const converters = fields.map(textConverter)
  return (raw, rowNo) => {
    const row: Row = new Array(fields.length)
    for (let i = 0; i < fields.length; i++) {
      try {
        row[i] = converters[i](raw.texts[i] ?? '')
      } catch (e) {
        if (!(e instanceof ValueError)) throw e
        const key = keys.map((k) => `${k.name}=${(raw.texts[fields.indexOf(k)] ?? '').trim()}`).join(', ')
        const column = `column ${fields[i].name} (${fields[i].sourceType})`
        throw badValue({ column, row: rowNo + 1, key, value: JSON.stringify(raw.texts[i]?.trim()), reason: e.message })
      }
    }
    return row
  }
}
