/**
 * GET on an ODP entity set: decides between continuing a paged read ($skiptoken), a delta fetch
 * (!deltatoken or DeltaLinksOf…/ChangesAfter), a delta initialisation (Prefer: odata.track-changes) and a
 * full read (A.6.2–A.6.4), materialises the read and serves its first page.
 */
import type { Subscription } from '../data/subscriptions.js'
import type { EntityDef } from '../model/fields.js'
import { allProperties } from '../model/fields.js'
import { tableOf } from '../state.js'
import type { RequestContext } from './context.js'
import { countCursor, countTableRows, deltaCursor, PageCursor, tableCursor } from './cursors.js'
import { badRequest, extractionOpen, invalidToken, MSG, SapHttpError } from './errors.js'
import type { CompiledFilter } from './filter.js'
import { compileFilter } from './filter.js'
import { servePage } from './pages.js'
import type { Preferences, Selection } from './query.js'
import { parsePrefer, requireJson, resolveSelect } from './query.js'
import type { OpenRead } from './reads.js'
import { decodeSkiptoken } from './reads.js'
import { compileRowWriter } from './serialize.js'

interface ParsedSelection {
  selection: Selection
  filter?: CompiledFilter
  selectRaw?: string
  filterRaw?: string
}

function parseSelection(def: EntityDef, select: string | undefined, filter: string | undefined): ParsedSelection {
  const props = allProperties(def)
  const selection = resolveSelect(select, props)
  const compiled = filter !== undefined && filter.trim() !== '' ? compileFilter(filter, props, def.keyFields[0]) : undefined
  return {
    selection,
    filter: compiled,
    selectRaw: selection.canonical === '' ? undefined : select,
    filterRaw: compiled ? filter : undefined,
  }
}

function baseRead(
  ctx: RequestContext,
  def: EntityDef,
  prefs: Preferences,
  sel: ParsedSelection,
): Omit<OpenRead, 'kind' | 'cursor' | 'total' | 'snapshotSeq'> {
  const { state, query } = ctx
  const variants = { ...state.variants }
  return {
    id: state.reads.newId(),
    def,
    user: ctx.user,
    writeRow: compileRowWriter(def, sel.selection.fields, {
      serviceRoot: ctx.serviceRoot,
      namespace: state.service,
      escapeSlashes: variants.escapedDateSlashes,
    }),
    delivered: 0,
    pageSize: prefs.maxPageSize,
    trackChangesRequested: prefs.trackChanges,
    nextPage: 1,
    dataDone: false,
    variants,
    selection: sel.selection,
    selectRaw: sel.selectRaw,
    filterRaw: sel.filterRaw,
    inlineCount: query.inlinecount === 'allpages',
    sapClient: query.sapClient,
    serviceRoot: ctx.serviceRoot,
    busy: false,
    generation: 0,
    closed: false,
  }
}

function noClientPaging(ctx: RequestContext): void {
  if (ctx.query.top !== undefined || ctx.query.skip !== undefined) {
    throw badRequest('$top and $skip are not supported on change-tracked (delta) reads; use Prefer: odata.maxpagesize')
  }
}

async function startFull(ctx: RequestContext, def: EntityDef, prefs: Preferences): Promise<void> {
  const { query } = ctx
  const table = tableOf(ctx.state, def.name)
  const sel = parseSelection(def, query.select, query.filter)
  const snap = table.snapshot()
  const skip = query.skip ?? 0
  const top = query.top ?? Number.POSITIVE_INFINITY
  const total = Math.min(Math.max(0, countTableRows(table, snap, sel.filter, skip + top) - skip), top)
  const read: OpenRead = {
    ...baseRead(ctx, def, { trackChanges: false, maxPageSize: prefs.maxPageSize }, sel),
    kind: 'full',
    cursor: new PageCursor(tableCursor(table, snap, sel.filter, skip)),
    total,
    snapshotSeq: snap.seq,
  }
  ctx.state.reads.add(read)
  await servePage(ctx, read)
}

async function startInit(ctx: RequestContext, def: EntityDef, prefs: Preferences): Promise<void> {
  const { state, query } = ctx
  noClientPaging(ctx)
  const table = tableOf(state, def.name)
  const sel = parseSelection(def, query.select, query.filter)
  const existing = state.subs.get(ctx.user, state.service, def.name)
  if (existing && state.reads.holds(existing)) throw extractionOpen()
  if (existing && state.variants.subscriptionConflict === 'error') {
    throw new SapHttpError(
      400,
      MSG.subscriptionExists,
      `User ${ctx.user} already has a delta subscription to ${state.service}/${def.name}; terminate it with TerminateDeltasFor${def.name} first`,
    )
  }
  const sub = state.subs.create({
    user: ctx.user,
    service: state.service,
    entitySet: def.name,
    select: sel.selection.canonical,
    filter: sel.filter?.canonical ?? '',
    selectRaw: sel.selectRaw,
    filterRaw: sel.filterRaw,
  })
  const snap = table.snapshot()
  const read: OpenRead = {
    ...baseRead(ctx, def, prefs, sel),
    kind: 'init',
    sub,
    cursor: new PageCursor(tableCursor(table, snap, sel.filter)),
    total: countTableRows(table, snap, sel.filter),
    snapshotSeq: snap.seq,
  }
  state.reads.add(read)
  await servePage(ctx, read)
}

