/**
 * Held calls of the RFC simulator (`admin.hold`): a call a test's rule matches waits, after the network
 * and before the module runs, until the test releases it. A test can then change data while a read
 * is provably in the middle — some of its calls served, this one not yet — without a sleep
 * (docs/testing.md, "No sleeps to wait for work").
 */
import type { RfcHold, RfcHoldMatch } from './types.js'

interface Rule {
  match: RfcHoldMatch
  released: boolean
  waiting: Array<() => void>
  arrived: () => void
  count: number
}

export class RfcHolds {
  private rules: Rule[] = []

  add(match: RfcHoldMatch): RfcHold {
    let arrived!: () => void
    const whenArrived = new Promise<void>((resolve) => (arrived = resolve))
    const rule: Rule = { match, released: false, waiting: [], arrived, count: 0 }
    this.rules.push(rule)
    return {
      arrived: whenArrived,
      held: () => rule.count,
      release: () => {
        rule.released = true
        this.rules = this.rules.filter((r) => r !== rule)
        for (const go of rule.waiting.splice(0)) go()
      },
    }
  }

  /** Resolves at once unless a rule holds this call; then when it is released (or rejects when the call is aborted). */
  async wait(functionModule: string, input: Record<string, unknown>, signal: AbortSignal): Promise<void> {
    const rule = this.rules.find((r) => !r.released && r.match({ functionModule, input }))
    if (!rule) return
    rule.count++
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason)
      if (signal.aborted) return onAbort()
      signal.addEventListener('abort', onAbort, { once: true })
      rule.waiting.push(() => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      })
      rule.arrived()
    })
  }
}
