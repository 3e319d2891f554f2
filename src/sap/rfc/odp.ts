/**
 * ODP_RFC: ODP extraction through the ODP Data Replication API (docs/sap-protocols.md §B). LEGACY: SAP
 * Note 3255746 does not permit these modules for third-party tools and patched systems refuse them
 * (§B.7); every refusal is reported as SOURCE_FORBIDDEN pointing to ODP over OData.
 *
 * One read = one ODQ request: OPEN (F full, D delta — the delta init when the subscriber process has
 * none yet —, R repeat of the last delta request), FETCH until E_NO_MORE_DATA, and CLOSE only in
 * `confirm()`, i.e. after the run committed (§B.3, docs/architecture.md#rule-1). A run that fails or is
 * cancelled leaves its request open; the next DELTA finds it with RODPS_REPL_CURSOR_GET_LIST and
 * repeats it with mode R, so nothing is lost or delivered twice.
 *
 * Position (opaque JSON, see {@link OdpPosition}): the subscriber identity and the pointer of the
 * request the committed run read. The token shown to people is that pointer (a TSN).
 */
import { SourceError } from '../errors.js'
import { lazyRead, requirePageSize, type LazyRead } from '../lazy-read.js'
import type { SourcePage, SourceReadEnd, SourceReadMode, SourceReadRequest, SourceSpec } from '../source.js'
import { checkReturn, type RfcErrorContext } from './errors.js'
import type { RawLine } from './fragments.js'
import { odpColumns, OdpLayout, readOdpFields, type OdpField, type OdpFieldsInfo } from './odp-fields.js'
import { parseSelection, type SelectionRow } from './odp-selection.js'
import {
  closePointer,
  cursors,
  deltaMode,
  FM,
  resetSubscription,
  str,
  subscriberParams,
  targetOf,
  type OdpPosition,
  type OdpSourceContext,
  type Target,
} from './odq.js'
import { rfcCall } from './pool.js'
import type { RfcClient } from './rfc-client.js'

export type { OdpPosition, OdpSourceContext }

export type OdpRead = LazyRead & { confirm(signal: AbortSignal): Promise<void> }

export async function readOdp(ctx: OdpSourceContext, req: SourceReadRequest): Promise<OdpRead> {
  const request = new OdpRequest(ctx, await planOdp(ctx, req), req.signal)
  const read = lazyRead({ columns: odpColumns(request.plan.delivered), produce: () => request.pages(), onAbandon: () => request.abandon() })
  return { ...read, confirm: (signal) => request.confirm(signal) }
}

/** What one read asks ODQ for, checked against the ODP's fields before anything is opened. */
interface OdpPlan {
  t: Target
  mode: SourceReadMode
  pageSize: number
  delivered: OdpField[]
  /** The pipeline names its fields: send them as IT_PROJECTION. */
  projected: boolean
  selection: SelectionRow[]
  /** DELTA: the request the last committed run read. */
  previous?: OdpPosition
  /** The ODP and subscriber process, for messages and logs. */
  what: string
}

async function planOdp(ctx: OdpSourceContext, { spec, mode, position, signal }: SourceReadRequest): Promise<OdpPlan> {
  const t = targetOf(spec)
  requirePageSize('pageSize', spec.pageSize)
  const info = await readOdpFields(ctx, t.context, t.odp, signal)
  if (mode !== 'FULL' && !info.deltaCapable)
    throw new SourceError('SOURCE_BAD_REQUEST', `ODP ${t.context}/${t.odp} has no delta (GET_DETAIL E_DELTA is blank); read it FULL`)
  return {
    t,
    mode,
    pageSize: spec.pageSize,
    delivered: info.select(spec.fields),
    projected: !!spec.fields?.length,
    selection: spec.filter?.trim() ? parseSelection(spec.filter, info) : [],
    previous: mode === 'DELTA' ? decodeOdpPosition(position, t, ctx) : undefined,
    what: `${t.context}/${t.odp}, process ${t.process}`,
  }
}

type Extraction = 'F' | 'D' | 'R'

/**
 * One ODQ request: OPEN, FETCH until E_NO_MORE_DATA over one connection held for the whole read, and
 * CLOSE only in confirm(), after the run committed (§B.3).
 */
class OdpRequest {
  private pointer: string | undefined
  private completed = false
  private closed = false

  constructor(
    private readonly ctx: OdpSourceContext,
    readonly plan: OdpPlan,
    private readonly signal: AbortSignal,
  ) {}

