/**
 * Mutations per token per minute, in fixed one-minute windows. Kept in this process: a second
 * instance has its own budget (a shared one needs Redis, planned with queue mode).
 */
export class MutationRateLimiter {
  readonly #windows = new Map<string, { start: number; used: number }>()

  constructor(private readonly perMinute: number) {}

  /** Takes `n` mutations from the token's budget; false (and nothing taken) when they do not fit. */
  take(tokenId: string, n: number, now = Date.now()): boolean {
    if (this.perMinute <= 0) return true
    let w = this.#windows.get(tokenId)
    if (!w || now - w.start >= 60_000) this.#windows.set(tokenId, (w = { start: now, used: 0 }))
    if (w.used + n > this.perMinute) return false
    w.used += n
    return true
  }

  /** Seconds until the token's window starts over. */
  retryAfter(tokenId: string, now = Date.now()): number {
    const w = this.#windows.get(tokenId)
    return w ? Math.max(1, Math.ceil((w.start + 60_000 - now) / 1000)) : 1
  }
}
