/**
 * Requests being served at once, per SAP user and in total, with the highest count seen. In SAP each
 * OData request occupies a dialog work process while it is served, and basis teams allot extraction a
 * few of them: this is the figure a concurrency limit on the client side must keep down, measured
 * where SAP would feel it rather than trusted from the client's own bookkeeping.
 */
import type { InFlight, InFlightStats } from '../types.js'

export class WorkProcessMeter {
  readonly #total: InFlight = { current: 0, max: 0 }
  readonly #byUser = new Map<string, InFlight>()

  /** Counts a request of `user` from now; call the returned function once when its answer has gone (or the client left). */
  begin(user: string): () => void {
    const mine = this.#byUser.get(user) ?? { current: 0, max: 0 }
    this.#byUser.set(user, mine)
    for (const c of [this.#total, mine]) {
      c.current++
      c.max = Math.max(c.max, c.current)
    }
    let ended = false
    return () => {
      if (ended) return
      ended = true
      this.#total.current--
      mine.current--
    }
  }

  stats(): InFlightStats {
    return {
      ...this.#total,
      byUser: Object.fromEntries([...this.#byUser].map(([user, c]) => [user, { ...c }])),
    }
  }
}
