/**
 * One extraction: FULL, DELTA_INIT or DELTA over server-driven pages, ending with the delta link
 * (docs/sap-protocols.md §A.6, algorithm §A.9a). Pages are pulled, never pushed: the next HTTP request
 * starts only when the consumer asks for the next page.
 *
 * A page's body is parsed as it arrives (results-scanner.ts) and its rows are yielded in batches of
 * at most `batchRows`, so memory holds a batch, not a server page. A batch never spans two server
 * pages. `__next`/`__delta` are known only at the end of a body; the rows before are already out, and
 * the links are judged (A.6.5) exactly as if the page had been read whole.
 */
import { throwIfAborted } from '../../util/abort.js'
import { CHANGE_MODE_COLUMN, ENTITY_COUNTER_COLUMN, type Column, type Row } from '../fields.js'
import { SourceError } from '../errors.js'
import { lazyRead, requirePageSize } from '../lazy-read.js'
import type { SapLog } from '../log.js'
import { Batcher } from './batcher.js'
import { hasDeltaToken, isLink, isTerminalDeltaNext, parseDeltaToken } from './delta-link.js'
import { pickDeltaLink, readDeltaLinks } from './delta-links-set.js'
import { validateFilter } from './filter.js'
import { CookieJar, httpGetBody, type HttpConfig } from './http.js'
import { DELTA_LINKS_PREFIX, type ServiceMetadata } from './metadata.js'
import { BodyShapeError, ResultsScanner } from './results-scanner.js'
import type { EntitySetInfo, Page, ReadEnd, ReadRequest, ReadResult } from './types.js'
import { pinToService, redactUrl, withParams, type ServiceBase } from './urls.js'
import { buildRowPlan } from './values.js'

/**
 * Rows per yielded page unless the request says otherwise. Small on purpose: a batch lives until the
 * consumer has encoded it (and, read ahead, while the next one is parsed); objects that outlive two
 * young-generation GCs are copied into the old generation and pile up there as garbage until a full
 * GC. 1,000 rows are about 1.5 MB of allocation; per-batch overhead is negligible at that size.
 */
const DEFAULT_BATCH_ROWS = 1_000

/** What a read needs from its client. */
export interface ReadContext {
  http: HttpConfig
  svc: ServiceBase
  /** `sap-client`, `sap-language`: appended to every URL that lacks them. */
  params: Array<[string, string | undefined]>
  metadata: ServiceMetadata
  log: SapLog
}

/** Validates the request against the metadata and returns the lazy result. Throws before any HTTP. */
export function startRead(ctx: ReadContext, info: EntitySetInfo, req: ReadRequest): ReadResult {
  requirePageSize('pageSize', req.pageSize)
  if (req.batchRows !== undefined) requirePageSize('batchRows', req.batchRows)
  if (req.mode !== 'FULL' && !info.deltaCapable) {
    throw new SourceError(
      'SOURCE_BAD_REQUEST',
      `entity set ${info.entitySet} is not delta-capable (no sap:change-tracking, no ${DELTA_LINKS_PREFIX}${info.entitySet}); use a FULL read`,
    )
  }
  let columns = selectColumns(info, req.select)
  let url: string
  let token: string | undefined
  if (req.filter !== undefined && req.filter.trim() !== '') validateFilter(req.filter, info)
  if (req.mode === 'DELTA') {
    if (!req.deltaLink || req.deltaLink.trim() === '')
      throw new SourceError('SOURCE_BAD_REQUEST', 'a DELTA read needs the stored delta link or token')
    token = parseDeltaToken(req.deltaLink)
    if (isLink(req.deltaLink.trim()) && hasDeltaToken(req.deltaLink)) {
      // The stored link already carries $select/$filter as the init sent them: follow it verbatim.
      url = pinned(ctx, req.deltaLink.trim())
      columns = columnsOfLink(info, url, req.select, columns)
    } else {
      url = withParams(entitySetUrl(ctx, { info, columns, req, token }), ctx.params)
    }
  } else {
    url = withParams(entitySetUrl(ctx, { info, columns, req }), ctx.params)
  }
  const opts: ReaderOptions = { ctx, info, req, columns, firstUrl: url, token }
  return lazyRead<Page, ReadEnd>({ columns, produce: () => new Reader(opts).pages() })
}

/** Selected business fields + business key + ODQ fields, in `$metadata` order. */
export function selectColumns(info: EntitySetInfo, select: string[] | undefined): Column[] {
  if (!select || select.length === 0) return info.columns
  const names = new Set(info.columns.map((c) => c.name))
  const unknown = select.filter((n) => !names.has(n))
  if (unknown.length > 0) {
    throw new SourceError(
      'SOURCE_BAD_REQUEST',
      `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} in select; ${info.entitySet} has ${listNames([...names])}`,
    )
  }
  const wanted = new Set([...select, ...info.keyFields, CHANGE_MODE_COLUMN, ENTITY_COUNTER_COLUMN])
  return info.columns.filter((c) => wanted.has(c.name))
}