  async *pages(): AsyncGenerator<SourcePage, SourceReadEnd> {
    const { ctx, signal } = this
    const extraction = await this.extractionMode()
    // Delta-type requests (D, the init included, and R) carry the ODQ fields (§B.4); a row that lacks
    // them ends in 0x00 padding and decodes as blank / 0, so expecting them is the safe side.
    const layout = new OdpLayout(this.plan.delivered, extraction !== 'F')
    const client = await ctx.pool.acquire(signal, ctx.log)
    let broken = false
    try {
      const pointer = (this.pointer = await this.open(client, extraction, layout))
      yield* this.fetchAll(client, pointer, layout)
      this.completed = true
      return this.end(pointer)
    } catch (e) {
      broken = signal.aborted || (e instanceof SourceError && e.code === 'SOURCE_UNAVAILABLE')
      throw e
    } finally {
      ctx.pool.release(client, broken, ctx.log)
    }
  }

  /** A failed FULL leaves nothing worth keeping; a failed delta keeps its request open for mode R. */
  async abandon(): Promise<void> {
    if (this.plan.mode === 'FULL' && this.pointer && !this.closed)
      await closePointer(this.ctx, this.pointer, this.plan.what, new AbortController().signal).catch(() => undefined)
  }

  async confirm(signal: AbortSignal): Promise<void> {
    const { ctx, plan, pointer } = this
    // Closing a request that was not read to the end would drop the rest of it from ODQ.
    if (!this.completed)
      throw new SourceError('SOURCE_BAD_REQUEST', `confirm() of ${plan.what} before its read ended; the request stays open for a repeat`)
    if (!pointer || this.closed) return
    await closePointer(ctx, pointer, plan.what, signal)
    this.closed = true
    ctx.log('info', 'ODP request closed (confirmed)', { odp: plan.t.odp, process: plan.t.process, pointer })
  }

  private async extractionMode(): Promise<Extraction> {
    const { ctx, plan, signal } = this
    if (plan.mode === 'FULL') return 'F'
    if (plan.mode === 'DELTA_INIT') {
      // A fresh init: drop whatever subscription this process had (a failed earlier init included).
      await resetSubscription(ctx, plan.t, signal, true)
      return 'D'
    }
    return deltaMode(ctx, { t: plan.t, previous: plan.previous!, what: plan.what, signal })
  }

  /** RODPS_REPL_ODP_OPEN; returns the request's pointer. */
  private async open(client: RfcClient, extraction: Extraction, layout: OdpLayout): Promise<string> {
    const { ctx, plan } = this
    const res = await this.call(client, FM.open, {
      ...subscriberParams(ctx, plan.t),
      I_EXTRACTION_MODE: extraction,
      I_EXPLICIT_CLOSE: 'X',
      I_MAXPACKAGESIZE: this.packageBytes(layout),
      ...(plan.projected ? { IT_PROJECTION: plan.delivered.map((f) => ({ FIELDNAME: f.name })) } : {}),
      ...(plan.selection.length ? { IT_SELECTIONS: plan.selection } : {}),
    })
    checkReturn(res['ET_RETURN'], this.errorContext(FM.open), (_l, text) =>
      // §B.5: a subscription keeps the selection it was initialised with.
      /illegal change in selection/i.test(text) ? 'SOURCE_BAD_REQUEST' : undefined,
    )
    const pointer = str(res['E_POINTER'])
    if (!pointer) throw new SourceError('SOURCE_PROTOCOL', `${FM.open} returned no E_POINTER for ${plan.what}`)
    ctx.log('info', 'ODP request opened', {
      odp: plan.t.odp,
      process: plan.t.process,
      mode: extraction,
      pointer,
      repeats: extraction === 'R' ? plan.previous?.pointer : undefined,
    })
    return pointer
  }

  /** RODPS_REPL_ODP_FETCH until the last package, each cut into pages of `pageSize` rows. */
  private async *fetchAll(client: RfcClient, pointer: string, layout: OdpLayout): AsyncGenerator<SourcePage> {
    const { ctx, plan } = this
    let pkg = ''
    let rows = 0
    for (let n = 1; ; n++) {
      const f = await this.call(client, FM.fetch, { I_POINTER: pointer, I_PACKAGE: pkg, I_MAXPACKAGESIZE: this.packageBytes(layout) })
      checkReturn(f['ET_RETURN'], this.errorContext(FM.fetch))
      const data = Array.isArray(f['ET_DATA']) ? (f['ET_DATA'] as RawLine[]) : []
      const decoded = layout.rows(data, rows)
      rows += decoded.length
      for (let i = 0; i < decoded.length; i += plan.pageSize) yield { rows: decoded.slice(i, i + plan.pageSize) }
      pkg = str(f['E_PACKAGE'])
      // §B.3: until E_NO_MORE_DATA = 'X' (or an empty package, which some releases send last).
      if (str(f['E_NO_MORE_DATA']) === 'X' || data.length === 0) break
      if (n > 1_000_000) throw new SourceError('SOURCE_PROTOCOL', `${FM.fetch} never said E_NO_MORE_DATA`)
    }
    ctx.log('info', 'ODP request read', { odp: plan.t.odp, pointer, rows })
  }

