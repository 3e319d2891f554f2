/**
 * URL handling. Server links (`__next`, `__delta`) are kept as text and only appended to, because
 * re-serialising them through `URL` would re-encode SAP's `!deltatoken='…'` quoting.
 */
import { SourceError } from '../errors.js'

export interface ServiceBase {
  /** Origin + path without trailing slash, query or credentials. */
  base: string
  origin: string
  user?: string
  password?: string
  sapClient?: string
  language?: string
}

/**
 * Splits a configured service URL into base, credentials and SAP parameters given inline. Credentials
 * in a URL would otherwise travel in logs and error messages; they are moved to the Authorization header.
 */
export function parseServiceUrl(serviceUrl: string): ServiceBase {
  let u: URL
  try {
    u = new URL(serviceUrl.trim())
  } catch {
    throw new SourceError('SOURCE_BAD_REQUEST', `serviceUrl is not an absolute URL: ${JSON.stringify(redactUrl(serviceUrl))}`)
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new SourceError('SOURCE_BAD_REQUEST', `serviceUrl must be http(s): ${redactUrl(serviceUrl)}`)
  const out: ServiceBase = { base: `${u.origin}${u.pathname.replace(/\/+$/, '')}`, origin: u.origin }
  if (u.username) out.user = decodeURIComponent(u.username)
  if (u.password) out.password = decodeURIComponent(u.password)
  const client = u.searchParams.get('sap-client')
  const lang = u.searchParams.get('sap-language')
  if (client) out.sapClient = client
  if (lang) out.language = lang
  return out
}

const SECRET_PARAM_RE = /([?&](?:sap-password|password|passwd|pwd|access_token|client_secret)=)[^&#]*/gi

/** A URL fit for logs and error messages: no user-info, no password-like query parameters. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@?#]*@/i, '$1').replace(SECRET_PARAM_RE, '$1***')
}

/** Appends `name=value` pairs whose name is not yet in the query, leaving the rest of the text as is. */
export function withParams(url: string, params: Array<[string, string | undefined]>): string {
  let out = url
  for (const [name, value] of params) {
    if (value === undefined) continue
    const re = new RegExp(`[?&]${name.replace(/[$]/g, '\\$')}=`, 'i')
    if (re.test(out)) continue
    const hash = out.indexOf('#')
    const head = hash >= 0 ? out.slice(0, hash) : out
    const sep = head.includes('?') ? (head.endsWith('?') || head.endsWith('&') ? '' : '&') : '?'
    out = `${head}${sep}${name}=${value}`
  }
  return out
}

/**
 * Resolves a server link against the service and pins it to the configured origin. Links naming
 * another host (internal host names behind a web dispatcher, or a hostile server) are sent to the
 * configured origin instead, so Basic credentials never leave the host the user configured.
 */
export function pinToService(link: string, svc: ServiceBase): { url: string; rebased: boolean } {
  const abs = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(link)
  if (abs) {
    const rest = link.slice(abs[0].length)
    const url = svc.origin + (rest.startsWith('/') ? rest : `/${rest}`)
    let origin: string | undefined
    try {
      origin = new URL(abs[0]).origin
    } catch {
      origin = undefined
    }
    return { url, rebased: origin !== svc.origin }
  }
  if (link.startsWith('/')) return { url: svc.origin + link, rebased: false }
  return { url: `${svc.base}/${link}`, rebased: false }
}