function listNames(names: string[], max = 30): string {
  return names.length > max ? `${names.slice(0, max).join(', ')}, … (${names.length} in all)` : names.join(', ')
}

interface EntitySetQuery {
  info: EntitySetInfo
  columns: Column[]
  /** Its `select` and `filter`. */
  req: ReadRequest
  /** Read the changes after this delta token. */
  token?: string
}

function entitySetUrl(ctx: ReadContext, { info, columns, req, token }: EntitySetQuery): string {
  let url = `${ctx.svc.base}/${encodeURIComponent(info.entitySet)}?$format=json`
  if (req.select && req.select.length > 0) url += `&$select=${columns.map((c) => c.name).join(',')}`
  if (req.filter && req.filter.trim() !== '') url += `&$filter=${encodeURIComponent(req.filter.trim())}`
  // SAP's own spelling, quotes included (A.6.3); A.9a builds the same link from a bare token.
  if (token !== undefined) url += `&!deltatoken='${encodeURIComponent(token)}'`
  return url
}

function pinned(ctx: ReadContext, link: string): string {
  const { url, rebased } = pinToService(link, ctx.svc)
  if (rebased)
    ctx.log('warn', 'server link names another host; sending it to the configured service host', {
      link: redactUrl(link),
      url: redactUrl(url),
    })
  return withParams(url, [['$format', 'json'], ...ctx.params])
}

/**
 * Columns of a stored delta link: its `$select` is what the subscription was created with. A request
 * asking for another selection would silently read a different subscription's shape (A.7), so refuse.
 */
