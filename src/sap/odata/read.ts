/**
 * One extraction: FULL, DELTA_INIT or DELTA over server-driven pages, ending with the delta link
 * (sap-protocols.md §A.6, algorithm §A.9a). Pages are pulled, never pushed: the next HTTP request
 * starts only when the consumer asks for the next page.
 */
import { CHANGE_MODE_COLUMN, ENTITY_COUNTER_COLUMN, type Column } from '../fields.js'
import { SourceError } from '../errors.js'
import { hasDeltaToken, isLink, isTerminalDeltaNext, parseDeltaToken } from './delta-link.js'
import { CookieJar, httpGetJson, type HttpConfig } from './http.js'
import { DELTA_LINKS_PREFIX, type ServiceMetadata } from './metadata.js'
import { validateFilter } from './filter.js'
import { pickDeltaLink, readDeltaLinks } from './delta-links-set.js'
import type { EntitySetInfo, LogFn, Page, ReadEnd, ReadRequest, ReadResult } from './types.js'
import { pinToService, redactUrl, withParams, type ServiceBase } from './urls.js'
import { buildRowPlan, convertRows } from './values.js'

/** What a read needs from its client. */
export interface ReadContext {
  http: HttpConfig
  svc: ServiceBase
  /** `sap-client`, `sap-language`: appended to every URL that lacks them. */
  params: Array<[string, string | undefined]>
  metadata: ServiceMetadata
  log: LogFn
}

/** Validates the request against the metadata and returns the lazy result. Throws before any HTTP. */
export function startRead(ctx: ReadContext, info: EntitySetInfo, req: ReadRequest): ReadResult {
  if (!Number.isSafeInteger(req.pageSize) || req.pageSize < 1) throw new SourceError('SOURCE_BAD_REQUEST', `pageSize must be a positive integer, got ${String(req.pageSize)}`)
  if (req.mode !== 'FULL' && !info.deltaCapable) {
    throw new SourceError('SOURCE_BAD_REQUEST', `entity set ${info.entitySet} is not delta-capable (no sap:change-tracking, no ${DELTA_LINKS_PREFIX}${info.entitySet}); use a FULL read`)
  }
  let columns = selectColumns(info, req.select)
  let url: string
  let token: string | undefined
  if (req.filter !== undefined && req.filter.trim() !== '') validateFilter(req.filter, info)
  if (req.mode === 'DELTA') {
    if (!req.deltaLink || req.deltaLink.trim() === '') throw new SourceError('SOURCE_BAD_REQUEST', 'a DELTA read needs the stored delta link or token')
    token = parseDeltaToken(req.deltaLink)
    if (isLink(req.deltaLink.trim()) && hasDeltaToken(req.deltaLink)) {
      // The stored link already carries $select/$filter as the init sent them: follow it verbatim.
      url = pinned(ctx, req.deltaLink.trim())
      columns = columnsOfLink(info, url, req.select, columns)
    } else {
      url = withParams(entitySetUrl(ctx, info, columns, req, token), ctx.params)
    }
  } else {
    url = withParams(entitySetUrl(ctx, info, columns, req), ctx.params)
  }
  return new Reader(ctx, info, req, columns, url, token).result()
}

/** Selected business fields + business key + ODQ fields, in `$metadata` order. */
export function selectColumns(info: EntitySetInfo, select: string[] | undefined): Column[] {
  if (!select || select.length === 0) return info.columns
  const names = new Set(info.columns.map((c) => c.name))
  const unknown = select.filter((n) => !names.has(n))
  if (unknown.length > 0) {
    throw new SourceError('SOURCE_BAD_REQUEST', `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} in select; ${info.entitySet} has ${listNames([...names])}`)
  }
  const wanted = new Set([...select, ...info.keyFields, CHANGE_MODE_COLUMN, ENTITY_COUNTER_COLUMN])
  return info.columns.filter((c) => wanted.has(c.name))
}

function listNames(names: string[], max = 30): string {
  return names.length > max ? `${names.slice(0, max).join(', ')}, … (${names.length} in all)` : names.join(', ')
}

