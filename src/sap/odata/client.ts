/**
 * ODP extraction over an SAP Gateway OData v2 service (docs/sap-protocols.md §A): metadata, reads with
 * paging and delta links, and subscription control. All calls are GETs (no CSRF token needed, A.3).
 */
import { XMLValidator } from 'fast-xml-parser'
import { SourceError } from '../errors.js'
import { readDeltaLinks } from './delta-links-set.js'
import { raceAbort } from '../../util/abort.js'
import { httpGet, httpGetJson, type HttpConfig } from './http.js'
import { DELTA_LINKS_PREFIX, ServiceMetadata } from './metadata.js'
import { startRead } from './read.js'
import { silentLog, type SapLog } from '../log.js'
import type { ClientOptions, DeltaLinkEntry, EntitySetInfo, ODataConnection, ReadRequest, ReadResult } from './types.js'
import { parseServiceUrl, redactUrl, withParams, type ServiceBase } from './urls.js'

const DEFAULT_TIMEOUT_MS = 120_000
const DEFAULT_RETRIES = 4
const DEFAULT_BACKOFF_MS = 500

/**
 * Client of one SAP Gateway ODP service for one user. Every failure it can tell apart is a
 * {@link SourceError} (auth, not found, bad request, busy, lost delta position, protocol, unavailable
 * after its own retries); an aborted signal rejects with the signal's reason. The password only ever
 * travels in the Authorization header.
 *
 * @example
 * const sap = new ODataOdpClient({ serviceUrl, user, password, sapClient: '100' })
 * const read = await sap.read({ entitySet: 'EntityOfZSALES_ITEMS', mode: 'DELTA_INIT', pageSize: 50_000, signal })
 * for await (const page of read.pages) await stage(read.columns, page.rows)
 * const { deltaLink } = await read.end() // store only after the staged rows are durable
 */
export class ODataOdpClient {
  // Private fields: the Authorization header must not show up when someone logs the client.
  readonly #http: HttpConfig
  readonly #svc: ServiceBase
  readonly #params: Array<[string, string | undefined]>
  readonly #log: SapLog
  readonly #user?: string
  #metadata?: Promise<ServiceMetadata>

