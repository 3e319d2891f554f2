/**
 * Issue 10, point 10: a bounded, seeded fuzz run. Random and malformed GraphQL documents, variables,
 * bodies and raw websocket frames, from callers without a token, with a wrong one, a VIEWER and (for
 * read-only documents) an ADMIN. Whatever comes in: no 5xx, no crash, no stack trace or file path
 * and no secret in any answer, memory back near where it started, and the database unchanged.
 */
import { createHash } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import fc from 'fast-check'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { Harness, SAP_PASSWORD } from '../helpers/harness.js'
import { gqlPost, openSocket, rawPost } from '../helpers/raw-clients.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const SEED = 20261204
const S3_SECRET = 'fuzz-planted-s3-secret-7Qx'
/** Traces, source paths, Node internals: none may reach a client. */
const LEAK = /\n\s+at |\bat (?:async )?[\w$.<>]+ \(|node_modules|\/work\/|\.[cm]?[jt]s:\d+|node:internal/

let h: Harness
let url: string
let viewer: string
const secrets: string[] = [SAP_PASSWORD, S3_SECRET]
const seen = { http: 0, frames: 0, statuses: new Map<number, number>(), closes: new Map<number, number>() }

beforeAll(async () => {
  h = await Harness.start()
  url = `${h.app.url}/graphql`
  await h.createPipeline({ mode: 'FULL' })
  const s3 = await gqlPost(url, h.adminToken, `mutation($input: CreateDestinationInput!) { createDestination(input: $input) { id } }`, {
    input: {
      name: 's3',
      kind: 'S3',
      s3: { bucket: 'fuzz-lake', region: 'eu-central-1', accessKeyId: 'AKIAFUZZ', secretAccessKey: S3_SECRET },
    },
  })
  expect(s3.json?.errors).toBeUndefined()
  viewer = (await h.app.services.tokens.create({ name: 'fuzz-viewer', role: 'VIEWER' })).token
  secrets.push(h.adminToken, viewer)
})
afterAll(() => h.stop())

/** The catalog as data: every row of every table the API can change (token use times aside). */
async function digest(): Promise<string> {
  const db = h.app.services.db
  const rows = await Promise.all([
    db.connection.findMany({ orderBy: { id: 'asc' } }),
    db.destination.findMany({ orderBy: { id: 'asc' } }),
    db.pipeline.findMany({ orderBy: { id: 'asc' } }),
    db.run.findMany({ orderBy: { id: 'asc' } }),
    db.deltaState.findMany({ orderBy: { pipelineId: 'asc' } }),
    db.apiToken.findMany({ orderBy: { id: 'asc' }, select: { id: true, name: true, role: true, tokenHash: true, revokedAt: true } }),
    db.auditEvent.count(),
  ])
  return createHash('sha256')
    .update(JSON.stringify(rows, (_, v) => (typeof v === 'bigint' ? String(v) : v)))
    .digest('hex')
}

function assertClean(text: string, what: string) {
  expect(text, what).not.toMatch(LEAK)
  for (const s of secrets) expect(text.includes(s), `${what} holds a secret`).toBe(false)
}

// --- documents ---------------------------------------------------------------------------------

const NAMES = [
  'connections',
  'connection',
  'destinations',
  'destination',
  'pipelines',
  'pipeline',
  'runs',
  'run',
  'apiTokens',
  'auditEvents',
  'runProgress',
  'runUpdates',
  'createConnection',
  'deleteConnection',
  'runPipeline',
  'cancelRun',
  'createApiToken',
  'revokeApiToken',
  'id',
  'name',
  'uri',
  'edges',
  'node',
  'events',
  'odataConfig',
  'serviceUrl',
  'hasPassword',
  'totalCount',
  'pageInfo',
  'lastRun',
  'deltaState',
  'token',
  'status',
  '__schema',
  '__type',
  '__typename',
  'types',
  'fields',
  'ofType',
  'input',
  'first',
  'after',
]
const PUNCT = [
  '{',
  '}',
  '(',
  ')',
  ':',
  '$x',
  '$id',
  '...',
  'fragment F on Query',
  '...F',
  'on',
  '@skip(if: true)',
  '@include(if: $x)',
  '"s"',
  '"""block"""',
  '1',
  '-1e999',
  '9007199254740993',
  'null',
  'true',
  '[',
  ']',
  ',',
  '#',
  '\u0000',
  '\uFFFF',
  'query',
  'mutation',
  'subscription',
  '!',
  '=',
  '|',
  '&',
  'a:',
  'x'.repeat(300),
]
const token = fc.oneof(fc.constantFrom(...NAMES, ...PUNCT), fc.string({ maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 4 }))
/** Token soup: mostly unparsable, sometimes a valid operation by accident. */
const soup = fc.array(token, { maxLength: 80 }).map((t) => t.join(' '))

const READ_FIELDS = ['id', 'name', '__typename', 'uri', 'status', 'totalCount', 'createdAt', 'protocol', 'kind', 'message']
/** A read-only operation shaped like a real one: real root fields, random nesting, aliases, arguments of any type. */
const selection: fc.Arbitrary<string> = fc.letrec<{ sel: string }>((tie) => ({
  sel: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...READ_FIELDS),
    fc
      .tuple(
        fc.option(fc.constantFrom('a', 'b', 'c')),
        fc.constantFrom(...NAMES),
        fc.option(
          fc.constantFrom(
            '(first: 3)',
            '(first: -1)',
            '(first: 100000)',
            '(id: "x")',
            '(id: $id)',
            '(after: "zz")',
            '(first: $x)',
            '(runId: 1.5)',
          ),
        ),
        fc.array(tie('sel'), { minLength: 1, maxLength: 4 }),
      )
      .map(([alias, f, args, sub]) => `${alias ? alias + ': ' : ''}${f}${args ?? ''} { ${sub.join(' ')} }`),
  ),
})).sel
const readDoc = fc
  .tuple(fc.array(selection, { minLength: 1, maxLength: 5 }), fc.boolean())
  .map(([sels, vars]) => `query Q${vars ? '($x: Int, $id: ID)' : ''} { ${sels.join(' ')} }`)
