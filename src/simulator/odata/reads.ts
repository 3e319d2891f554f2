/**
 * Open (paged) read requests. A read lives from its first page until its last page is handed over,
 * the client aborts it, (with variant faultEndsRead) a fault ends it, or it idles longer than
 * `openRequestIdleMs` — like an ODQ
 * extraction request, which is why a second read of the same subscription is refused meanwhile.
 */
import { randomBytes } from 'node:crypto'
import type { ReadKind } from '../data/faults.js'
import type { Subscription, TokenRec } from '../data/subscriptions.js'
import type { EntityDef } from '../model/fields.js'
import type { SimulatorVariants } from '../types.js'
import type { PageCursor } from './cursors.js'
import type { Selection } from './query.js'
import type { OutRow } from './serialize.js'

export interface OpenRead {
  id: string
  kind: ReadKind
  def: EntityDef
  user: string
  sub?: Subscription
  /** The token a delta read started from. */
  inputToken?: TokenRec
  cursor: PageCursor
  writeRow: (o: OutRow) => string
  /** Rows the whole read delivers (known up front so the last page is known before its headers go out). */
  total: number
  delivered: number
  pageSize?: number
  trackChangesRequested: boolean
  /** Page number the next request must carry (1 = the initial GET). */
  nextPage: number
  /** All data pages are out; only the terminal `__next` page of variant terminal-next remains. */
  dataDone: boolean
  /** Change-log position the read is cut at (the position of the token it ends with). */
  snapshotSeq: number
  variants: SimulatorVariants
  selection: Selection
  selectRaw?: string
  filterRaw?: string
  inlineCount: boolean
  sapClient?: string
  serviceRoot: string
  /** A page of this read is being served right now. */
  busy: boolean
  /** Counts pages started, so a late 'finish' of page n does not arm the idle clock while page n+1 runs. */
  generation: number
  closed: boolean
  timer?: NodeJS.Timeout
}

export class ReadRegistry {
  private readonly reads = new Map<string, OpenRead>()
  private counter = 0

  constructor(private readonly idleMs: number) {}

  newId(): string {
    return `${++this.counter}.${randomBytes(6).toString('hex')}`
  }

  add(read: OpenRead): void {
    this.reads.set(read.id, read)
    if (read.sub) read.sub.openReadId = read.id
  }

  get(id: string): OpenRead | undefined {
    const read = this.reads.get(id)
    return read && !read.closed ? read : undefined
  }

  /** Whether the subscription is held by an open read. */
  holds(sub: Subscription): boolean {
    return sub.openReadId !== undefined && this.get(sub.openReadId) !== undefined
  }

  /** Ends a read (idempotent) and releases its subscription. */
  close(read: OpenRead): void {
    if (read.closed) return
    read.closed = true
    this.disarm(read)
    this.reads.delete(read.id)
    if (read.sub && read.sub.openReadId === read.id) read.sub.openReadId = undefined
  }

  /** Starts the idle clock after a page went out. */
  armIdle(read: OpenRead): void {
    this.disarm(read)
    if (read.closed) return
    read.timer = setTimeout(() => this.close(read), this.idleMs)
    read.timer.unref()
  }

  disarm(read: OpenRead): void {
    if (read.timer) clearTimeout(read.timer)
    read.timer = undefined
  }

  /** Reads of a subscription (used when TerminateDeltasFor kills it). */
  closeFor(sub: Subscription): void {
    for (const read of [...this.reads.values()]) if (read.sub === sub) this.close(read)
  }

  closeAll(): void {
    for (const read of [...this.reads.values()]) this.close(read)
  }

  get size(): number {
    return this.reads.size
  }
}

/** Opaque paging token: base64url of the read id and the page it continues with. */
export function encodeSkiptoken(readId: string, page: number): string {
  return Buffer.from(`${readId}:${page}`).toString('base64url')
}

export function decodeSkiptoken(token: string): { readId: string; page: number } | undefined {
  const text = Buffer.from(token, 'base64url').toString('utf8')
  const m = /^(\d+\.[0-9a-f]+):(\d+)$/.exec(text)
  return m ? { readId: m[1], page: Number(m[2]) } : undefined
}
