/**
 * The subscription artefacts of an ODP service (A.2, A.6.5, A.6.6): the `DeltaLinksOf<ES>` history the
 * client falls back to when no inline link came, and the `SubscribedTo<ES>` / `TerminateDeltasFor<ES>`
 * function imports.
 */
import type { TokenRec } from '../data/subscriptions.js'
import type { EntityDef } from '../model/fields.js'
import type { RequestContext } from './context.js'
import { sendJson } from './context.js'
import { badRequest, notFound } from './errors.js'
import { requireJson } from './query.js'

function linkEntry(ctx: RequestContext, def: EntityDef, rec: TokenRec): Record<string, unknown> {
  const uri = `${ctx.serviceRoot}/DeltaLinksOf${def.name}('${rec.token}')`
  return {
    __metadata: { id: uri, uri, type: `${ctx.state.service}.DeltaLinksOf${def.name}` },
    DeltaToken: rec.token,
    CreatedAt: `/Date(${rec.createdAt})/`,
    IsInitialLoad: rec.isInitialLoad,
    ChangesAfter: { __deferred: { uri: `${uri}/ChangesAfter` } },
  }
}

/** `DeltaLinksOf<ES>`: the caller's usable tokens, oldest first; `$orderby=CreatedAt desc` and `$top` work. */
export function handleDeltaLinks(ctx: RequestContext, def: EntityDef): void {
  const { state, query } = ctx
  requireJson(query, ctx.req.headers)
  if (query.filter !== undefined) throw badRequest('$filter is not supported on DeltaLinksOf entity sets')
  let links = state.subs.listed(ctx.user, state.service, def.name, state.variants)
  if (query.orderby !== undefined) {
    const m = /^\s*(CreatedAt|DeltaToken)(?:\s+(asc|desc))?\s*$/.exec(query.orderby)
    if (!m) throw badRequest(`Invalid $orderby '${query.orderby}'`)
    links = [...links].sort((a, b) => (m[1] === 'CreatedAt' ? a.createdAt - b.createdAt || a.seq - b.seq : a.token.localeCompare(b.token)))
    if (m[2] === 'desc') links.reverse()
  }
  const total = links.length
  links = links.slice(query.skip ?? 0, (query.skip ?? 0) + (query.top ?? links.length))
  const d: Record<string, unknown> = { results: links.map((rec) => linkEntry(ctx, def, rec)) }
  if (query.inlinecount === 'allpages') d.__count = String(total)
  sendJson(ctx, { d }, state.variants.escapedDateSlashes)
}

/** `DeltaLinksOf<ES>('<token>')`: one entry, 404 when the caller has no such usable token. */
export function handleDeltaLink(ctx: RequestContext, def: EntityDef, token: string): void {
  const { state } = ctx
  requireJson(ctx.query, ctx.req.headers)
  const rec = state.subs.listed(ctx.user, state.service, def.name, state.variants).find((t) => t.token === token)
  if (!rec) throw notFound(`DeltaLinksOf${def.name}('${token}')`)
  sendJson(ctx, { d: linkEntry(ctx, def, rec) }, state.variants.escapedDateSlashes)
}

/** `SubscribedTo<ES>`: whether the calling user holds a subscription. */
export function handleSubscribedTo(ctx: RequestContext, def: EntityDef): void {
  const { state } = ctx
  requireJson(ctx.query, ctx.req.headers)
  const flag = state.subs.get(ctx.user, state.service, def.name) !== undefined
  sendJson(ctx, {
    d: { [`SubscribedTo${def.name}`]: { __metadata: { type: `${state.service}.ChangeTrackingDetails` }, SubscribedFlag: flag } },
  })
}

/**
 * `TerminateDeltasFor<ES>`: kills the caller's subscription, every token of it and any read it has open.
 * Answers ResultFlag true also when there was nothing to terminate (the end state is what was asked for).
 */
export function handleTerminate(ctx: RequestContext, def: EntityDef): void {
  const { state } = ctx
  requireJson(ctx.query, ctx.req.headers)
  const sub = state.subs.get(ctx.user, state.service, def.name)
  if (sub) {
    state.reads.closeFor(sub)
    state.subs.terminate(ctx.user, state.service, def.name)
  }
  sendJson(ctx, {
    d: { [`TerminateDeltasFor${def.name}`]: { __metadata: { type: `${state.service}.SubscriptionTerminationDetails` }, ResultFlag: true } },
  })
}