  private end(pointer: string): SourceReadEnd {
    const { ctx, plan } = this
    if (plan.mode === 'FULL') return { token: pointer }
    const { context, odp, process } = plan.t
    const position: OdpPosition = {
      v: 1,
      kind: 'ODP_RFC',
      context,
      odp,
      subscriberType: ctx.subscriberType,
      subscriberName: ctx.subscriberName,
      process,
      pointer,
    }
    return { position: JSON.stringify(position), token: pointer }
  }

  /** OPEN and FETCH of one request go over the one connection the read holds. */
  private call(client: RfcClient, fm: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    return rfcCall(client, fm, params, {
      signal: this.signal,
      timeout: this.ctx.timeout,
      what: this.plan.what,
      secrets: this.ctx.pool.secrets,
    })
  }

  private errorContext(functionModule: string): RfcErrorContext {
    return { functionModule, what: this.plan.what, secrets: this.ctx.pool.secrets }
  }

  /** `I_MAXPACKAGESIZE` for `pageSize` rows. */
  private packageBytes(layout: OdpLayout): number {
    return Math.max(this.ctx.maxPackageBytes ?? 0, this.plan.pageSize * layout.rowBytes)
  }
}

export async function resetOdp(ctx: OdpSourceContext, spec: SourceSpec, signal: AbortSignal): Promise<void> {
  await resetSubscription(ctx, targetOf(spec), signal, true)
}

/**
 * Whether ODQ already has requests of this pipeline's subscriber process for the ODP (RODPS_REPL_CURSOR_GET_LIST):
 * a subscription a DELTA_INIT would reset. Null when there is none, or when the system cannot say.
 */
export async function odpSubscription(ctx: OdpSourceContext, spec: SourceSpec, signal: AbortSignal): Promise<string | null> {
  const t = targetOf(spec)
  const requests = await cursors(ctx, t, signal)
  if (!requests?.length) return null
  return `ODQ already holds a subscription of ${ctx.subscriberType}/${ctx.subscriberName}, process ${t.process}, on ${t.context}/${t.odp} (${requests.length} request(s), newest ${requests.at(-1)!.pointer})`
}

function decodeOdpPosition(text: string | undefined, t: Target, ctx: OdpSourceContext): OdpPosition {
  if (!text?.trim()) throw new SourceError('DELTA_POSITION_LOST', 'a DELTA read needs the stored position; run a DELTA_INIT')
  let p: Partial<OdpPosition>
  try {
    p = text.trim().startsWith('{')
      ? (JSON.parse(text) as Partial<OdpPosition>)
      : { v: 1, kind: 'ODP_RFC', ...t, subscriberType: ctx.subscriberType, subscriberName: ctx.subscriberName, pointer: text.trim() }
  } catch {
    throw new SourceError('DELTA_POSITION_LOST', 'the stored ODP_RFC position is not readable; run a DELTA_INIT')
  }
  if (p.kind !== 'ODP_RFC' || !p.pointer)
    throw new SourceError('DELTA_POSITION_LOST', 'the stored position does not belong to an ODP_RFC pipeline; run a DELTA_INIT')
  if (
    p.context !== t.context ||
    p.odp !== t.odp ||
    p.process !== t.process ||
    p.subscriberType !== ctx.subscriberType ||
    p.subscriberName !== ctx.subscriberName
  ) {
    throw new SourceError(
      'DELTA_POSITION_LOST',
      `the stored position belongs to ${p.context}/${p.odp} (${p.subscriberType}/${p.subscriberName}/${p.process}), the pipeline now reads ${t.context}/${t.odp} (${ctx.subscriberType}/${ctx.subscriberName}/${t.process}); run a DELTA_INIT`,
    )
  }
  return p as OdpPosition
}

export type { OdpFieldsInfo }
