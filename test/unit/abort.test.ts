import { describe, expect, it, vi } from 'vitest'
import { abortReason, raceAbort, throwIfAborted } from '../../src/util/abort.js'

describe('raceAbort', () => {
  it('settles with the promise when the signal stays quiet, and leaves no listener behind', async () => {
    const ctl = new AbortController()
    const remove = vi.spyOn(ctl.signal, 'removeEventListener')
    await expect(raceAbort(Promise.resolve(7), ctl.signal)).resolves.toBe(7)
    await expect(raceAbort(Promise.reject(new Error('no')), ctl.signal)).rejects.toThrow('no')
    expect(remove).toHaveBeenCalledTimes(2)
  })

  it('rejects with the reason at once when the signal aborts, calling onAbort first', async () => {
    const ctl = new AbortController()
    const onAbort = vi.fn(async () => undefined)
    let late!: (e: unknown) => void
    const pending = new Promise<number>((_, reject) => (late = reject))
    const raced = raceAbort(pending, ctl.signal, onAbort)
    const reason = new Error('cancelled')
    ctl.abort(reason)
    await expect(raced).rejects.toBe(reason)
    expect(onAbort).toHaveBeenCalledOnce()
    // the abandoned promise failing afterwards is not an unhandled rejection
    late(new Error('too late'))
  })

  it('rejects at once for a signal aborted before, and ignores a failing onAbort', async () => {
    const ctl = new AbortController()
    ctl.abort()
    const raced = raceAbort(new Promise<void>(() => undefined), ctl.signal, () => Promise.reject(new Error('cancel failed')))
    await expect(raced).rejects.toMatchObject({ name: 'AbortError' })
  })

  it('is the promise itself without a signal', () => {
    const p = Promise.resolve(1)
    expect(raceAbort(p, undefined)).toBe(p)
  })
})

describe('abortReason and throwIfAborted', () => {
  it('take the signal reason, an AbortError when there is none', () => {
    const ctl = new AbortController()
    expect(() => throwIfAborted(ctl.signal)).not.toThrow()
    expect(() => throwIfAborted(undefined)).not.toThrow()
    ctl.abort('stop')
    expect(abortReason(ctl.signal)).toBe('stop')
    expect(() => throwIfAborted(ctl.signal)).toThrow()
    const fake = { aborted: true, reason: undefined } as unknown as AbortSignal
    expect(abortReason(fake)).toMatchObject({ name: 'AbortError' })
  })
})
