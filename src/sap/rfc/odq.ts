/**
 * The subscriber's requests in ODQ, through the ODP Data Replication API (docs/sap-protocols.md#b-3):
 * who the subscriber is, which request a DELTA opens (a new delta or the repeat of one a run left
 * open), closing a request and resetting the subscription.
 */
import { createHash } from 'node:crypto'
import { SourceError } from '../errors.js'
import type { SapLog } from '../log.js'
import type { SourceSpec } from '../source.js'
import { checkReturn, ODP_RFC_PREFIX } from './errors.js'
import type { RfcPool } from './pool.js'

export const FM = {
  open: `${ODP_RFC_PREFIX}ODP_OPEN`,
  fetch: `${ODP_RFC_PREFIX}ODP_FETCH`,
  close: `${ODP_RFC_PREFIX}ODP_CLOSE`,
  reset: `${ODP_RFC_PREFIX}ODP_RESET`,
  cursors: `${ODP_RFC_PREFIX}CURSOR_GET_LIST`,
} as const

export interface OdpSourceContext {
  pool: RfcPool
  log: SapLog
  /** Seconds per RFC call. */
  timeout?: number
  /** `I_SUBSCRIBER_TYPE`, as registered in the system (ODQMON); default SAP_BW. */
  subscriberType: string
  /** `I_SUBSCRIBER_NAME`; the subscriber process comes from the pipeline. */
  subscriberName: string
  /** `I_MAXPACKAGESIZE` floor in bytes; SAP will not go below 50 MB anyway (§B.3). */
  maxPackageBytes?: number
}

/** What a committed ODP_RFC run leaves behind for the next DELTA. */
export interface OdpPosition {
  v: 1
  kind: 'ODP_RFC'
  context: string
  odp: string
  subscriberType: string
  subscriberName: string
  process: string
  /** `E_POINTER` of the request the run read (closed by `confirm`). */
  pointer: string
}

/**
 * `I_SUBSCRIBER_PROCESS` for a pipeline: CHAR 32 of `[A-Z0-9_]` (§B.3). A subscriber that already
 * fits is used as it is (upper-cased); anything else is cleaned, cut and suffixed with a hash of the
 * original, so it stays stable across runs and distinct between pipelines.
 */
export function subscriberProcess(subscriber: string): string {
  const s = subscriber.trim()
  if (s === '') throw new SourceError('SOURCE_BAD_REQUEST', 'an ODP_RFC source needs a subscriber (the pipeline id)')
  const clean = s.toUpperCase().replace(/[^A-Z0-9_]/g, '_')
  if (clean === s.toUpperCase() && clean.length <= 32) return clean
  const hash = createHash('sha256').update(s).digest('hex').slice(0, 8).toUpperCase()
  return `${clean.slice(0, 23)}_${hash}`
}

/** The ODP and the subscriber process a pipeline reads it as. */
export interface Target {
  context: string
  odp: string
  process: string
}

export function targetOf(spec: SourceSpec): Target {
  if (!spec.odpContext || !spec.odpName)
    throw new SourceError('SOURCE_BAD_REQUEST', 'an ODP_RFC source needs odpContext (e.g. SAPI, ABAP_CDS) and odpName')
  return {
    context: spec.odpContext.trim().toUpperCase(),
    odp: spec.odpName.trim().toUpperCase(),
    process: subscriberProcess(spec.subscriber),
  }
}

export function subscriberParams(ctx: OdpSourceContext, t: Target): Record<string, string> {
  return {
    I_SUBSCRIBER_TYPE: ctx.subscriberType,
    I_SUBSCRIBER_NAME: ctx.subscriberName,
    I_SUBSCRIBER_PROCESS: t.process,
    I_CONTEXT: t.context,
    I_ODPNAME: t.odp,
  }
}

export const str = (v: unknown): string => String(v ?? '').trim()

export async function closePointer(ctx: OdpSourceContext, pointer: string, what: string, signal: AbortSignal): Promise<void> {
  const res = await ctx.pool.call(FM.close, { I_POINTER: pointer }, { signal, timeout: ctx.timeout, what, log: ctx.log })
  checkReturn(res['ET_RETURN'], { functionModule: FM.close, what, secrets: ctx.pool.secrets })
}

interface Cursor {
  pointer: string
  closed: boolean
  /** F, D or R; '' when ET_PROCESS has no EXTRACTION_MODE column (§B.1 names only POINTER, SUBSCRIBER_PROC, CLOSED). */
  mode: string
}

/**
 * Order of two pointers. They are TSNs (ODQ_TSN, DEC 23,9, §0), which sort as numbers: compared by
 * integer and fraction digits, not as text, so a shorter rendering never sorts wrongly. Anything else
 * falls back to text order.
 */
export function comparePointers(a: string, b: string): number {
  const num = /^(\d+)(?:\.(\d+))?$/
  const x = num.exec(a)
  const y = num.exec(b)
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0
  const [xi, yi] = [x[1].replace(/^0+(?=\d)/, ''), y[1].replace(/^0+(?=\d)/, '')]
  if (xi.length !== yi.length) return xi.length - yi.length
  if (xi !== yi) return xi < yi ? -1 : 1
  const width = Math.max(x[2]?.length ?? 0, y[2]?.length ?? 0)
  const [xf, yf] = [(x[2] ?? '').padEnd(width, '0'), (y[2] ?? '').padEnd(width, '0')]
  return xf < yf ? -1 : xf > yf ? 1 : 0
}

