import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'
import type { ApiToken, Db } from '../db/client.js'
import { conflict, notFound } from '../errors.js'
import { isUniqueViolation } from '../catalog/prisma-errors.js'
import { nameSchema, parseInput } from '../catalog/validate.js'
import type { Broadcast } from '../util/broadcast.js'
import { firstControl } from '../util/control-chars.js'
import type { Logger } from '../util/logger.js'
import { CLI_ACTOR } from './audit.js'
import { ROLES, type Principal, type Role } from './roles.js'

/** Prefix of every secret: recognisable in a leaked config file or a secret scanner's rules. */
const TOKEN_PREFIX = 'dex_'
/** dex_ + 43 base64url characters (32 random bytes). */
const TOKEN_SHAPE = /^dex_[A-Za-z0-9_-]{43}$/

/**
 * How long an authenticated token is trusted without asking the database again. A revoke in this
 * process takes effect at once (the cache entry is dropped and open sockets are told); a revoke
 * from another process (the CLI, a second instance) is seen within this time, or at once when the
 * instances share Redis (REDIS_URL).
 */
const RECHECK_MS = 5_000
/** lastUsedAt is written at most this often per token, so a busy client does not write on every request. */
const LAST_USED_EVERY_MS = 60_000

export interface CreatedToken {
  /** The secret, shown once and never stored. */
  token: string
  apiToken: ApiToken
}

type RevokeListener = () => void

/**
 * A token's name is the audit trail's actor: the command line's own name is not available, and
 * control characters are refused here too, so the command line (which has no GraphQL input guard
 * in front of it) holds names to the same rule as the API.
 */
const tokenName = z
  .string()
  .superRefine((n, ctx) => {
    const code = firstControl(n)
    if (code) ctx.addIssue({ code: 'custom', message: `must not contain control characters (found ${code})` })
  })
  .pipe(nameSchema)
  .refine((n) => n.toLowerCase() !== CLI_ACTOR, {
    message: `"${CLI_ACTOR}" is reserved: it is the audit trail's name for the command line`,
  })
const createSchema = z.object({ name: tokenName, role: z.enum(ROLES) })

const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex')

/**
 * API tokens: creation (random, shown once, stored as a hash), authentication with a short cache,
 * revocation that reaches every open subscription of the token. One instance per service.
 */
export class TokenService {
  readonly #cache = new Map<string, { principal: Principal; checkedAt: number }>()
  readonly #lastUsedWritten = new Map<string, number>()
  readonly #listeners = new Map<string, Set<RevokeListener>>()
  #sweep: NodeJS.Timeout | undefined
  readonly #stopHearingRevokes?: () => void

