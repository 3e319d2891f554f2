/** The SAP read contract every source keeps (src/sap/lazy-read.ts), on a producer of our own. */
import { describe, expect, it } from 'vitest'
import { SourceError } from '../../src/sap/errors.js'
import { lazyRead, requirePageSize } from '../../src/sap/lazy-read.js'
import type { SourcePage, SourceReadEnd } from '../../src/sap/source.js'
import { badValue, ValueError } from '../../src/sap/values.js'

function producer(pages: number, opts: { failAt?: number } = {}) {
  const log: string[] = []
  async function* produce(): AsyncGenerator<SourcePage, SourceReadEnd> {
    try {
      for (let i = 0; i < pages; i++) {
        if (i === opts.failAt) throw new SourceError('SOURCE_UNAVAILABLE', 'gone')
        log.push(`make ${i}`)
        yield { rows: [[i]] }
      }
      return { position: 'P', token: 'T' }
    } finally {
      log.push('producer closed')
    }
  }
  return { log, produce }
}

describe('lazyRead', () => {
  it('makes a page only when asked, and ends with what the producer returned', async () => {
    const { log, produce } = producer(3)
    const read = lazyRead({ columns: [], produce })
    expect(log).toEqual([])
    const it = read.pages[Symbol.asyncIterator]()
    await it.next()
    expect(log).toEqual(['make 0'])
    const rest: number[] = []
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value.rows[0][0] as number)
    expect(rest).toEqual([1, 2])
    await expect(read.end()).resolves.toEqual({ position: 'P', token: 'T' })
    expect(log.at(-1)).toBe('producer closed')
  })

  it('rejects end() with the failure, after the producer closed', async () => {
    const { log, produce } = producer(3, { failAt: 1 })
    const read = lazyRead({ columns: [], produce })
    await expect(async () => {
      for await (const _ of read.pages) void _
    }).rejects.toThrow('gone')
    await expect(read.end()).rejects.toMatchObject({ code: 'SOURCE_UNAVAILABLE' })
    expect(log).toEqual(['make 0', 'producer closed'])
  })

  it('an abandoned read: the producer closes, end() rejects, onAbandon runs once', async () => {
    const { log, produce } = producer(5)
    const abandoned: unknown[] = []
    const read = lazyRead({ columns: [], produce, onAbandon: async (e) => void abandoned.push(e) })
    for await (const _ of read.pages) break
    await expect(read.end()).rejects.toMatchObject({ name: 'AbortError', message: 'the read was closed before its last page' })
    expect(log).toEqual(['make 0', 'producer closed'])
    expect(abandoned).toHaveLength(1)
  })

  it('the pages can be iterated once', async () => {
    const read = lazyRead({ columns: [], produce: producer(1).produce })
    for await (const _ of read.pages) void _
    await expect(read.pages[Symbol.asyncIterator]().next()).rejects.toMatchObject({
      code: 'SOURCE_BAD_REQUEST',
      message: 'the pages of a read can be iterated only once',
    })
  })
})

describe('requirePageSize', () => {
  it('takes positive safe integers only', () => {
    expect(() => requirePageSize('pageSize', 1)).not.toThrow()
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 53])
      expect(() => requirePageSize('pageSize', bad)).toThrow(/pageSize must be a positive integer/)
    expect(() => requirePageSize('batchRows', 0)).toThrow('batchRows must be a positive integer, got 0')
  })
})

describe('badValue', () => {
  it('names column, row, key and value as SOURCE_PROTOCOL', () => {
    const e = badValue({
      column: 'column NETWR (CURR)',
      row: 7,
      key: 'VBELN=1',
      value: '"x"',
      reason: new ValueError('is not a number').message,
    })
    expect(e).toBeInstanceOf(SourceError)
    expect(e.code).toBe('SOURCE_PROTOCOL')
    expect(e.message).toBe('column NETWR (CURR), row 7 (VBELN=1): value "x" is not a number')
    expect(badValue({ column: 'column K', row: 1, key: '', value: '1', reason: 'r' }).message).toBe('column K, row 1: value 1 r')
  })
})
