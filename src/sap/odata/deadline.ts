/**
 * A per-request timeout that covers the body (docs/sap-protocols.md#a-6-1: a page may stream for long),
 * without counting the time the caller holds a chunk.
 */

/**
 * The abort signal of one attempt: the caller's signal plus a timeout that counts only the time the
 * request waits for SAP. While the caller works on a yielded chunk the clock stops, so a slow
 * consumer (back-pressure) is not mistaken for a slow SAP.
 */
export class Deadline {
  private readonly ctl = new AbortController()
  private readonly startedAt = performance.now()
  private readonly onAbort: () => void
  private timer: NodeJS.Timeout | undefined
  private pausedAt = -1
  private pausedMs = 0
  private disposed = false
  timedOut = false

  constructor(
    private readonly ms: number,
    private readonly outer?: AbortSignal,
  ) {
    this.onAbort = () => this.ctl.abort(outer?.reason)
    outer?.addEventListener('abort', this.onAbort, { once: true })
    this.arm(ms)
  }

  get signal(): AbortSignal {
    return this.ctl.signal
  }

  pause(): void {
    this.pausedAt = performance.now()
  }

  resume(): void {
    if (this.pausedAt < 0) return
    this.pausedMs += performance.now() - this.pausedAt
    this.pausedAt = -1
    if (!this.timer && !this.disposed) this.arm(this.ms - this.activeMs())
  }

  dispose(): void {
    this.disposed = true
    clearTimeout(this.timer)
    this.timer = undefined
    this.outer?.removeEventListener('abort', this.onAbort)
  }

  private activeMs(): number {
    return performance.now() - this.startedAt - this.pausedMs
  }

  // One timer per attempt, re-armed for the remainder when it fires early (time spent paused).
  private arm(delay: number): void {
    this.timer = setTimeout(
      () => {
        this.timer = undefined
        if (this.pausedAt >= 0) return // resume() re-arms
        const left = this.ms - this.activeMs()
        if (left > 1) return this.arm(left)
        this.timedOut = true
        this.ctl.abort(new DOMException('request timed out', 'TimeoutError'))
      },
      Math.max(0, delay),
    )
  }
}
