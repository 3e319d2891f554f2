/**
 * The streaming page parser on its own: whatever the chunking, it must hand out exactly the rows
 * JSON.parse finds in `d.results` (minus each row's `__metadata`) and the envelope around them.
 */
import { describe, expect, it } from 'vitest'
import { BodyShapeError, ResultsScanner, type ScannerOptions } from '../../../src/sap/odata/results-scanner.js'

interface Scanned {
  rows: unknown[]
  groups: number[]
  envelope: unknown
}

/** Feeds `body` in chunks of the given sizes (cycled), taking groups as they complete. */
function scan(body: string | Uint8Array, chunkSizes: number[] = [65_536], opts: ScannerOptions & { maxRows?: number } = {}): Scanned {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body
  const s = new ResultsScanner(opts)
  s.reset()
  const rows: unknown[] = []
  const groups: number[] = []
  const drain = () => {
    for (;;) {
      if (opts.maxRows) s.maxRows = opts.maxRows
      const g = s.take()
      if (!g) return
      groups.push(g.length)
      rows.push(...g)
    }
  }
  for (let o = 0, k = 0; o < bytes.length; k++) {
    const n = Math.max(1, chunkSizes[k % chunkSizes.length])
    if (opts.maxRows) s.maxRows = opts.maxRows
    // a copy, as the network would hand it over: the scanner must not keep references to chunks
    s.push(new Uint8Array(bytes.subarray(o, o + n)))
    o += n
    drain()
  }
  return { rows, groups, envelope: s.finish() }
}

function shapeError(body: string, chunkSizes?: number[]): BodyShapeError {
  try {
    scan(body, chunkSizes)
  } catch (e) {
    expect(e).toBeInstanceOf(BodyShapeError)
    return e as BodyShapeError
  }
  throw new Error(`expected a BodyShapeError for ${body.slice(0, 60)}`)
}

/** What the scanner should produce: d.results without the rows' own `__metadata`, and the envelope. */
function expected(body: string): { rows: unknown[]; envelope: unknown } {
  const json = JSON.parse(body) as { d: unknown }
  const d = json.d as { results?: unknown[] } | unknown[]
  const results = Array.isArray(d) ? d : d.results!
  const rows = results.map((r) => {
    if (r === null || typeof r !== 'object' || Array.isArray(r) || !('__metadata' in r)) return r
    const { __metadata, ...rest } = r as Record<string, unknown>
    return typeof __metadata === 'object' && __metadata !== null && !Array.isArray(__metadata) ? rest : r
  })
  const envelope = Array.isArray(d) ? { ...json, d: [] } : { ...json, d: { ...(d as object), results: [] } }
  return { rows, envelope }
}

// A small seeded PRNG (mulberry32): failures are reproducible from the seed in the test name.
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

const TRICKY = [
  '"',
  '\\',
  '\\"',
  '"\\',
  '}',
  ']',
  '{',
  '[',
  ',',
  ':',
  'é',
  'Grüße',
  '日本語',
  '😀',
  '\u2028',
  '\n',
  '\t',
  '\u0000',
  '__metadata',
  '"__metadata":{',
]

function randomString(rnd: () => number): string {
  let s = ''
  const n = Math.floor(rnd() * 6)
  for (let i = 0; i < n; i++)
    s += rnd() < 0.5 ? TRICKY[Math.floor(rnd() * TRICKY.length)] : String.fromCharCode(97 + Math.floor(rnd() * 26))
  return s
}

function randomValue(rnd: () => number, depth: number): unknown {
  const r = rnd()
  if (depth > 2 || r < 0.35) return randomString(rnd)
  if (r < 0.45) return Math.round(rnd() * 1e6) / 100
  if (r < 0.5) return null
  if (r < 0.55) return rnd() < 0.5
  if (r < 0.7) return Array.from({ length: Math.floor(rnd() * 3) }, () => randomValue(rnd, depth + 1))
  if (r < 0.8) return { __deferred: { uri: `http://x/${randomString(rnd)}` } }
  const o: Record<string, unknown> = {}
  for (let i = Math.floor(rnd() * 3); i > 0; i--) o[randomString(rnd) || 'k'] = randomValue(rnd, depth + 1)
  return o
}