  /**
   * `revocations` carries revokes between the instances of a deployment (Redis), so another
   * instance drops the token and closes its streams at once rather than within RECHECK_MS.
   */
  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly revocations?: Broadcast,
  ) {
    this.#stopHearingRevokes = revocations?.listen((tokenId) => this.#revoked(tokenId))
  }

  async create(input: { name: string; role: Role | string }): Promise<CreatedToken> {
    const { name, role } = parseInput(createSchema, input)
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url')
    try {
      const apiToken = await this.db.apiToken.create({ data: { name, role, tokenHash: hashToken(token) } })
      return { token, apiToken }
    } catch (e) {
      if (isUniqueViolation(e, 'name'))
        throw conflict(`a token named "${name}" already exists (revoked tokens keep their names)`, { field: 'name' })
      throw e
    }
  }

  list(): Promise<ApiToken[]> {
    return this.db.apiToken.findMany({ orderBy: { createdAt: 'asc' } })
  }

  count(): Promise<number> {
    return this.db.apiToken.count()
  }

  /** Revokes by id or name. Revoking a revoked token changes nothing and returns it as it is. */
  async revoke(ref: string): Promise<ApiToken> {
    const found = await this.db.apiToken.findFirst({ where: { OR: [{ id: ref }, { name: ref }] } })
    if (!found) throw notFound('ApiToken', ref)
    const token = found.revokedAt ? found : await this.db.apiToken.update({ where: { id: found.id }, data: { revokedAt: new Date() } })
    this.#revoked(token.id)
    this.revocations?.send(token.id)
    return token
  }

  /** The principal a secret stands for, or undefined when it is unknown, malformed or revoked. */
  async authenticate(secret: string): Promise<Principal | undefined> {
    if (!TOKEN_SHAPE.test(secret)) return undefined
    const hash = hashToken(secret)
    const cached = this.#cache.get(hash)
    if (cached && Date.now() - cached.checkedAt < RECHECK_MS) return this.#used(cached.principal)
    const row = await this.db.apiToken.findUnique({ where: { tokenHash: hash } })
    // The index lookup found the row by hash; comparing again in constant time costs nothing and
    // keeps the check independent of how the database compares strings.
    if (!row || row.revokedAt || !timingSafeEqual(Buffer.from(row.tokenHash, 'hex'), Buffer.from(hash, 'hex'))) {
      this.#cache.delete(hash)
      return undefined
    }
    const principal: Principal = { tokenId: row.id, name: row.name, role: row.role }
    this.#cache.set(hash, { principal, checkedAt: Date.now() })
    return this.#used(principal)
  }

  /**
   * Whether a principal resolved earlier (for a websocket connection) is still valid: asked before
   * each operation. Answers from the cache within RECHECK_MS.
   */
  async isActive(principal: Principal): Promise<boolean> {
    for (const entry of this.#cache.values())
      if (entry.principal.tokenId === principal.tokenId && Date.now() - entry.checkedAt < RECHECK_MS) return true
    const row = await this.db.apiToken.findUnique({ where: { id: principal.tokenId }, select: { revokedAt: true, tokenHash: true } })
    if (!row || row.revokedAt) {
      this.#revoked(principal.tokenId)
      return false
    }
    this.#cache.set(row.tokenHash, { principal, checkedAt: Date.now() })
    return true
  }

  /**
   * Calls `listener` once when the token is revoked, here or (within RECHECK_MS) in another
   * process. Returns the function that stops listening.
   */
  onRevoke(tokenId: string, listener: RevokeListener): () => void {
    let set = this.#listeners.get(tokenId)
    if (!set) this.#listeners.set(tokenId, (set = new Set()))
    set.add(listener)
    this.#sweep ??= setInterval(() => void this.#sweepRevoked(), RECHECK_MS).unref()
    return () => {
      set.delete(listener)
      if (!set.size) this.#listeners.delete(tokenId)
      if (!this.#listeners.size) this.#stopSweep()
    }
  }

  close(): void {
    this.#stopHearingRevokes?.()
    this.#stopSweep()
    this.#listeners.clear()
  }

  #stopSweep() {
    if (this.#sweep) clearInterval(this.#sweep)
    this.#sweep = undefined
  }

  /** Revocations made by other processes, for tokens that have open subscriptions here. */
  async #sweepRevoked() {
    const ids = [...this.#listeners.keys()]
    if (!ids.length) return
    try {
      const revoked = await this.db.apiToken.findMany({ where: { id: { in: ids }, revokedAt: { not: null } }, select: { id: true } })
      for (const { id } of revoked) this.#revoked(id)
    } catch (err) {
      this.log.warn({ err }, 'could not check API tokens for revocation')
    }
  }

  #revoked(tokenId: string) {
    for (const [hash, entry] of this.#cache) if (entry.principal.tokenId === tokenId) this.#cache.delete(hash)
    const listeners = this.#listeners.get(tokenId)
    this.#listeners.delete(tokenId)
    for (const listener of listeners ?? []) listener()
  }

  #used(principal: Principal): Principal {
    const now = Date.now()
    if (now - (this.#lastUsedWritten.get(principal.tokenId) ?? 0) >= LAST_USED_EVERY_MS) {
      this.#lastUsedWritten.set(principal.tokenId, now)
      this.db.apiToken
        .update({ where: { id: principal.tokenId }, data: { lastUsedAt: new Date(now) } })
        .catch((err) => this.log.warn({ err, tokenId: principal.tokenId }, 'could not record lastUsedAt'))
    }
    return principal
  }
}