const variables = fc.option(
  fc.dictionary(fc.constantFrom('x', 'id', 'input', 'first', 'n', '__proto__', 'constructor'), fc.jsonValue({ maxDepth: 3 }), {
    maxKeys: 4,
  }),
  { nil: undefined },
)

type Caller = 'none' | 'bad' | 'viewer' | 'admin'
const auth = (c: Caller): Record<string, string> =>
  c === 'none' ? {} : { authorization: `Bearer ${c === 'bad' ? 'dex_' + 'Z'.repeat(43) : c === 'viewer' ? viewer : h.adminToken}` }

/** One HTTP request: a body and headers, and who sends it. Only read-only documents go out as ADMIN. */
const httpCase = fc.oneof(
  fc.record({
    caller: fc.constantFrom<Caller>('none', 'bad', 'viewer'),
    body: fc.record({ query: soup, variables }).map((b) => JSON.stringify(b)),
    type: fc.constant('application/json'),
  }),
  fc.record({
    caller: fc.constantFrom<Caller>('viewer', 'admin'),
    body: fc
      .record({ query: readDoc, variables, operationName: fc.option(fc.constantFrom('Q', 'Nope', ''), { nil: undefined }) })
      .map((b) => JSON.stringify(b)),
    type: fc.constant('application/json'),
  }),
  fc.record({
    caller: fc.constantFrom<Caller>('viewer', 'admin'),
    body: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    type: fc.constant('application/json'),
  }),
  fc.record({
    caller: fc.constantFrom<Caller>('viewer', 'admin'),
    body: fc.string({ maxLength: 200 }),
    type: fc.constant('application/json'),
  }),
  fc.record({
    caller: fc.constantFrom<Caller>('none', 'viewer', 'admin'),
    body: soup,
    type: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/graphql', ''),
  }),
)