function randomRow(rnd: () => number, i: number): unknown {
  if (rnd() < 0.03) return randomValue(rnd, 3) // a scalar element now and then
  const members: Array<[string, unknown]> = [
    ['VBELN', String(i).padStart(10, '0')],
    ['ARKTX', randomString(rnd)],
    ['NETWR', (rnd() * 1000).toFixed(2)],
    ['NAV', { __deferred: { uri: `http://h/S('${i}')/NAV` } }],
    ['DEEP', randomValue(rnd, 0)],
  ]
  if (rnd() < 0.9) {
    const meta =
      rnd() < 0.9 ? { id: `http://h/S('${randomString(rnd)}')`, uri: `http://h/S('${i}')`, type: 'S.T', etag: 'W/"x"' } : randomString(rnd)
    members.splice(Math.floor(rnd() * (members.length + 1)), 0, ['__metadata', meta])
  }
  if (rnd() < 0.1) members.length = rnd() < 0.5 ? 1 : 0
  return Object.fromEntries(members)
}

/** A page with its envelope keys in random order, sometimes pretty-printed. */
function randomPage(rnd: () => number): string {
  const rows = Array.from({ length: Math.floor(rnd() * 40) }, (_, i) => randomRow(rnd, i))
  const extra: Array<[string, unknown]> = [
    ['__count', String(rows.length)],
    ['__next', `http://h/S?$skiptoken=${Math.floor(rnd() * 1e6)}&x=${randomString(rnd)}`],
    ['__delta', `http://h/S?!deltatoken='D1'${randomString(rnd)}`],
    [randomString(rnd) || 'k', randomValue(rnd, 0)],
  ].filter(() => rnd() < 0.6) as Array<[string, unknown]>
  const members: Array<[string, unknown]> = [['results', rows], ...extra]
  for (let i = members.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1))
    ;[members[i], members[j]] = [members[j], members[i]]
  }
  const doc = rnd() < 0.1 ? { d: rows } : { d: Object.fromEntries(members) }
  return JSON.stringify(doc, null, rnd() < 0.3 ? 2 : undefined)
}

