/**
 * Injected faults of the RFC simulator, matched against each call (and, for RODPS_REPL_ODP_FETCH with a
 * `package`, against the package a FETCH is about to deliver).
 */
import type { RfcFault } from './types.js'

const KINDS = new Set(['communication-failure', 'slow', 'dump', 'return-message'])

interface Armed {
  fault: RfcFault
  remaining: number
}

export class RfcFaultRegistry {
  private armed: Armed[] = []
  fired = 0

  add(fault: RfcFault): void {
    if (!KINDS.has(fault.kind)) throw new Error(`fault.kind must be one of ${[...KINDS].join(', ')}, got ${String(fault.kind)}`)
    const times = fault.times ?? 1
    if (!Number.isInteger(times) || times < 1) throw new Error(`fault.times must be a positive integer, got ${times}`)
    if (fault.package !== undefined && (!Number.isInteger(fault.package) || fault.package < 1)) {
      throw new Error(`fault.package must be a positive integer, got ${fault.package}`)
    }
    if (fault.package !== undefined && fault.functionModule !== undefined && fault.functionModule !== 'RODPS_REPL_ODP_FETCH') {
      throw new Error('fault.package only applies to RODPS_REPL_ODP_FETCH')
    }
    if (fault.kind === 'slow' && (!Number.isInteger(fault.delayMs) || fault.delayMs! < 0)) throw new Error('a slow fault needs delayMs ≥ 0')
    if (fault.kind === 'return-message') {
      // only the ODP modules answer in ET_RETURN; a package-level answer would need a half-delivered package
      if (!fault.functionModule?.startsWith('RODPS_REPL_'))
        throw new Error('a return-message fault needs a RODPS_REPL_* functionModule (they report in ET_RETURN)')
      if (fault.package !== undefined) throw new Error('a return-message fault applies to a whole call, not to a package')
      if (fault.messageType !== undefined && !['E', 'A', 'X'].includes(fault.messageType))
        throw new Error(`fault.messageType must be E, A or X, got ${String(fault.messageType)}`)
    }
    this.armed.push({ fault: { ...fault }, remaining: times })
  }

  clear(): void {
    this.armed = []
  }

  /** The first armed fault for this call (package faults only when `pkg` is given), consumed once. */
  take(fm: string, pkg?: number): RfcFault | undefined {
    const hit = this.armed.find(
      (a) =>
        (a.fault.functionModule === undefined || a.fault.functionModule === fm) &&
        (pkg === undefined ? a.fault.package === undefined : fm === 'RODPS_REPL_ODP_FETCH' && a.fault.package === pkg),
    )
    if (!hit) return undefined
    hit.remaining--
    if (hit.remaining === 0) this.armed = this.armed.filter((a) => a !== hit)
    this.fired++
    return hit.fault
  }
}