function columnsOfLink(info: EntitySetInfo, url: string, select: string[] | undefined, requested: Column[]): Column[] {
  const m = /[?&](?:\$|%24)select=([^&#]*)/i.exec(url)
  if (!m) return requested
  const linkNames = new Set(
    decodeURIComponent(m[1])
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  const fromLink = info.columns.filter((c) => linkNames.has(c.name))
  if (select && select.length > 0) {
    const a = requested
      .map((c) => c.name)
      .sort()
      .join(',')
    const b = fromLink
      .map((c) => c.name)
      .sort()
      .join(',')
    if (a !== b) {
      throw new SourceError(
        'SOURCE_BAD_REQUEST',
        `the selection (${a}) differs from the one the delta link was initialised with (${b}); a changed selection needs a new delta initialisation`,
      )
    }
  }
  return fromLink
}

interface ReaderOptions {
  ctx: ReadContext
  info: EntitySetInfo
  req: ReadRequest
  columns: Column[]
  firstUrl: string
  /** DELTA: the token the read starts from. */
  token?: string
}

/** The pages of one read, server page after server page (A.9a); made when the first page is asked for. */
class Reader {
  private readonly jar = new CookieJar()
  private readonly scanner = new ResultsScanner()
  private readonly batches: Batcher
  private readonly prefer: string
  /** Batches and rows yielded, server pages read. */
  private index = 0
  private rows = 0
  private httpPages = 0

  constructor(private readonly o: ReaderOptions) {
    const { req } = o
    this.batches = new Batcher(this.scanner, buildRowPlan(o.columns), req.batchRows ?? DEFAULT_BATCH_ROWS)
    const max = `odata.maxpagesize=${req.pageSize}`
    this.prefer = req.mode === 'DELTA_INIT' ? `odata.track-changes, ${max}` : max
  }

  async *pages(): AsyncGenerator<Page, ReadEnd> {
    const visited = new Set<string>()
    let url: string | undefined = this.o.firstUrl
    let deltaLink: string | undefined
    while (url !== undefined) {
      visited.add(url)
      const links = yield* this.serverPage(url)
      if (links.delta !== undefined) deltaLink = links.delta
      url = undefined
      if (links.next !== undefined && isTerminalDeltaNext(links.next)) {
        // A.6.5 case 2: following it would open the next delta request and lose this position.
        deltaLink ??= links.next
      } else if (links.next !== undefined) {
        url = pinned(this.o.ctx, links.next)
        if (visited.has(url))
          throw new SourceError(
            'SOURCE_PROTOCOL',
            `the server sent the same next-page link twice (${redactUrl(url)}); stopping instead of looping`,
          )
      }
    }
    return this.end(deltaLink)
  }

  /** One server page: its rows in batches as the body arrives, then its `__next` and `__delta`. */
  private async *serverPage(url: string): AsyncGenerator<Page, Envelope> {
    const { ctx, req, token } = this.o
    const started = performance.now()
    const stats = this.batches.startPage(this.rows)
    let res: Response | undefined
    let json: unknown
    const continuation = this.httpPages > 0
    const body = httpGetBody(ctx.http, url, {
      accept: 'json',
      prefer: this.prefer,
      signal: req.signal,
      jar: this.jar,
      mode: req.mode,
      token,
      continuation,
      onResponse: (r) => (res = r),
    })
    try {
      for await (const chunk of body) {
        for (let batch = this.batches.next(chunk); batch; batch = this.batches.next()) {
          // one chunk can hold several batches: an abort stops between them, not at the next read
          throwIfAborted(req.signal)
          yield this.page(batch)
        }
      }
      json = this.scanner.finish()
      const rest = this.batches.rest()
      if (rest) yield this.page(rest)
    } catch (e) {
      if (e instanceof BodyShapeError) throw shapeError(e, url, res, this.scanner.head)
      throw e
    }
    this.httpPages++
    const preferenceApplied = (res as Response | undefined)?.headers.get('preference-applied') ?? undefined
    const ms = Math.round(performance.now() - started)
    ctx.log('debug', 'page', {
      entitySet: this.o.info.entitySet,
      page: this.httpPages,
      rows: stats.rows,
      ms,
      parseMs: Math.round(stats.parseMs),
      convertMs: Math.round(stats.convertMs),
      preferenceApplied,
    })
    return envelope(json, url)
  }

  private page(rows: Row[]): Page {
    this.rows += rows.length
    return { index: this.index++, rows }
  }

  /** The read's end; for a delta, the link to store (A.6.5). */
  private async end(deltaLink: string | undefined): Promise<ReadEnd> {
    const { ctx, info, req } = this.o
    const end: ReadEnd = { pages: this.index, rows: this.rows }
    if (req.mode !== 'FULL') {
      // A.6.5 case 3: only now, after the last page of however many (erpl-web #250).
      end.deltaLink = deltaLink ?? (await this.fallbackLink())
      end.deltaToken = tokenOf(end.deltaLink)
    } else if (deltaLink !== undefined) {
      ctx.log('debug', 'ignoring a delta link on a FULL read', { entitySet: info.entitySet })
    }
    ctx.log('info', 'read finished', { entitySet: info.entitySet, mode: req.mode, pages: end.pages, rows: end.rows, token: end.deltaToken })
    return end
  }

  private async fallbackLink(): Promise<string> {
    const { ctx, info, req, columns, token } = this.o
    const set = DELTA_LINKS_PREFIX + info.entitySet
    if (!ctx.metadata.has(set)) {
      throw new SourceError(
        'SOURCE_PROTOCOL',
        `SAP sent no delta link for ${req.mode} of ${info.entitySet} and the service has no ${set} to look it up; refusing to report a delta without a token`,
      )
    }
    ctx.log('warn', 'no delta link in the response; looking it up in DeltaLinksOf', { entitySet: info.entitySet, mode: req.mode })
    const entries = await readDeltaLinks(ctx, set, { signal: req.signal, jar: this.jar })
    const pick = pickDeltaLink(entries, req.mode === 'DELTA_INIT')
    if (!pick) {
      throw new SourceError(
        'SOURCE_PROTOCOL',
        `SAP sent no delta link for ${req.mode} of ${info.entitySet} and ${set} is empty; refusing to report a delta without a token`,
      )
    }
    // An empty delta may keep its token (observed), but a delta that delivered rows must end on a
    // newer one, or the next run would deliver the same rows again.
    if (req.mode === 'DELTA' && pick.token === token && this.rows > 0)
      throw new SourceError(
        'SOURCE_PROTOCOL',
        `SAP delivered ${this.rows} changes but ${set} lists no token newer than ${pick.token}; refusing to commit a position that would repeat them`,
      )
    return entitySetUrl(ctx, { info, columns, req, token: pick.token })
  }
}

function tokenOf(deltaLink: string): string {
  try {
    return parseDeltaToken(deltaLink)
  } catch (e) {
    throw new SourceError('SOURCE_PROTOCOL', `the delta link the server sent carries no token: ${redactUrl(deltaLink)}`, { cause: e })
  }
}

/** A 2xx body that is not an OData page: an HTML logon page, XML, truncated or foreign JSON. */
function shapeError(e: BodyShapeError, url: string, res: Response | undefined, head: string): SourceError {
  if (e.reason === 'no-results') return new SourceError('SOURCE_PROTOCOL', `response of GET ${redactUrl(url)} has no d.results array`)
  if (e.reason === 'too-large')
    return new SourceError('SOURCE_PROTOCOL', `response of GET ${redactUrl(url)} has no d.results array (${e.message})`)
  // The body's text is not repeated: the URL may point at another service than SAP.
  const type = res?.headers.get('content-type') ?? 'no content-type'
  const html = /^\s*</.test(head) ? ', an HTML or XML page' : ''
  return new SourceError('SOURCE_PROTOCOL', `SAP answered ${type} that is not JSON (GET ${redactUrl(url)}${html})`, {
    httpStatus: res?.status,
    cause: e,
  })
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