describe('ResultsScanner', () => {
  it('random pages, random chunk splits and group sizes: exactly what JSON.parse finds', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const rnd = prng(seed)
      const body = randomPage(rnd)
      const sizes = Array.from({ length: 5 }, () => (rnd() < 0.3 ? 1 : Math.floor(rnd() * 300)))
      const opts = {
        maxParseBytes: rnd() < 0.5 ? 1 + Math.floor(rnd() * 400) : undefined,
        maxRows: rnd() < 0.3 ? 1 + Math.floor(rnd() * 5) : undefined,
      }
      const got = scan(body, sizes, opts)
      const want = expected(body)
      expect(got.rows, `seed ${seed}`).toEqual(want.rows)
      expect(got.envelope, `seed ${seed}`).toEqual(want.envelope)
      if (opts.maxRows) expect(Math.max(0, ...got.groups), `seed ${seed}`).toBeLessThanOrEqual(opts.maxRows)
    }
  })

  it('splits at every byte of strings with escapes, unicode escapes and multi-byte UTF-8', () => {
    const body = JSON.stringify({
      d: {
        __next: 'http://h/S?$skiptoken=2',
        results: [
          {
            __metadata: { uri: 'a"}]\\' },
            A: 'quote " backslash \\ both \\" end\\',
            B: '\u00e9\u65e5\ud83d\ude00',
            C: '\u0000\u001f\u2028',
          },
          { A: 'Grüße 😀 日本', __metadata: { uri: 'x' } },
        ],
      },
    }).replace('"\\u0000', '"\\u0000\\u00e9\\ud83d\\ude00') // escapes as text, not as characters
    const want = expected(body)
    for (let n = 1; n <= 7; n++) expect(scan(body, [n]).rows).toEqual(want.rows)
    // every single split point
    const bytes = Buffer.from(body)
    for (let cut = 1; cut < bytes.length; cut++) expect(scan(bytes, [cut, bytes.length]).rows).toEqual(want.rows)
  })

  it('keys in any order: __next, __delta and __count before or after results', () => {
    const rows = [{ A: 1 }, { A: 2 }]
    for (const body of [
      `{"d":{"__count":"2","__next":"n","results":${JSON.stringify(rows)}}}`,
      `{"d":{"results":${JSON.stringify(rows)},"__delta":"dl","__count":"2"}}`,
      `{"x":{"results":[9]},"d":{"y":{"results":[8]},"results":${JSON.stringify(rows)}},"z":[]}`,
      `{"\\u0064":{"re\\u0073ults":${JSON.stringify(rows)}}}`,
    ]) {
      const got = scan(body, [3])
      expect(got.rows).toEqual(rows)
      expect(got.envelope).toEqual(expected(body.replace('\\u0064', 'd').replace('re\\u0073ults', 'results')).envelope)
    }
  })

  it('leaves out each row’s __metadata wherever it stands, keeps other members and non-object values', () => {
    const body = JSON.stringify({
      d: {
        results: [
          { __metadata: { id: 'only' } },
          { __metadata: { id: 'first' }, A: 1 },
          { A: 2, __metadata: { id: 'last' } },
          { A: 3, __metadata: { id: 'middle', x: [{ y: '}' }] }, B: 4 },
          { A: 5, __metadata: 'a string stays' },
          { A: 6, N: { __metadata: { nested: 'stays' } } },
        ],
      },
    })
    expect(scan(body, [1]).rows).toEqual([
      {},
      { A: 1 },
      { A: 2 },
      { A: 3, B: 4 },
      { A: 5, __metadata: 'a string stays' },
      { A: 6, N: { __metadata: { nested: 'stays' } } },
    ])
    // the member name split across chunks right inside `__metadata`
    const at = body.indexOf('__meta') + 6
    expect(scan(body, [at, 1_000]).rows).toEqual(scan(body).rows)
  })

  it('empty results, v1 style, a BOM and whitespace everywhere', () => {
    expect(scan('{"d":{"results":[]}}')).toEqual({ rows: [], groups: [], envelope: { d: { results: [] } } })
    expect(scan(' { "d" : { "results" : [ ] , "__next" : "n" } } ', [1]).envelope).toEqual({ d: { results: [], __next: 'n' } })
    expect(scan('{"d":[{"a":1},2,"x",null,[3]]}', [2]).rows).toEqual([{ a: 1 }, 2, 'x', null, [3]])
    expect(scan('\ufeff{"d":{"results":[ {"a" : 1} ,\n{"a":2}\n]}}', [1]).rows).toEqual([{ a: 1 }, { a: 2 }])
  })

  it('a huge row arriving in small chunks, and groups of bounded size', () => {
    const big = 'é'.repeat(600_000)
    const body = JSON.stringify({ d: { results: [{ A: 1 }, { __metadata: { uri: big }, B: big }, { A: 3 }] } })
    const got = scan(body, [4_096])
    expect(got.rows).toEqual([{ A: 1 }, { B: big }, { A: 3 }])
    const many = JSON.stringify({
      d: { results: Array.from({ length: 1_000 }, (_, i) => ({ __metadata: { uri: 'u'.repeat(300) }, A: i, T: 'x'.repeat(90) })) },
    })
    const groups = scan(many, [65_536], { maxParseBytes: 10_000 }).groups
    expect(groups.reduce((a, b) => a + b, 0)).toBe(1_000)
    // ~100-byte rows once __metadata is gone: about 100 rows a group
    expect(Math.max(...groups)).toBeLessThanOrEqual(101)
    expect(scan(many, [65_536], { maxRows: 7 }).groups.slice(0, 3)).toEqual([7, 7, 7])
  })

  it('bodies that are not a page are refused with the reason', () => {
    expect(shapeError('<html><body>Logon</body></html>').reason).toBe('syntax')
    expect(shapeError('').reason).toBe('syntax')
    expect(shapeError('{"d":{"results":[{"a":1},]}}').message).toContain('trailing comma')
    expect(shapeError('{"d":{"results":[{"a":1} {"b":2}]}}').message).toContain('missing comma')
    expect(shapeError('{"d":{"results":[,{"a":1}]}}').reason).toBe('syntax')
    expect(shapeError('{"d":{"results":[{"a":1}', [3]).message).toContain('ended')
    expect(shapeError('{"d":{"results":[{"a":"x}]}}').reason).toBe('syntax')
    expect(shapeError('{"d":{"results":[],"__next":"n"}').reason).toBe('syntax')
    expect(shapeError('{"d":{"results":[{"a":tru}]}}').reason).toBe('syntax')
    expect(shapeError('{"d":{"results":[1],"results":[2]}}').message).toContain('two results')
    expect(shapeError('{"d":{"result":[1]}}').reason).toBe('no-results')
    expect(shapeError('{"error":{"code":"X"}}').reason).toBe('no-results')
    expect(shapeError('{"d":{"results":[]}} trailing').reason).toBe('syntax')
    const huge = `{"d":{"x":"${'a'.repeat(2 << 20)}","results":[]}}`
    expect(shapeError(huge).reason).toBe('too-large')
  })

  it('is reusable after reset()', () => {
    const s = new ResultsScanner()
    for (const body of ['{"d":{"results":[{"a":1}', '{"d":{"results":[{"b":2}]}}']) {
      s.reset()
      s.push(Buffer.from(body))
    }
    expect(s.take()).toEqual([{ b: 2 }])
    expect(s.finish()).toEqual({ d: { results: [] } })
  })
})
