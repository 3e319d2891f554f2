/**
 * ODQ subscriptions and their delta tokens. One subscription per (user, service, entity set) — the
 * identity SAP uses (docs/sap-protocols.md A.6.6); each token names a position in the change log.
 */
import { pad } from '../model/prng.js'
import type { SimulatorVariants } from '../types.js'

export interface TokenRec {
  token: string
  /** Global issue order; 'gone' compares it with `Subscription.maxUsedSeq`. */
  seq: number
  createdAt: number
  isInitialLoad: boolean
  /** Change-log position: the token's delta delivers changes with seq > position. */
  position: number
  expired: boolean
  sub: Subscription
}

export interface Subscription {
  user: string
  service: string
  entitySet: string
  /** Canonical selection the subscription was created with (compared on every delta). */
  select?: string
  filter?: string
  /** The selection as the client sent it (reported by the admin API). */
  selectRaw?: string
  filterRaw?: string
  tokens: TokenRec[]
  alive: boolean
  /** Highest token seq a delta fetch has started from. */
  maxUsedSeq: number
  /** Id of the open read holding the subscription (RSODP_ODATA/013 for anyone else). */
  openReadId?: string
}

export type TokenVerdict = { ok: true; rec: TokenRec } | { ok: false }

export class SubscriptionRegistry {
  private readonly byKey = new Map<string, Subscription>()
  private readonly byToken = new Map<string, TokenRec>()
  private tokenSeq = 0
  private lastTokenSecond = 0

  get(user: string, service: string, entitySet: string): Subscription | undefined {
    return this.byKey.get(keyOf(user, service, entitySet))
  }

  /** Creates a subscription, killing the one it replaces (its tokens die with it). */
  create(init: Pick<Subscription, 'user' | 'service' | 'entitySet' | 'select' | 'filter' | 'selectRaw' | 'filterRaw'>): Subscription {
    this.terminate(init.user, init.service, init.entitySet)
    const sub: Subscription = { ...init, tokens: [], alive: true, maxUsedSeq: 0 }
    this.byKey.set(keyOf(init.user, init.service, init.entitySet), sub)
    return sub
  }

  /** Kills the subscription and every token of it; true if one existed. */
  terminate(user: string, service: string, entitySet: string): boolean {
    const key = keyOf(user, service, entitySet)
    const sub = this.byKey.get(key)
    if (!sub) return false
    sub.alive = false
    for (const t of sub.tokens) this.byToken.delete(t.token)
    this.byKey.delete(key)
    return true
  }

  /**
   * A new token at `position`. CreatedAt comes from a clock that advances at least one second per token:
   * DeltaLinksOf exposes CreatedAt with Precision 0, and "newest by CreatedAt" must never tie.
   */
  issue(sub: Subscription, position: number, isInitialLoad: boolean): TokenRec {
    const second = Math.max(Math.floor(Date.now() / 1000), this.lastTokenSecond + 1)
    this.lastTokenSecond = second
    const seq = ++this.tokenSeq
    const createdAt = second * 1000
    const rec: TokenRec = {
      token: `D${stamp(createdAt)}_${pad(seq * 1000, 9)}`,
      seq,
      createdAt,
      isInitialLoad,
      position,
      expired: false,
      sub,
    }
    sub.tokens.push(rec)
    this.byToken.set(rec.token, rec)
    return rec
  }

  /** Takes back a token whose response never fully reached the client. */
  revoke(rec: TokenRec): void {
    rec.sub.tokens = rec.sub.tokens.filter((t) => t !== rec)
    this.byToken.delete(rec.token)
  }

  /** Whether `token` may start a delta for (user, entity set) under the current variants. */
  check(token: string, user: string, entitySet: string, variants: SimulatorVariants): TokenVerdict {
    const rec = this.byToken.get(token)
    if (!rec?.sub.alive || rec.expired) return { ok: false }
    if (rec.sub.user !== user || rec.sub.entitySet !== entitySet) return { ok: false }
    if (variants.oldTokens === 'gone' && rec.seq < rec.sub.maxUsedSeq) return { ok: false }
    return { ok: true, rec }
  }

  /** Tokens DeltaLinksOf shows: those of the caller's live subscription that still work. */
  listed(user: string, service: string, entitySet: string, variants: SimulatorVariants): TokenRec[] {
    const sub = this.get(user, service, entitySet)
    if (!sub) return []
    return sub.tokens.filter((t) => this.check(t.token, user, entitySet, variants).ok)
  }

  expire(entitySet: string, user?: string): void {
    for (const sub of this.byKey.values()) {
      if (sub.entitySet === entitySet && (user === undefined || sub.user === user)) {
        for (const t of sub.tokens) t.expired = true
      }
    }
  }

  all(): Subscription[] {
    return [...this.byKey.values()]
  }
}

function keyOf(user: string, service: string, entitySet: string): string {
  return `${user}\u0000${service}\u0000${entitySet}`
}

/** 'yyyymmddhhmmss' (UTC) for the token, as in D20250914154609_000019000. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14)
}
