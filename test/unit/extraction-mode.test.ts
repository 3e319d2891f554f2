import { describe, expect, it } from 'vitest'
import { extractionModeFor } from '../../src/orchestrator/extraction-mode.js'
import { DomainError } from '../../src/errors.js'

const full = { mode: 'FULL' as const, name: 'f' }
const delta = { mode: 'DELTA' as const, name: 'd' }
const fresh = null
const initialised = { deltaLink: 'l', pendingRunId: null, lastCommittedRunId: 'r1' }
const pending = { deltaLink: 'l', pendingRunId: 'r2', lastCommittedRunId: 'r1' }

describe('extraction mode of a new run', () => {
  it('follows the pipeline state when none is asked for', () => {
    expect(extractionModeFor(full, fresh, undefined)).toBe('FULL')
    expect(extractionModeFor(delta, fresh, undefined)).toBe('DELTA_INIT')
    expect(extractionModeFor(delta, { ...initialised, deltaLink: null }, undefined)).toBe('DELTA_INIT')
    expect(extractionModeFor(delta, initialised, undefined)).toBe('DELTA')
    expect(extractionModeFor(delta, pending, undefined)).toBe('RECOVERY')
  })

  it('takes a requested mode where it makes sense', () => {
    expect(extractionModeFor(delta, initialised, 'FULL')).toBe('FULL')
    expect(extractionModeFor(delta, initialised, 'DELTA_INIT')).toBe('DELTA_INIT')
    expect(extractionModeFor(delta, initialised, 'RECOVERY')).toBe('RECOVERY')
    expect(extractionModeFor(delta, pending, 'RECOVERY')).toBe('RECOVERY')
  })

  it.each([
    [full, fresh, 'DELTA', /FULL only/],
    [full, fresh, 'DELTA_INIT', /FULL only/],
    [delta, fresh, 'DELTA', /first run must be DELTA_INIT/],
    [delta, pending, 'DELTA', /re-read as RECOVERY first/],
    [delta, fresh, 'RECOVERY', /no delta to recover/],
  ] as const)('refuses %#', (pipeline, state, mode, message) => {
    expect(() => extractionModeFor(pipeline, state, mode)).toThrow(message)
    try {
      extractionModeFor(pipeline, state, mode)
    } catch (e) {
      expect(e).toBeInstanceOf(DomainError)
      expect((e as DomainError).code).toBe('BAD_USER_INPUT')
    }
  })

  it('refuses a plain DELTA or RECOVERY once SAP lost the position, naming both recoveries; DELTA_INIT and a one-off FULL still run', () => {
    const lost = { ...initialised, positionLostAt: new Date() }
    for (const mode of [undefined, 'DELTA', 'RECOVERY'] as const) {
      expect(() => extractionModeFor(delta, lost, mode)).toThrow(/lost its delta position.*resetDelta.*runPipeline\(mode: DELTA_INIT\)/)
      expect(() => extractionModeFor(delta, lost, mode)).toThrow(expect.objectContaining({ code: 'CONFLICT' }))
    }
    expect(extractionModeFor(delta, lost, 'DELTA_INIT')).toBe('DELTA_INIT')
    expect(extractionModeFor(delta, lost, 'FULL')).toBe('FULL')
  })
})