function entitySetUrl(ctx: ReadContext, info: EntitySetInfo, columns: Column[], req: ReadRequest, token?: string): string {
  let url = `${ctx.svc.base}/${encodeURIComponent(info.entitySet)}?$format=json`
  if (req.select && req.select.length > 0) url += `&$select=${columns.map((c) => c.name).join(',')}`
  if (req.filter && req.filter.trim() !== '') url += `&$filter=${encodeURIComponent(req.filter.trim())}`
  // SAP's own spelling, quotes included (A.6.3); A.9a builds the same link from a bare token.
  if (token !== undefined) url += `&!deltatoken='${encodeURIComponent(token)}'`
  return url
}

function pinned(ctx: ReadContext, link: string): string {
  const { url, rebased } = pinToService(link, ctx.svc)
  if (rebased) ctx.log('warn', 'server link names another host; sending it to the configured service host', { link: redactUrl(link), url: redactUrl(url) })
  return withParams(url, [['$format', 'json'], ...ctx.params])
}

/**
 * Columns of a stored delta link: its `$select` is what the subscription was created with. A request
 * asking for another selection would silently read a different subscription's shape (A.7), so refuse.
 */
function columnsOfLink(info: EntitySetInfo, url: string, select: string[] | undefined, requested: Column[]): Column[] {
  const m = /[?&](?:\$|%24)select=([^&#]*)/i.exec(url)
  if (!m) return requested
  const linkNames = new Set(decodeURIComponent(m[1]).split(',').map((s) => s.trim()).filter(Boolean))
  const fromLink = info.columns.filter((c) => linkNames.has(c.name))
  if (select && select.length > 0) {
    const a = requested.map((c) => c.name).sort().join(',')
    const b = fromLink.map((c) => c.name).sort().join(',')
    if (a !== b) {
      throw new SourceError('SOURCE_BAD_REQUEST', `the selection (${a}) differs from the one the delta link was initialised with (${b}); a changed selection needs a new delta initialisation`)
    }
  }
  return fromLink
}

class Reader {
  private settle!: { resolve: (e: ReadEnd) => void; reject: (e: unknown) => void }
  private readonly endPromise: Promise<ReadEnd>
  private started = false
  private settled = false

  constructor(
    private readonly ctx: ReadContext,
    private readonly info: EntitySetInfo,
    private readonly req: ReadRequest,
    private readonly columns: Column[],
    private readonly firstUrl: string,
    private readonly token: string | undefined,
  ) {
    this.endPromise = new Promise<ReadEnd>((resolve, reject) => (this.settle = { resolve, reject }))
    // end() may never be called (the consumer failed first); do not let that crash the process.
    this.endPromise.catch(() => undefined)
  }

  result(): ReadResult {
    return {
      columns: this.columns,
      pages: { [Symbol.asyncIterator]: () => this.iterate() },
      end: () => this.endPromise,
    }
  }

  private async *iterate(): AsyncGenerator<Page> {
    if (this.started) throw new SourceError('SOURCE_BAD_REQUEST', 'the pages of a read can be iterated only once')
    this.started = true
    try {
      yield* this.run()
    } catch (e) {
      this.finish(undefined, e)
      throw e
    } finally {
      this.finish(undefined, new DOMException('the read was closed before its last page', 'AbortError'))
    }
  }

  private finish(end: ReadEnd | undefined, error?: unknown): void {
    if (this.settled) return
    this.settled = true
    if (end) this.settle.resolve(end)
    else this.settle.reject(error)
  }

  private async *run(): AsyncGenerator<Page> {
    const { ctx, req } = this
    const plan = buildRowPlan(this.columns)
    const jar = new CookieJar()
    const prefer = req.mode === 'DELTA_INIT' ? `odata.track-changes, odata.maxpagesize=${req.pageSize}` : `odata.maxpagesize=${req.pageSize}`
    const visited = new Set<string>()
    let url: string | undefined = this.firstUrl
    let deltaLink: string | undefined
    let index = 0
    let rows = 0
    let httpPages = 0

    while (url !== undefined) {
      visited.add(url)
      const continuation = httpPages > 0
      const { json, res, parseMs } = await httpGetJson(ctx.http, url, { prefer, signal: req.signal, jar, mode: req.mode, token: this.token, continuation })
      httpPages++
      const d = envelope(json, url)
      const convertStart = performance.now()
      const converted = convertRows(d.results, plan, rows)
      const convertMs = performance.now() - convertStart
      if (d.delta !== undefined) deltaLink = d.delta
      url = undefined
      if (d.next !== undefined) {
        if (isTerminalDeltaNext(d.next)) {
          // A.6.5 case 2: following it would open the next delta request and lose this position.
          deltaLink ??= d.next
        } else {
          url = pinned(ctx, d.next)
          if (visited.has(url)) throw new SourceError('SOURCE_PROTOCOL', `the server sent the same next-page link twice (${redactUrl(url)}); stopping instead of looping`)
        }
      }
      ctx.log('debug', 'page', {
        entitySet: this.info.entitySet,
        page: httpPages,
        rows: converted.length,
        httpMs: Math.round(res.ms),
        parseMs: Math.round(parseMs),
        convertMs: Math.round(convertMs),
        preferenceApplied: res.headers.get('preference-applied') ?? undefined,
      })
      if (converted.length > 0) {
        rows += converted.length
        yield { index: index++, rows: converted }
      }
    }

    const end: ReadEnd = { pages: index, rows }
    if (req.mode !== 'FULL') {
      if (deltaLink === undefined) {
        // A.6.5 case 3: only now, after the last page of however many (erpl-web #250).
        deltaLink = await this.fallbackLink(jar)
      }
      end.deltaLink = deltaLink
      try {
        end.deltaToken = parseDeltaToken(deltaLink)
      } catch (e) {
        throw new SourceError('SOURCE_PROTOCOL', `the delta link the server sent carries no token: ${redactUrl(deltaLink)}`, { cause: e })
      }
    } else if (deltaLink !== undefined) {
      ctx.log('debug', 'ignoring a delta link on a FULL read', { entitySet: this.info.entitySet })
    }
    ctx.log('info', 'read finished', { entitySet: this.info.entitySet, mode: req.mode, pages: end.pages, rows, token: end.deltaToken })
    this.finish(end)
  }

  private async fallbackLink(jar: CookieJar): Promise<string> {
    const { ctx, info, req } = this
    const set = DELTA_LINKS_PREFIX + info.entitySet
    if (!ctx.metadata.has(set)) {
      throw new SourceError('SOURCE_PROTOCOL', `SAP sent no delta link for ${req.mode} of ${info.entitySet} and the service has no ${set} to look it up; refusing to report a delta without a token`)
    }
    ctx.log('warn', 'no delta link in the response; looking it up in DeltaLinksOf', { entitySet: info.entitySet, mode: req.mode })
    const entries = await readDeltaLinks(ctx.http, ctx.svc, set, ctx.params, req.signal, jar)
    const pick = pickDeltaLink(entries, req.mode === 'DELTA_INIT')
    if (!pick) {
      throw new SourceError('SOURCE_PROTOCOL', `SAP sent no delta link for ${req.mode} of ${info.entitySet} and ${set} is empty; refusing to report a delta without a token`)
    }
    if (req.mode === 'DELTA' && pick.token === this.token) ctx.log('warn', 'DeltaLinksOf has no newer token than the one read from; the next delta repeats this one', { token: pick.token })
    return entitySetUrl(ctx, info, this.columns, req, pick.token)
  }
}

interface Envelope {
  results: unknown[]
  next?: string
  delta?: string
}

/** `{"d":{"results":[…],"__next","__delta"}}`; v1-style `{"d":[…]}` is accepted too. */
function envelope(json: unknown, url: string): Envelope {
  const d = (json as { d?: unknown } | null)?.d
  if (Array.isArray(d)) return { results: d }
  if (d !== null && typeof d === 'object') {
    const o = d as Record<string, unknown>
    if (Array.isArray(o['results'])) {
      return {
        results: o['results'],
        next: typeof o['__next'] === 'string' && o['__next'] !== '' ? o['__next'] : undefined,
        delta: typeof o['__delta'] === 'string' && o['__delta'] !== '' ? o['__delta'] : undefined,
      }
    }
  }
  throw new SourceError('SOURCE_PROTOCOL', `response of GET ${redactUrl(url)} has no d.results array`)
}
