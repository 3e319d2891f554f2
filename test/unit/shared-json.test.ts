import { describe, expect, it } from 'vitest'
import { serializedOnce } from '../../src/api/shared-json.js'

type WithStringify = { stringify?: (value: unknown) => string }

describe('serializedOnce', () => {
  it('gives every caller the same JSON of the shared result, read once, without the helper in it', () => {
    const result = serializedOnce({ data: { runs: { totalCount: 2, edges: [{ node: { id: '1' } }, { node: { id: '2' } }] } } })
    const { stringify } = result as WithStringify
    const first = stringify!(result)
    expect(first).toBe(JSON.stringify({ data: { runs: { totalCount: 2, edges: [{ node: { id: '1' } }, { node: { id: '2' } }] } } }))
    // Read once: a change made afterwards is not seen (nothing changes a result once it is shared).
    result.data.runs.totalCount = 3
    expect(stringify!(result)).toBe(first)
    expect(Object.keys(result)).toEqual(['data'])
  })

  it('serializes a copy a plugin made (errors scrubbed, extensions removed) as that copy, never as the shared result', () => {
    const result = serializedOnce({ data: { me: null }, errors: [{ message: 'Forbidden' }] })
    const { stringify } = result as WithStringify
    expect(stringify!(result)).toBe('{"data":{"me":null},"errors":[{"message":"Forbidden"}]}')
    const copy = { ...result, errors: [{ message: 'scrubbed' }] }
    expect('stringify' in copy).toBe(false)
    expect(stringify!(copy)).toBe('{"data":{"me":null},"errors":[{"message":"scrubbed"}]}')
  })

  it('leaves alone what is not one result object: a stream of results, a batch, a frozen object', () => {
    const stream = { async *[Symbol.asyncIterator]() {} }
    const batch = [{ data: {} }]
    const frozen = Object.freeze({ data: {} })
    for (const r of [stream, batch, frozen, null]) expect((serializedOnce(r) as WithStringify | null)?.stringify).toBeUndefined()
  })
})
