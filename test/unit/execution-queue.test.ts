import { setImmediate as nextTurn } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { ExecutionQueue } from '../../src/api/execution-queue.js'

describe('ExecutionQueue', () => {
  it('starts executions in the order they were asked for, one per turn of the event loop', async () => {
    const queue = new ExecutionQueue()
    const started: string[] = []
    const answers = ['a', 'b', 'c'].map((name) => queue.run(undefined, () => (started.push(name), name)))
    expect(started).toEqual([])
    await nextTurn()
    expect(started).toEqual(['a'])
    await nextTurn()
    expect(started).toEqual(['a', 'b'])
    expect(await Promise.all(answers)).toEqual(['a', 'b', 'c'])
    expect(started).toEqual(['a', 'b', 'c'])
  })

  it('shares one execution between waiting requests with the same key, never with one that already started', async () => {
    const queue = new ExecutionQueue()
    let executions = 0
    const execute = () => ++executions
    const first = [queue.run('same', execute), queue.run('same', execute), queue.run('other', execute)]
    expect(await Promise.all(first)).toEqual([1, 1, 2])
    // Asked after that execution started: a new one, so its answer is read after it was asked.
    expect(await queue.run('same', execute)).toBe(3)
  })

  it('never shares without a key (mutations), and a failure reaches every request that shared it', async () => {
    const queue = new ExecutionQueue()
    let executions = 0
    await Promise.all([queue.run(undefined, () => ++executions), queue.run(undefined, () => ++executions)])
    expect(executions).toBe(2)
    const failing = () => {
      throw new Error('boom')
    }
    const shared = [queue.run('k', failing), queue.run('k', failing)]
    for (const p of shared) await expect(p).rejects.toThrow('boom')
  })

  it('does not hold the next execution back behind one that waits', async () => {
    const queue = new ExecutionQueue()
    let release!: () => void
    const waiting = queue.run(undefined, () => new Promise<string>((r) => (release = () => r('slow'))))
    expect(await queue.run(undefined, () => 'quick')).toBe('quick')
    release()
    expect(await waiting).toBe('slow')
  })
})
