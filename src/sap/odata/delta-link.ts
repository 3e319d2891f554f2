/**
 * Delta links and tokens (docs/sap-protocols.md §A.6.3–A.6.5). Tokens are opaque
 * (`D20250914154609_000019000` in practice); links come in several spellings that all name one token.
 */
import { SourceError } from '../errors.js'
import { redactUrl } from './urls.js'

/** `!deltatoken=` (SAP), `$deltatoken=` (generic OData), also percent-encoded sigils. */
const TOKEN_PARAM_RE = /[?&](?:!|%21|\$|%24)deltatoken=([^&#]*)/i
/** `DeltaLinksOfX('T')/ChangesAfter` and `DeltaLinksOfX(DeltaToken='T')`. */
const DELTA_LINKS_KEY_RE = /DeltaLinksOf[^/(?]*\(\s*(?:DeltaToken\s*=\s*)?(?:'|%27)(.*?)(?:'|%27)\s*\)/i
/** Paging parameters: a link carrying one of these continues the current read. */
const PAGING_PARAM_RE = /[?&](?:\$|%24|!|%21)?(?:skiptoken|skip)=/i
const TOKEN_CHARS_RE = /^[^\s/?&#=()'"]+$/

/**
 * The bare delta token from any form a link or token is stored in: a full `__delta` URL (quoted or
 * not, `!deltatoken` or `$deltatoken`, percent-encoded), a `DeltaLinksOf…('T')/ChangesAfter` URL,
 * a quoted token or a bare token. Throws SOURCE_BAD_REQUEST when no token can be found.
 */
export function parseDeltaToken(linkOrToken: string): string {
  const text = linkOrToken.trim()
  let token: string | undefined
  const param = TOKEN_PARAM_RE.exec(text)
  if (param) token = safeDecode(param[1])
  else {
    const key = DELTA_LINKS_KEY_RE.exec(text)
    if (key) token = safeDecode(key[1])
    else token = text
  }
  token = unquote(token.trim())
  if (!TOKEN_CHARS_RE.test(token)) {
    throw new SourceError('SOURCE_BAD_REQUEST', `no delta token found in ${JSON.stringify(redactUrl(text).slice(0, 200))}`)
  }
  return token
}

/** True when the URL carries a delta token (`!deltatoken` / `$deltatoken`). */
export function hasDeltaToken(url: string): boolean {
  return TOKEN_PARAM_RE.test(url) || DELTA_LINKS_KEY_RE.test(url)
}

/**
 * Whether a `d.__next` is really the next delta link (A.6.5 case 2) rather than a page. A delta read's
 * own continuation pages also carry `!deltatoken` (the token being read, A.9 step 4) but always
 * with a `$skiptoken`, so: a token and no paging parameter = delta link, whatever `results` holds.
 */
export function isTerminalDeltaNext(next: string): boolean {
  return hasDeltaToken(next) && !PAGING_PARAM_RE.test(next)
}

/** `'T'` → `T`; also `"T"`. */
function unquote(s: string): string {
  if (s.length >= 2 && ((s[0] === "'" && s.at(-1) === "'") || (s[0] === '"' && s.at(-1) === '"'))) return s.slice(1, -1)
  return s
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, '%20'))
  } catch {
    return s
  }
}

/** True when the text looks like a URL or path rather than a bare token. */
export function isLink(linkOrToken: string): boolean {
  return /[/?]/.test(linkOrToken)
}
