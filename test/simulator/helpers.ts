/**
 * Test helpers that talk to the simulator the way a client would: plain fetch, $metadata parsed with
 * fast-xml-parser, JSON rows turned back into ABAP notation from the metadata types alone (never from the
 * simulator's internal model), so a simulator bug cannot hide behind a shared helper.
 */
import { XMLParser } from 'fast-xml-parser'
import { expect } from 'vitest'
import type { SapRow, SapSimulator } from '../../src/simulator/index.js'

export const DEMO_AUTH = basic('DEMO', 'Welcome1!')

export function basic(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64')
}

export interface Reply {
  status: number
  headers: Headers
  text: string
  json: any
}

export async function get(url: string, headers: Record<string, string> = {}, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(url, { ...init, headers: { authorization: DEMO_AUTH, ...headers } })
  const text = await res.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.status, headers: res.headers, text, json }
}

/** Asserts a SAP error body (A.8) and returns it. */
export function expectSapError(
  reply: Reply,
  status: number,
  messagePattern?: RegExp,
): { code: string; message: string; details: Array<{ code: string; message: string }> } {
  expect(reply.status).toBe(status)
  expect(reply.headers.get('content-type')).toMatch(/application\/json/)
  const err = reply.json?.error
  expect(err, reply.text).toBeDefined()
  expect(err.message.lang).toBe('en')
  expect(Array.isArray(err.innererror.errordetails)).toBe(true)
  if (messagePattern) expect(err.message.value).toMatch(messagePattern)
  return { code: err.code, message: err.message.value, details: err.innererror.errordetails }
}

export interface ReadResult {
  rows: Array<Record<string, unknown>>
  pages: Reply[]
  /** The delta link from __delta or from a terminal __next (empty page whose __next carries !deltatoken). */
  deltaLink?: string
}

/** Follows __next like the reference client algorithm (A.9a) and collects every row. */
export async function readAll(url: string, headers: Record<string, string> = {}, followHeaders = headers): Promise<ReadResult> {
  const out: ReadResult = { rows: [], pages: [] }
  let next: string | undefined = url
  let h = headers
  while (next !== undefined) {
    const reply = await get(next, h)
    if (reply.status !== 200) throw new Error(`HTTP ${reply.status} on ${next}: ${reply.text}`)
    out.pages.push(reply)
    const d = reply.json.d
    out.rows.push(...d.results)
    next = undefined
    if (typeof d.__delta === 'string') out.deltaLink = d.__delta
    else if (typeof d.__next === 'string' && d.__next.includes('!deltatoken') && d.results.length === 0) out.deltaLink = d.__next
    else if (typeof d.__next === 'string') next = d.__next
    h = followHeaders
  }
  return out
}

export function tokenOf(link: string): string {
  const m = /!deltatoken=('?)([^'&]+)\1/.exec(decodeURIComponent(link))
  if (!m) throw new Error(`no token in ${link}`)
  return m[2]
}

export interface PropertyInfo {
  name: string
  type: string
  displayFormat?: string
  precision?: number
  filterable: boolean
  nullable: boolean
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  isArray: (name) =>
    [
      'EntityType',
      'Property',
      'PropertyRef',
      'EntitySet',
      'FunctionImport',
      'Association',
      'AssociationSet',
      'NavigationProperty',
      'End',
      'ComplexType',
    ].includes(name),
})

export function parseMetadata(xml: string): any {
  return parser.parse(xml)
}

/** Property list per entity type, from $metadata. */
export async function loadModel(sim: SapSimulator): Promise<Map<string, PropertyInfo[]>> {
  const reply = await get(`${sim.serviceUrl}/$metadata`)
  const schema = parseMetadata(reply.text)['edmx:Edmx']['edmx:DataServices'].Schema
  const model = new Map<string, PropertyInfo[]>()
  for (const et of schema.EntityType) {
    model.set(
      et['@Name'],
      et.Property.map((p: any) => ({
        name: p['@Name'],
        type: p['@Type'],
        displayFormat: p['@sap:display-format'],
        precision: p['@Precision'] !== undefined ? Number(p['@Precision']) : undefined,
        filterable: p['@sap:filterable'] !== 'false',
        nullable: p['@Nullable'] !== 'false',
      })),
    )
  }
  return model
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0')

function parseDate(text: string): number {
  const m = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/.exec(text)
  if (!m) throw new Error(`not a /Date(…)/ value: ${text}`)
  return Number(m[1])
}

function ymd(d: Date): string {
  return pad(d.getUTCFullYear(), 4) + pad(d.getUTCMonth() + 1, 2) + pad(d.getUTCDate(), 2)
}

/** A JSON row → ABAP notation (the SapRow contract), using only the metadata types. ODQ fields are dropped. */
export function toSapRow(json: Record<string, unknown>, props: PropertyInfo[]): SapRow {
  const row: SapRow = {}
  for (const p of props) {
    if (p.name.startsWith('ODQ_') || !(p.name in json)) continue
    const v = json[p.name]
    switch (p.type) {
      case 'Edm.DateTime':
        if (p.displayFormat === 'Date') row[p.name] = v === null ? '00000000' : ymd(new Date(parseDate(v as string)))
        else
          row[p.name] =
            v === null
              ? null
              : ymd(new Date(parseDate(v as string))) + new Date(parseDate(v as string)).toISOString().slice(11, 19).replace(/:/g, '')
        break
      case 'Edm.DateTimeOffset': {
        if (v === null) row[p.name] = null
        else {
          const d = new Date(parseDate(v as string))
          row[p.name] = ymd(d) + d.toISOString().slice(11, 19).replace(/:/g, '')
        }
        break
      }
      case 'Edm.Time': {
        if (v === null) {
          row[p.name] = null
          break
        }
        const m = /^PT(\d\d)H(\d\d)M(\d\d)(?:\.(\d+))?S$/.exec(v as string)
        if (!m) throw new Error(`bad Edm.Time ${String(v)}`)
        row[p.name] = m[1] + m[2] + m[3] + ((p.precision ?? 0) > 0 ? '.' + (m[4] ?? '').padEnd(p.precision!, '0') : '')
        break
      }
      default:
        row[p.name] = v as SapRow[string]
    }
  }
  return row
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

export function stripMeta(row: Record<string, unknown>): Record<string, unknown> {
  const { __metadata: _ignored, ...rest } = row
  return rest
}
