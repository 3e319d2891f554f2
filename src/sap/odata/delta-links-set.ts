/**
 * `DeltaLinksOf<ES>`: the server's history of delta tokens (docs/sap-protocols.md §A.2, §A.6.5 case 3).
 * Used to list tokens and as the fallback when a change-tracked read carried no inline link.
 */
import { SourceError } from '../errors.js'
import { ValueError } from '../values.js'
import { httpGetJson, type CookieJar, type HttpConfig } from './http.js'
import type { DeltaLinkEntry } from './types.js'
import { pinToService, redactUrl, withParams, type ServiceBase } from './urls.js'
import { converterFor } from './values.js'

const toTimestamp = converterFor({ kind: 'timestamp' })
const toBoolean = converterFor({ kind: 'boolean' })
const MAX_PAGES = 1000

/** How to reach the service: its HTTP settings, base URL and the parameters every URL carries. */
export interface ServiceContext {
  http: HttpConfig
  svc: ServiceBase
  /** `sap-client`, `sap-language`. */
  params: Array<[string, string | undefined]>
}

/** Every entry of `DeltaLinksOf…`, following `__next`, ordered oldest first. */
export async function readDeltaLinks(
  service: ServiceContext,
  set: string,
  opts: { signal?: AbortSignal; jar?: CookieJar } = {},
): Promise<DeltaLinkEntry[]> {
  const { http, svc, params } = service
  const { signal, jar } = opts
  const out: DeltaLinkEntry[] = []
  let url: string | undefined = withParams(`${svc.base}/${encodeURIComponent(set)}?$format=json`, params)
  for (let page = 0; url !== undefined && page < MAX_PAGES; page++) {
    const { json } = await httpGetJson(http, url, { signal, jar })
    const d = (json as { d?: unknown } | null)?.d
    const results = Array.isArray(d) ? d : (d as { results?: unknown } | undefined)?.results
    if (!Array.isArray(results)) throw new SourceError('SOURCE_PROTOCOL', `response of GET ${redactUrl(url)} has no d.results array`)
    for (const r of results) out.push(entry(r, set))
    const next = (d as { __next?: unknown } | undefined)?.__next
    url = typeof next === 'string' && next !== '' ? withParams(pinToService(next, svc).url, params) : undefined
  }
  return out.sort(newerLast)
}

function entry(r: unknown, set: string): DeltaLinkEntry {
  const o = (r ?? {}) as Record<string, unknown>
  try {
    const token = o['DeltaToken']
    if (typeof token !== 'string' || token === '') throw new ValueError('DeltaToken is missing')
    return { token, createdAt: toTimestamp(o['CreatedAt']) as Date, isInitialLoad: toBoolean(o['IsInitialLoad']) as boolean }
  } catch (e) {
    if (!(e instanceof ValueError)) throw e
    throw new SourceError('SOURCE_PROTOCOL', `${set} entry ${JSON.stringify(o['DeltaToken'] ?? null)} is malformed: ${e.message}`)
  }
}

/**
 * The newest entry; right after an init the newest `IsInitialLoad=true` one (A.6.5, erpl-web PR #171).
 */
export function pickDeltaLink(entries: DeltaLinkEntry[], afterInit: boolean): DeltaLinkEntry | undefined {
  const pool = afterInit && entries.some((e) => e.isInitialLoad) ? entries.filter((e) => e.isInitialLoad) : entries
  let best: DeltaLinkEntry | undefined
  for (const e of pool) if (!best || newerLast(best, e) < 0) best = e
  return best
}

/**
 * Orders by CreatedAt. CreatedAt has second precision, so ties are broken by the token text: SAP's
 * tokens are `D<yyyymmddhhmmss>_<9-digit sequence>` and sort by creation as text.
 */
function newerLast(a: DeltaLinkEntry, b: DeltaLinkEntry): number {
  return a.createdAt.getTime() - b.createdAt.getTime() || (a.token < b.token ? -1 : a.token > b.token ? 1 : 0)
}