it('survives a few thousand random HTTP requests: no 5xx, no trace, no secret, nothing changed', async () => {
  const before = await digest()
  await fc.assert(
    fc.asyncProperty(httpCase, async ({ caller, body, type }) => {
      const r = await rawPost(url, body, { ...auth(caller), 'content-type': type })
      seen.http++
      seen.statuses.set(r.status, (seen.statuses.get(r.status) ?? 0) + 1)
      expect(r.status, body.slice(0, 200)).toBeLessThan(500)
      assertClean(r.text, body.slice(0, 200))
    }),
    { seed: SEED, numRuns: 2500, endOnFailure: true },
  )
  expect(await digest()).toBe(before)
  expect(seen.statuses.get(200)).toBeGreaterThan(100) // some documents did run
}, 120_000)

// --- websocket frames ---------------------------------------------------------------------------

const message = fc.oneof(
  fc
    .record({
      type: fc.constant('subscribe'),
      id: fc.oneof(fc.string({ maxLength: 5 }), fc.integer()),
      payload: fc.record({ query: fc.oneof(soup, readDoc), variables }),
    })
    .map((m) => JSON.stringify(m)),
  fc
    .record({
      type: fc.constantFrom('connection_init', 'complete', 'next', 'error', 'pong', 'unknown', ''),
      id: fc.option(fc.string({ maxLength: 5 })),
      payload: fc.jsonValue({ maxDepth: 2 }),
    })
    .map((m) => JSON.stringify(m)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
)
const socketCase = fc.record({
  init: fc.oneof(
    fc.constant(undefined),
    fc.constantFrom<Caller>('none', 'bad', 'viewer', 'admin').map((c) => ({ ...auth(c) })),
    fc.jsonValue({ maxDepth: 2 }),
  ),
  frames: fc.array(message, { maxLength: 6 }),
})

it('survives random websocket frames: closes cleanly or answers, never a trace or secret, nothing changed', async () => {
  const before = await digest()
  await fc.assert(
    fc.asyncProperty(socketCase, async ({ init, frames }) => {
      const s = await openSocket(url.replace('http', 'ws'))
      if (init !== undefined) s.send({ type: 'connection_init', payload: init })
      for (const f of frames) if (s.socket.readyState === s.socket.OPEN) s.send(f)
      // A ping is answered in order with everything before it, or the socket has closed: no waiting on a clock.
      if (s.socket.readyState === s.socket.OPEN) s.send({ type: 'ping' })
      const closed = await Promise.race([
        s
          .next((m) => m.type === 'pong')
          .then(
            () => undefined,
            () => undefined,
          ),
        s.closed,
      ])
      if (closed) seen.closes.set(closed.code, (seen.closes.get(closed.code) ?? 0) + 1)
      else await s.close()
      seen.frames += frames.length
      for (const m of s.messages) assertClean(JSON.stringify(m), JSON.stringify(frames).slice(0, 200))
      if (closed) {
        assertClean(closed.reason, 'close reason')
        expect(closed.code, closed.reason).not.toBe(4500) // graphql-ws' "internal server error"
      }
    }),
    { seed: SEED, numRuns: 1200, endOnFailure: true },
  )
  expect(await digest()).toBe(before)
}, 120_000)

it('is still up, answering, with memory back near its start', async () => {
  gc()
  const heap = process.memoryUsage().heapUsed
  // One more burst of the same, then memory must come back.
  await fc.assert(
    fc.asyncProperty(httpCase, async ({ caller, body, type }) => {
      await rawPost(url, body, { ...auth(caller), 'content-type': type })
    }),
    { seed: SEED + 1, numRuns: 500 },
  )
  gc()
  expect(process.memoryUsage().heapUsed - heap).toBeLessThan(16 * 1024 * 1024)
  const ok = await rawPost(url, JSON.stringify({ query: '{ pipelines { name } }' }), auth('viewer'))
  expect(ok.json?.data).toEqual({ pipelines: [{ name: 'p' }] })
  console.log(
    `fuzz: ${seen.http} HTTP requests (statuses ${JSON.stringify(Object.fromEntries(seen.statuses))}), ${seen.frames} websocket frames (closes ${JSON.stringify(Object.fromEntries(seen.closes))})`,
  )
})
