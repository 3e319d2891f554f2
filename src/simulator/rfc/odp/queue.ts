/**
 * The operational delta queue behind the RODPS_REPL_* modules (docs/sap-protocols.md §0, B.3, B.5).
 *
 * Subscription = subscriber type × name × process × ODP, created by the first delta open (the delta init,
 * with data) and holding the selection it was created with. Requests (pointers) are full snapshots (F),
 * the init snapshot, or deltas = the change-log range (confirmed position, change sequence at open].
 * A snapshot is a `TableSnapshot`, so repeating a request re-reads exactly the same rows and changes.
 *
 * Confirmation [INFERRED from B.3 and ODQ semantics, the reference has no wire facts]:
 * - With I_EXPLICIT_CLOSE='X' a request is confirmed only by RODPS_REPL_ODP_CLOSE. While the latest
 *   request of a subscription is unconfirmed, mode D is refused (repeat it with R, or close it): a client
 *   that crashed mid-delta can therefore never skip data silently.
 * - Without it, the request is confirmed by CLOSE or implicitly when the next D request opens (B.3 "counts
 *   as retrieved when it is closed / when the next delta request for the same process is opened").
 * - Mode R repeats the latest request of the subscription (unconfirmed or not — ODQ keeps confirmed data
 *   24 h for repeats, §0 retention) with the same data in the same order; the repeated pointer is cancelled.
 * - Retention (24 h / 1 week) and ODQ cleanup are not simulated: nothing expires.
 */
import type { TableSnapshot } from '../../data/table.js'
import { pad } from '../../model/prng.js'
import type { ChangeRef, SapRow } from '../../types.js'
import type { DdicField } from '../ddic/ddic.js'
import type { OdpDataSet } from '../state.js'
import type { OdqTech } from './raw.js'
import { formatRecord, recordBytes } from './raw.js'
import type { Selection } from './selection.js'

export type RequestKind = 'full' | 'init' | 'delta'

export interface SubscriberId {
  type: string
  name: string
  process: string
}

export interface OdqSubscription {
  key: string
  subscriber: SubscriberId
  context: string
  odpName: string
  selection: Selection
  /** Changes with a higher sequence are not yet confirmed (-1 before the init is confirmed). */
  confirmedSeq: number
  requests: OdqRequest[]
}

export interface PackageRec {
  id: string
  /** Record positions [start, end) in the request's record stream. */
  start: number
  end: number
  last: boolean
}

export interface OdqRequest {
  pointer: string
  mode: 'F' | 'D' | 'R'
  kind: RequestKind
  state: 'open' | 'closed' | 'cancelled'
  explicitClose: boolean
  subscriber: SubscriberId
  context: string
  odpName: string
  ds: OdpDataSet
  sub?: OdqSubscription
  /** full/init: the rows as of this snapshot. */
  snapshot: TableSnapshot
  /** delta: changes with fromSeq < seq ≤ toSeq; init: toSeq = the snapshot's sequence. */
  fromSeq: number
  toSeq: number
  selection: Selection
  fields: DdicField[]
  updateImages: 'before-and-after' | 'after-only'
  maxPackageSize: number
  packages: PackageRec[]
  repeatOf?: string
}

/** A refusal reported in ET_RETURN (message class RODPS_REPL, numbers [INFERRED placeholders]). */
export class OdqMessage extends Error {
  constructor(
    readonly number: string,
    message: string,
    readonly vars: string[] = [],
    readonly type: 'E' | 'W' | 'A' | 'X' = 'E',
  ) {
    super(message)
  }
}

interface Image {
  row: SapRow
  tech: OdqTech
}