  constructor(conn: ODataConnection, opts: ClientOptions = {}) {
    const svc = parseServiceUrl(conn.serviceUrl)
    const user = conn.user ?? svc.user
    const password = conn.password ?? svc.password
    this.#svc = { base: svc.base, origin: svc.origin }
    this.#user = user
    this.#params = [
      ['sap-client', encodeURIComponent(conn.sapClient ?? svc.sapClient ?? '') || undefined],
      ['sap-language', encodeURIComponent(conn.language ?? svc.language ?? '') || undefined],
    ]
    this.#log = opts.log ?? silentLog
    const basic = user ? Buffer.from(`${user}:${password ?? ''}`, 'utf8').toString('base64') : undefined
    this.#http = {
      authorization: basic ? `Basic ${basic}` : undefined,
      secrets: [password, basic].filter((s): s is string => !!s),
      timeoutMs: conn.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      retries: opts.retries ?? DEFAULT_RETRIES,
      backoffMs: opts.backoffMs ?? DEFAULT_BACKOFF_MS,
      fetch: opts.fetch ?? globalThis.fetch,
      log: this.#log,
    }
  }

  /** The SAP user the client logs on as (SAP's subscriptions are per user). */
  get user(): string | undefined {
    return this.#user
  }

  /** The service URL as configured, without credentials: safe to show. */
  get serviceUrl(): string {
    return this.#svc.base
  }

  /** GET `$metadata` (cached per client), mapped to the column model. SOURCE_NOT_FOUND for an unknown set. */
  async entitySet(name: string, signal?: AbortSignal): Promise<EntitySetInfo> {
    const md = await this.metadata(signal)
    const info = md.info(name)
    if (!info) {
      const sets = this.dataSets(md)
      throw new SourceError(
        'SOURCE_NOT_FOUND',
        `entity set ${name} is not in ${redactUrl(this.#svc.base)}; it has ${sets.length > 20 ? `${sets.slice(0, 20).join(', ')}, …` : sets.join(', ') || 'none'}`,
      )
    }
    return info
  }

  /**
   * Like {@link entitySet}, with one request and no retries: for checking a pipeline while it is
   * saved, where an unreachable SAP should be reported at once, not after the backoff of a run.
   */
  async entitySetNow(name: string, signal?: AbortSignal): Promise<EntitySetInfo> {
    const res = await httpGet({ ...this.#http, retries: 0 }, this.metadataUrl(), { accept: 'xml', signal })
    const md = new ServiceMetadata(res.text, this.#log)
    this.#metadata ??= Promise.resolve(md)
    return this.entitySet(name, signal)
  }

  /** Data entity sets (EntityOf…, FactsOf…, AttrOf…, TextsOf…), without the DeltaLinksOf… history sets. */
  async listEntitySets(signal?: AbortSignal): Promise<string[]> {
    return this.dataSets(await this.metadata(signal))
  }

  /**
   * Starts a read. Resolves once the metadata is known and the request is valid (bad select, filter
   * or mode fail here, before any data request); pages then stream lazily, one HTTP page in flight.
   */
  async read(req: ReadRequest): Promise<ReadResult> {
    const info = await this.entitySet(req.entitySet, req.signal)
    const metadata = await this.metadata(req.signal)
    return startRead({ http: this.#http, svc: this.#svc, params: this.#params, metadata, log: this.#log }, info, req)
  }

  /**
   * One value of `field` among the rows `filter` selects, or undefined when there are none: `$top=1`
   * with `$select` of that field alone, the cheapest question a FULL read can ask. A partitioned load
   * asks it to find where its key ranges fall (src/sap/key-ranges.ts).
   */
  async firstValue(entitySet: string, field: string, filter: string | undefined, signal?: AbortSignal): Promise<string | undefined> {
    await this.entitySet(entitySet, signal)
    const where = filter ? `&$filter=${encodeURIComponent(filter)}` : ''
    const url = withParams(`${this.#svc.base}/${encodeURIComponent(entitySet)}?$format=json&$select=${field}&$top=1${where}`, this.#params)
    const { json } = await httpGetJson(this.#http, url, { signal })
    const d = (json as { d?: unknown } | null)?.d
    const results = Array.isArray(d) ? d : (d as { results?: unknown } | undefined)?.results
    if (!Array.isArray(results)) throw new SourceError('SOURCE_PROTOCOL', `response of GET ${redactUrl(url)} has no d.results array`)
    const value = (results[0] as Record<string, unknown> | undefined)?.[field]
    return value === undefined || value === null ? undefined : String(value)
  }

  /** `SubscribedTo<ES>`: whether the calling user holds a delta subscription on the set. */
  async subscribed(entitySet: string, signal?: AbortSignal): Promise<boolean> {
    await this.entitySet(entitySet, signal)
    return this.functionFlag(`SubscribedTo${entitySet}`, 'SubscribedFlag', signal)
  }

  /**
   * `TerminateDeltasFor<ES>`: ends the subscription and invalidates all its delta links (A.6.6). The
   * next read must be a DELTA_INIT; resuming from an old token would skip rows.
   */
  async terminate(entitySet: string, signal?: AbortSignal): Promise<boolean> {
    await this.entitySet(entitySet, signal)
    const ok = await this.functionFlag(`TerminateDeltasFor${entitySet}`, 'ResultFlag', signal)
    this.#log('info', 'delta subscription terminated', { entitySet, result: ok })
    return ok
  }

  /** The `DeltaLinksOf<ES>` history, oldest first; empty when the set is not delta-capable. */
  async deltaLinks(entitySet: string, signal?: AbortSignal): Promise<DeltaLinkEntry[]> {
    const md = await this.metadata(signal)
    await this.entitySet(entitySet, signal)
    const set = DELTA_LINKS_PREFIX + entitySet
    if (!md.has(set)) return []
    return readDeltaLinks({ http: this.#http, svc: this.#svc, params: this.#params }, set, { signal })
  }

  /**
   * Fetches `$metadata` uncached: proves reachability, logon and authorization for the service, and
   * that the answer is OData metadata: well-formed XML with edmx:Edmx/DataServices/Schema, parsed
   * as a read would parse it (an answer that merely starts like EDMX passed before). What the
   * parser said is not repeated: the URL may point at some other service.
   */
  async ping(signal?: AbortSignal): Promise<{ latencyMs: number }> {
    const started = performance.now()
    const res = await httpGet(this.#http, this.metadataUrl(), { accept: 'xml', signal })
    const refused = new SourceError(
      'SOURCE_PROTOCOL',
      `${redactUrl(this.metadataUrl())} did not return OData metadata (is serviceUrl the root of an OData v2 service?)`,
    )
    if (!/<(?:\w+:)?Edmx[\s>]/.test(res.text.slice(0, 4096)) || XMLValidator.validate(res.text) !== true) throw refused
    try {
      new ServiceMetadata(res.text)
    } catch {
      throw refused
    }
    return { latencyMs: Math.round(performance.now() - started) }
  }

  private dataSets(md: ServiceMetadata): string[] {
    return md.entitySetNames.filter((n) => !n.startsWith(DELTA_LINKS_PREFIX))
  }

  private metadataUrl(): string {
    return withParams(`${this.#svc.base}/$metadata`, this.#params)
  }

  /**
   * Cached `$metadata`. One fetch is shared by concurrent callers, so it runs without any caller's
   * signal (each caller stops waiting on its own abort); a failed fetch is not cached.
   */
  private metadata(signal?: AbortSignal): Promise<ServiceMetadata> {
    this.#metadata ??= httpGet(this.#http, this.metadataUrl(), { accept: 'xml' })
      .then((res) => new ServiceMetadata(res.text, this.#log))
      .catch((e: unknown) => {
        this.#metadata = undefined
        throw e
      })
    return raceAbort(this.#metadata, signal)
  }

  private async functionFlag(fn: string, flag: string, signal?: AbortSignal): Promise<boolean> {
    const url = withParams(`${this.#svc.base}/${encodeURIComponent(fn)}?$format=json`, this.#params)
    const { json } = await httpGetJson(this.#http, url, { signal })
    const d = (json as { d?: unknown } | null)?.d as Record<string, unknown> | undefined
    // v2 wraps a complex function result under the function name; some releases do not (A.6.6).
    const holder = d && typeof d === 'object' ? ((d[fn] as Record<string, unknown> | undefined) ?? d) : undefined
    const v = holder?.[flag]
    if (v === true || v === 'true' || v === 'X') return true
    if (v === false || v === 'false' || v === '') return false
    throw new SourceError('SOURCE_PROTOCOL', `${fn} answered without a boolean ${flag}`)
  }
}