/** A delta's $select/$filter must be absent or the subscription's own ("Illegal change in selection parameters"). */
function checkSelection(ctx: RequestContext, def: EntityDef, sub: Subscription): ParsedSelection {
  const { query } = ctx
  const subSel = parseSelection(def, sub.selectRaw, sub.filterRaw)
  if (query.select !== undefined && resolveSelect(query.select, allProperties(def)).canonical !== sub.select) {
    throw badRequest('Illegal change in selection parameters ($select differs from the subscription)', MSG.selectionChanged)
  }
  if (query.filter !== undefined) {
    const canonical = query.filter.trim() === '' ? '' : compileFilter(query.filter, allProperties(def)).canonical
    if (canonical !== sub.filter)
      throw badRequest('Illegal change in selection parameters ($filter differs from the subscription)', MSG.selectionChanged)
  }
  return subSel
}

async function startDelta(ctx: RequestContext, def: EntityDef, token: string, prefs: Preferences): Promise<void> {
  const { state } = ctx
  noClientPaging(ctx)
  const verdict = state.subs.check(token, ctx.user, def.name, state.variants)
  if (!verdict.ok) throw invalidToken(token, state.variants.expiredTokenStatus)
  const rec = verdict.rec
  const sub = rec.sub
  const sel = checkSelection(ctx, def, sub)
  if (state.reads.holds(sub)) throw extractionOpen()
  sub.maxUsedSeq = Math.max(sub.maxUsedSeq, rec.seq)
  const table = tableOf(state, def.name)
  const toSeq = state.clock.current
  const read: OpenRead = {
    ...baseRead(ctx, def, prefs, sel),
    kind: 'delta',
    sub,
    inputToken: rec,
    cursor: new PageCursor(deltaCursor(table, rec.position, toSeq, state.variants, sel.filter?.test)),
    total: countCursor(deltaCursor(table, rec.position, toSeq, state.variants, sel.filter?.test)),
    snapshotSeq: toSeq,
  }
  state.reads.add(read)
  await servePage(ctx, read)
}

async function continueRead(ctx: RequestContext, def: EntityDef, skiptoken: string): Promise<void> {
  const decoded = decodeSkiptoken(skiptoken)
  const read = decoded ? ctx.state.reads.get(decoded.readId) : undefined
  if (!decoded || !read || read.def !== def || read.user !== ctx.user || read.busy || read.nextPage !== decoded.page) {
    throw badRequest(
      `Paging position $skiptoken=${skiptoken} is not open: its extraction request ended (error, dropped connection or idle timeout) or the page was already served; restart the read`,
      MSG.pagingClosed,
    )
  }
  await servePage(ctx, read)
}

/**
 * Handles a GET on an ODP entity set. `changesAfterToken` is set for `DeltaLinksOf<ES>('<token>')/ChangesAfter`.
 */
export async function handleDataRead(ctx: RequestContext, def: EntityDef, changesAfterToken?: string): Promise<void> {
  requireJson(ctx.query, ctx.req.headers)
  // ODP delivers in key order and cannot sort [INFERRED, A.7]
  if (ctx.query.orderby !== undefined) throw badRequest("System query option '$orderby' is not supported for ODP entity sets")
  const prefs = parsePrefer(ctx.req.headers)
  if (ctx.query.skiptoken !== undefined) return continueRead(ctx, def, ctx.query.skiptoken)
  const token = changesAfterToken ?? ctx.query.deltatoken
  if (token !== undefined) return startDelta(ctx, def, token, prefs)
  if (prefs.trackChanges) return startInit(ctx, def, prefs)
  return startFull(ctx, def, prefs)
}

/** `<ES>/$count`: the number of rows a full read with this $filter would return, as text. */
export function handleCount(ctx: RequestContext, def: EntityDef): void {
  const table = tableOf(ctx.state, def.name)
  const sel = parseSelection(def, undefined, ctx.query.filter)
  const text = String(countTableRows(table, table.snapshot(), sel.filter))
  ctx.res.writeHead(200, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    dataserviceversion: '2.0',
  })
  ctx.res.end(text)
}
