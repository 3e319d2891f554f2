import { describe, expect, it } from 'vitest'
import { prefetch } from '../../src/util/prefetch.js'

/** A source that records when each item is asked for and lets the test release them one by one. */
function controlled(n: number) {
  const asked: number[] = []
  const release: Array<() => void> = []
  let returned = false
  const source: AsyncIterable<number> = {
    [Symbol.asyncIterator]: () => {
      let i = 0
      return {
        next: () => {
          const k = i++
          asked.push(k)
          if (k >= n) return Promise.resolve({ value: undefined, done: true as const })
          return new Promise((resolve) => release.push(() => resolve({ value: k, done: false as const })))
        },
        return: async () => {
          returned = true
          return { value: undefined, done: true as const }
        },
      }
    },
  }
  return { source, asked, release, wasReturned: () => returned }
}

describe('prefetch', () => {
  it('asks for the next item while the current one is consumed, never more than `ahead` early', async () => {
    const c = controlled(3)
    const it = prefetch(c.source, 1)
    const first = it.next()
    await Promise.resolve()
    expect(c.asked).toEqual([0])
    c.release[0]()
    expect(await first).toEqual({ value: 0, done: false })
    expect(c.asked).toEqual([0, 1]) // item 1 requested before item 0 is handed over
    c.release[1]()
    await new Promise((r) => setTimeout(r, 5))
    expect(c.asked).toEqual([0, 1]) // nothing more until the consumer asks
    expect(await it.next()).toEqual({ value: 1, done: false })
    expect(c.asked).toEqual([0, 1, 2])
    c.release[2]()
    expect(await it.next()).toEqual({ value: 2, done: false })
    expect(await it.next()).toEqual({ value: undefined, done: true })
  })

  it('surfaces a source error at the next read and stops the source when the consumer stops', async () => {
    const failing: AsyncIterable<number> = {
      async *[Symbol.asyncIterator]() {
        yield 1
        throw new Error('page 2 failed')
      },
    }
    const seen: number[] = []
    await expect(async () => {
      for await (const v of prefetch(failing, 1)) seen.push(v)
    }).rejects.toThrow('page 2 failed')
    expect(seen).toEqual([1])

    const c = controlled(10)
    const it = prefetch(c.source, 1)
    const first = it.next()
    c.release[0]()
    await first
    await it.return(undefined)
    expect(c.wasReturned()).toBe(true)
  })
})