/** Requests of this subscriber process, oldest first; undefined without RODPS_REPL_CURSOR_GET_LIST. */
export async function cursors(ctx: OdpSourceContext, t: Target, signal: AbortSignal): Promise<Cursor[] | undefined> {
  let res: Record<string, unknown>
  const what = `${t.odp}, process ${t.process}`
  try {
    // I_EXTRACTION_MODE blank: requests of every mode — a repeat (R) left open must be seen too.
    res = await ctx.pool.call(
      FM.cursors,
      { ...subscriberParams(ctx, t), I_EXTRACTION_MODE: '' },
      { signal, timeout: ctx.timeout, what, log: ctx.log },
    )
  } catch (e) {
    if (e instanceof SourceError && e.sapCode === 'FU_NOT_FOUND') return undefined
    throw e
  }
  checkReturn(res['ET_RETURN'], { functionModule: FM.cursors, what, secrets: ctx.pool.secrets })
  const list = Array.isArray(res['ET_PROCESS']) ? (res['ET_PROCESS'] as Record<string, unknown>[]) : []
  return list
    .filter((p) => !str(p['SUBSCRIBER_PROC']) || str(p['SUBSCRIBER_PROC']) === t.process)
    .map((p) => ({ pointer: str(p['POINTER']), closed: str(p['CLOSED']) === 'X', mode: str(p['EXTRACTION_MODE']) }))
    .filter((c) => c.pointer !== '')
    .sort((a, b) => comparePointers(a.pointer, b.pointer))
}

/**
 * D or R for a DELTA from the stored position (the request the last committed run read):
 * - no requests at all: the subscription is gone (reset in ODQMON or by another tool) — opening D
 *   would silently start a new init, so the position is reported lost;
 * - the stored request still open: the run committed but its confirm did not get through — close it
 *   now, then D;
 * - another request open: a run read it and did not commit — repeat it with R;
 * - all closed, and exactly one delta request after the stored one: an explicit recovery of the last
 *   committed delta (the orchestrator passes the position it started from) — R repeats it; more than
 *   one in between cannot be repeated any more;
 * - otherwise D (the changes since the last confirmed request).
 * Pointers are TSNs, so they sort in time order (see {@link comparePointers}).
 *
 * The explicit-recovery rule counts delta requests, and only EXTRACTION_MODE tells a delta from a
 * repeat of it — a column §B.1 does not name, so it may be missing or blank. Without it the client
 * does not guess: exactly one request after the stored one is safe whatever its mode (R repeats
 * precisely that request); with several, "one delta plus its repeats" (R would be right) cannot be
 * told from "several deltas" (R would skip the earlier ones, D would double the later ones), so the
 * position is reported lost and a DELTA_INIT asked for.
 */
export interface DeltaRequest {
  t: Target
  previous: OdpPosition
  what: string
  signal: AbortSignal
}

export async function deltaMode(ctx: OdpSourceContext, { t, previous, what, signal }: DeltaRequest): Promise<'D' | 'R'> {
  const list = await cursors(ctx, t, signal)
  if (list === undefined) return 'D'
  if (list.length === 0) {
    throw new SourceError(
      'DELTA_POSITION_LOST',
      `ODQ has no requests of subscriber process ${t.process} for ${t.context}/${t.odp} (the subscription was reset or deleted); run a DELTA_INIT`,
    )
  }
  const open = list.filter((c) => !c.closed)
  if (open.some((c) => c.pointer === previous.pointer)) {
    await closePointer(ctx, previous.pointer, what, signal)
    ctx.log('warn', 'closed the request of the last committed run, whose confirm had not arrived', {
      odp: t.odp,
      pointer: previous.pointer,
    })
    return open.length > 1 ? 'R' : 'D'
  }
  if (open.length > 0) return 'R'
  const later = list.filter((c) => comparePointers(c.pointer, previous.pointer) > 0)
  if (later.length === 0) return 'D'
  if (later.length === 1) return 'R'
  if (later.some((c) => c.mode === '')) {
    throw new SourceError(
      'DELTA_POSITION_LOST',
      `the stored position ${previous.pointer} is ${later.length} requests behind subscriber process ${t.process}, and ODQ does not say which of them are repeats (RODPS_REPL_CURSOR_GET_LIST without EXTRACTION_MODE); repeating or skipping could lose or double changes; run a DELTA_INIT`,
    )
  }
  const deltas = later.filter((c) => c.mode !== 'R')
  if (deltas.length === 1) return 'R'
  if (deltas.length > 1) {
    throw new SourceError(
      'DELTA_POSITION_LOST',
      `the stored position ${previous.pointer} is ${deltas.length} delta requests behind subscriber process ${t.process}; ODQ can repeat only the last one; run a DELTA_INIT`,
    )
  }
  return 'D'
}

/** RODPS_REPL_ODP_RESET: ends the subscription of the process (§B.1); `quiet` tolerates "none exists". */
export async function resetSubscription(ctx: OdpSourceContext, t: Target, signal: AbortSignal, quiet = false): Promise<void> {
  const res = await ctx.pool.call(FM.reset, subscriberParams(ctx, t), {
    signal,
    timeout: ctx.timeout,
    what: `${t.odp}, process ${t.process}`,
    log: ctx.log,
  })
  try {
    checkReturn(res['ET_RETURN'], { functionModule: FM.reset, what: `${t.odp}, process ${t.process}`, secrets: ctx.pool.secrets })
  } catch (e) {
    if (!(quiet && e instanceof SourceError && e.code === 'SOURCE_NOT_FOUND')) throw e
  }
  ctx.log('info', 'ODP subscription reset', { odp: t.odp, process: t.process })
}
