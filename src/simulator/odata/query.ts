/**
 * Query options and request preferences of an OData v2 request, validated the way SAP Gateway would:
 * an unknown `$` option, an unknown `$select` property or a malformed number is a 400.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { FieldDef } from '../model/fields.js'
import { badRequest, MSG, SapHttpError } from './errors.js'

export interface QueryOptions {
  format?: string
  select?: string
  filter?: string
  inlinecount?: string
  orderby?: string
  top?: number
  skip?: number
  skiptoken?: string
  /** `!deltatoken` with the quotes removed. */
  deltatoken?: string
  sapClient?: string
}

const SYSTEM_OPTIONS = new Set(['$format', '$select', '$filter', '$inlinecount', '$orderby', '$top', '$skip', '$skiptoken'])

function nonNegativeInt(name: string, text: string): number {
  if (!/^\d+$/.test(text)) throw badRequest(`Invalid value '${text}' for system query option ${name}`)
  return Number(text)
}

/** Strips one pair of single quotes: SAP quotes tokens in its own links, erpl-web sends them bare. */
function unquote(text: string): string {
  return text.length >= 2 && text.startsWith("'") && text.endsWith("'") ? text.slice(1, -1) : text
}

export function parseQuery(params: URLSearchParams): QueryOptions {
  const q: QueryOptions = {}
  for (const name of new Set(params.keys())) {
    const value = params.get(name)!
    if (name.startsWith('$')) {
      if (!SYSTEM_OPTIONS.has(name)) throw badRequest(`System query option '${name}' is not supported`)
    }
    switch (name) {
      case '$format':
        q.format = value
        break
      case '$select':
        q.select = value
        break
      case '$filter':
        q.filter = value
        break
      case '$inlinecount':
        if (value !== 'allpages' && value !== 'none') throw badRequest(`Invalid value '${value}' for $inlinecount`)
        q.inlinecount = value
        break
      case '$orderby':
        q.orderby = value
        break
      case '$top':
        q.top = nonNegativeInt(name, value)
        break
      case '$skip':
        q.skip = nonNegativeInt(name, value)
        break
      case '$skiptoken':
        q.skiptoken = unquote(value)
        break
      case '!deltatoken':
        q.deltatoken = unquote(value)
        break
      case 'sap-client':
        q.sapClient = value
        break
      default:
      // other custom options (sap-language, sap-ds-debug, …) are accepted and ignored
    }
  }
  return q
}

/** Whether the client asked for JSON; this simulator serves no Atom feeds (406 tells a client it forgot). */
export function wantsJson(q: QueryOptions, headers: IncomingHttpHeaders): boolean {
  if (q.format !== undefined) {
    if (q.format === 'json') return true
    throw new SapHttpError(406, MSG.notAcceptable, `Format '${q.format}' is not served by this simulator; use $format=json`)
  }
  return /application\/json/i.test(headers.accept ?? '')
}

export function requireJson(q: QueryOptions, headers: IncomingHttpHeaders): void {
  if (!wantsJson(q, headers)) {
    throw new SapHttpError(
      406,
      MSG.notAcceptable,
      'SAP answers Atom XML by default; this simulator serves JSON only: send $format=json or Accept: application/json',
    )
  }
}

export interface Selection {
  /** Projected properties in metadata order; undefined = all. */
  fields?: FieldDef[]
  /** Canonical text for comparing selections ('' = all). */
  canonical: string
}

export function resolveSelect(text: string | undefined, properties: readonly FieldDef[]): Selection {
  if (text === undefined || text.trim() === '' || text.trim() === '*') return { canonical: '' }
  const names = new Set(text.split(',').map((s) => s.trim()))
  for (const n of names) {
    if (!properties.some((f) => f.name === n)) throw badRequest(`Property '${n}' not found in $select`)
  }
  const fields = properties.filter((f) => names.has(f.name))
  return { fields, canonical: fields.map((f) => f.name).join(',') }
}

export interface Preferences {
  trackChanges: boolean
  maxPageSize?: number
}

/** `Prefer: odata.track-changes, odata.maxpagesize=5000` (comma-separated; several headers allowed). */
export function parsePrefer(headers: IncomingHttpHeaders): Preferences {
  const raw = headers.prefer
  const text = Array.isArray(raw) ? raw.join(',') : (raw ?? '')
  const prefs: Preferences = { trackChanges: false }
  for (const part of text.split(',')) {
    const [name, value] = part.split('=').map((s) => s.trim())
    if (name.toLowerCase() === 'odata.track-changes') prefs.trackChanges = true
    if (name.toLowerCase() === 'odata.maxpagesize' && value !== undefined) {
      const n = Number(value.replace(/"/g, ''))
      // an unusable preference is ignored, as RFC 7240 asks
      if (Number.isInteger(n) && n > 0) prefs.maxPageSize = n
    }
  }
  return prefs
}
