import type { Fault } from '../types.js'

export type ReadKind = 'full' | 'init' | 'delta'

interface Armed {
  fault: Fault
  remaining: number
}

/** Injected faults, matched against each data page about to be served. */
export class FaultRegistry {
  private armed: Armed[] = []
  fired = 0

  add(fault: Fault): void {
    if (!Number.isInteger(fault.page) || fault.page < 1) throw new Error(`fault.page must be a positive integer, got ${fault.page}`)
    const times = fault.times ?? 1
    if (!Number.isInteger(times) || times < 1) throw new Error(`fault.times must be a positive integer, got ${times}`)
    this.armed.push({ fault: { ...fault }, remaining: times })
  }

  clear(): void {
    this.armed = []
  }

  /** The first armed fault matching this page, consumed once; undefined when none matches. */
  take(page: number, read: ReadKind, entitySet: string): Fault | undefined {
    const hit = this.armed.find(
      (a) =>
        a.fault.page === page &&
        (a.fault.read === undefined || a.fault.read === 'any' || a.fault.read === read) &&
        (a.fault.entitySet === undefined || a.fault.entitySet === entitySet),
    )
    if (!hit) return undefined
    hit.remaining--
    if (hit.remaining === 0) this.armed = this.armed.filter((a) => a !== hit)
    this.fired++
    return hit.fault
  }
}
