/**
 * One extraction: FULL, DELTA_INIT or DELTA over server-driven pages, ending with the delta link
 * (sap-protocols.md §A.6, algorithm §A.9a). Pages are pulled, never pushed: the next HTTP request
 * starts only when the consumer asks for the next page.
 *
 * A page's body is parsed as it arrives (results-scanner.ts) and its rows are yielded in batches of
 * at most `batchRows`, so memory holds a batch, not a server page. A batch never spans two server
 * pages. `__next`/`__delta` are known only at the end of a body; the rows before are already out, and
 * the links are judged (A.6.5) exactly as if the page had been read whole.
 */
import { CHANGE_MODE_COLUMN, ENTITY_COUNTER_COLUMN, type Column, type Row } from '../fields.js'
import { SourceError } from '../errors.js'
import { hasDeltaToken, isLink, isTerminalDeltaNext, parseDeltaToken } from './delta-link.js'
import { throwIfAborted } from '../../util/abort.js'
import { CookieJar, httpGetBody, type HttpConfig } from './http.js'
import { DELTA_LINKS_PREFIX, type ServiceMetadata } from './metadata.js'
import { validateFilter } from './filter.js'
import { pickDeltaLink, readDeltaLinks } from './delta-links-set.js'
import { BodyShapeError, ResultsScanner } from './results-scanner.js'
import type { SapLog } from '../log.js'
import type { EntitySetInfo, Page, ReadEnd, ReadRequest, ReadResult } from './types.js'
import { pinToService, redactUrl, withParams, type ServiceBase } from './urls.js'
import { buildRowPlan, convertRows, type RowPlan } from './values.js'

/**
 * Rows per yielded page unless the request says otherwise. Small on purpose: a batch lives until the
 * consumer has encoded it (and, read ahead, while the next one is parsed); objects that outlive two
 * young-generation GCs are copied into the old generation and pile up there as garbage until a full
 * GC. 1,000 rows are about 1.5 MB of allocation; per-batch overhead is negligible at that size.
 */
export const DEFAULT_BATCH_ROWS = 1_000

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
  if (!Number.isSafeInteger(req.pageSize) || req.pageSize < 1) throw new SourceError('SOURCE_BAD_REQUEST', `pageSize must be a positive integer, got ${String(req.pageSize)}`)
  if (req.batchRows !== undefined && (!Number.isSafeInteger(req.batchRows) || req.batchRows < 1)) {
    throw new SourceError('SOURCE_BAD_REQUEST', `batchRows must be a positive integer, got ${String(req.batchRows)}`)
  }
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

    const scanner = new ResultsScanner()
    const batches = new Batcher(scanner, plan, req.batchRows ?? DEFAULT_BATCH_ROWS)
    while (url !== undefined) {
      visited.add(url)
      const continuation = httpPages > 0
      const started = performance.now()
      const stats = batches.startPage(rows)
      let res: Response | undefined
      let json: unknown
      const body = httpGetBody(ctx.http, url, { accept: 'json', prefer, signal: req.signal, jar, mode: req.mode, token: this.token, continuation, onResponse: (r) => (res = r) })
      try {
        for await (const chunk of body) {
          for (let batch = batches.next(chunk); batch; batch = batches.next()) {
            // one chunk can hold several batches: an abort stops between them, not at the next read
            throwIfAborted(req.signal)
            rows += batch.length
            yield { index: index++, rows: batch }
          }
        }
        json = scanner.finish()
        const rest = batches.rest()
        if (rest) {
          rows += rest.length
          yield { index: index++, rows: rest }
        }
      } catch (e) {
        if (e instanceof BodyShapeError) throw shapeError(e, url, res, scanner.head)
        throw e
      }
      httpPages++
      const d = envelope(json, url)
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
        rows: stats.rows,
        ms: Math.round(performance.now() - started),
        parseMs: Math.round(stats.parseMs),
        convertMs: Math.round(stats.convertMs),
        preferenceApplied: (res as Response | undefined)?.headers.get('preference-applied') ?? undefined,
      })
    }

    const end: ReadEnd = { pages: index, rows }
    if (req.mode !== 'FULL') {
      if (deltaLink === undefined) {
        // A.6.5 case 3: only now, after the last page of however many (erpl-web #250).
        deltaLink = await this.fallbackLink(jar, rows)
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

  private async fallbackLink(jar: CookieJar, rowsRead: number): Promise<string> {
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
    // An empty delta may keep its token (observed), but a delta that delivered rows must end on a
    // newer one, or the next run would deliver the same rows again.
    if (req.mode === 'DELTA' && pick.token === this.token && rowsRead > 0)
      throw new SourceError('SOURCE_PROTOCOL', `SAP delivered ${rowsRead} changes but ${set} lists no token newer than ${pick.token}; refusing to commit a position that would repeat them`)
    return entitySetUrl(ctx, info, this.columns, req, pick.token)
  }
}

interface PageStats {
  rows: number
  parseMs: number
  convertMs: number
}

/**
 * Turns the scanner's small parsed groups into converted batches of exactly `batchRows` rows (the
 * last of a page: fewer). Its own class, not generator code, so the parsed objects are garbage as
 * soon as a group is converted: a generator's locals would live on while the consumer holds a batch.
 */
class Batcher {
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

/** A 2xx body that is not an OData page: an HTML logon page, XML, truncated or foreign JSON. */
function shapeError(e: BodyShapeError, url: string, res: Response | undefined, head: string): SourceError {
  if (e.reason === 'no-results') return new SourceError('SOURCE_PROTOCOL', `response of GET ${redactUrl(url)} has no d.results array`)
  if (e.reason === 'too-large') return new SourceError('SOURCE_PROTOCOL', `response of GET ${redactUrl(url)} has no d.results array (${e.message})`)
  // The body's text is not repeated: the URL may point at another service than SAP.
  const type = res?.headers.get('content-type') ?? 'no content-type'
  const html = /^\s*</.test(head) ? ', an HTML or XML page' : ''
  return new SourceError('SOURCE_PROTOCOL', `SAP answered ${type} that is not JSON (GET ${redactUrl(url)}${html})`, { httpStatus: res?.status, cause: e })
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