/** Delta images of one change (§0 change-mode table). */
function imagesOf(c: ChangeRef, updates: OdqRequest['updateImages']): Image[] {
  switch (c.mode) {
    case 'C':
      return [{ row: c.after!, tech: { changeMode: 'C', entityCounter: 1 } }]
    case 'D':
      return [{ row: c.before!, tech: { changeMode: 'D', entityCounter: -1 } }]
    default:
      return updates === 'after-only'
        ? [{ row: c.after!, tech: { changeMode: 'U', entityCounter: 1 } }]
        : [
            { row: c.before!, tech: { changeMode: 'U', entityCounter: -1 } },
            { row: c.after!, tech: { changeMode: 'U', entityCounter: 1 } },
          ]
  }
}

/** The record at or after stream position `pos`, and the position after it. */
function nextRecord(req: OdqRequest, pos: number): { text: string; next: number } | undefined {
  const table = req.ds.table
  if (req.kind !== 'delta') {
    const odq: OdqTech | undefined = req.kind === 'init' ? { changeMode: '', entityCounter: 0 } : undefined
    for (let slot = pos; slot < req.snapshot.slotCount; slot++) {
      const row = table.rowAt(slot, req.snapshot)
      if (row !== null && req.selection.matches(row)) return { text: formatRecord(req.fields, row, odq), next: slot + 1 }
    }
    return undefined
  }
  // position = 2 × (change index within the range) + image index
  const first = table.logIndexAfter(req.fromSeq)
  const end = table.logIndexAfter(req.toSeq)
  for (let p = pos; first + Math.floor(p / 2) < end; p++) {
    const images = imagesOf(table.log[first + Math.floor(p / 2)], req.updateImages)
    const img = images[p % 2]
    if (img && req.selection.matches(img.row)) return { text: formatRecord(req.fields, img.row, img.tech), next: p + 1 }
  }
  return undefined
}

/** Records of [start, end) — a package re-read (I_REDO, R) yields the same records. */
export function packageRecords(req: OdqRequest, pkg: PackageRec): string[] {
  const out: string[] = []
  for (let pos = pkg.start; pos < pkg.end; ) {
    const r = nextRecord(req, pos)
    if (!r || r.next > pkg.end) break
    out.push(r.text)
    pos = r.next
  }
  return out
}

/** Cuts the next package from `start`: records until the next would exceed `maxBytes` (at least one). */
export function cutPackage(req: OdqRequest, start: number, maxBytes: number): { records: string[]; end: number; more: boolean } {
  const records: string[] = []
  let bytes = 0
  let pos = start
  for (;;) {
    const r = nextRecord(req, pos)
    if (!r) return { records, end: pos, more: false }
    const size = recordBytes(r.text)
    if (records.length > 0 && bytes + size > maxBytes) return { records, end: pos, more: true }
    records.push(r.text)
    bytes += size
    pos = r.next
  }
}

export class OdqStore {
  readonly subs = new Map<string, OdqSubscription>()
  readonly requests = new Map<string, OdqRequest>()
  private counter = 0

  static key(s: SubscriberId, context: string, odpName: string): string {
    return [s.type, s.name, s.process, context, odpName].join('\u0000')
  }

  /** A TSN-like pointer: system time + '.' + 9-digit counter (ODQ_TSN is DEC 23,9, §0) [INFERRED format]. */
  newPointer(now: string): string {
    return `${now}.${pad(++this.counter, 9)}`
  }

  add(req: OdqRequest): OdqRequest {
    this.requests.set(req.pointer, req)
    req.sub?.requests.push(req)
    return req
  }

  /** Confirms a request: its subscription's next delta starts after it. */
  confirm(req: OdqRequest): void {
    req.state = 'closed'
    if (req.sub && req.kind !== 'full') req.sub.confirmedSeq = Math.max(req.sub.confirmedSeq, req.toSeq)
  }

  /** Deletes a subscription with all its requests (RODPS_REPL_ODP_RESET); false if none existed. */
  reset(key: string): boolean {
    const sub = this.subs.get(key)
    if (!sub) return false
    for (const r of sub.requests) {
      if (r.state === 'open') r.state = 'cancelled'
      this.requests.delete(r.pointer)
    }
    this.subs.delete(key)
    return true
  }
}
