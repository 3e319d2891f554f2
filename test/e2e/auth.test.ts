/**
 * Issue 10, point 1: tokens. Nobody acts without a valid token on HTTP, SSE or graphql-ws; a token's
 * secret is shown once and stored hashed; a revoke takes effect at once, open subscriptions included.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TokenService } from '../../src/auth/tokens.js'
import { openDb } from '../../src/db/client.js'
import { dbTarget } from '../../src/db/target.js'
import { silentLogger } from '../../src/util/logger.js'
import { Harness } from '../helpers/harness.js'
import { gqlPost, initSocket, nodeRequest, openSocket, sseSubscribe } from '../helpers/raw-clients.js'

let h: Harness
let url: string
let wsUrl: string
beforeAll(async () => {
  h = await Harness.start()
  url = `${h.app.url}/graphql`
  wsUrl = url.replace('http', 'ws')
})
afterAll(() => h.stop())

const CREATE_DEST = `mutation { createDestination(input: { name: "sneaky", kind: LOCAL, local: { path: "/tmp/sneaky" } }) { id } }`
const CREATE_TOKEN = `mutation($name: String!, $role: Role!) { createApiToken(name: $name, role: $role) { token apiToken { id name role createdAt lastUsedAt revokedAt } } }`

async function createToken(name: string, role: 'VIEWER' | 'OPERATOR' | 'ADMIN') {
  const r = await gqlPost(url, h.adminToken, CREATE_TOKEN, { name, role })
  expect(r.json?.errors).toBeUndefined()
  return r.json!.data.createApiToken as { token: string; apiToken: { id: string; name: string; role: string } }
}

describe('HTTP', () => {
  it('refuses a request without a token or with a wrong one (401 UNAUTHENTICATED) before running anything', async () => {
    for (const token of [undefined, 'dex_' + 'A'.repeat(43), 'not-a-token', h.adminToken + 'x']) {
      const r = await gqlPost(url, token, CREATE_DEST)
      expect(r.status).toBe(401)
      expect(r.headers.get('www-authenticate')).toBe('Bearer')
      expect(r.json?.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED')
    }
    expect(await h.app.services.db.destination.count({ where: { name: 'sneaky' } })).toBe(0)
  })

  it('refuses SSE subscriptions without a token', async () => {
    const r = await gqlPost(url, undefined, 'subscription { runUpdates { id } }', {}, { accept: 'text/event-stream' })
    expect(r.status).toBe(401)
  })

  it('serves one exact path: /graphql/, //graphql and other spellings are 404 before anything runs, token or not', async () => {
    const origin = h.app.url!
    for (const path of ['/graphql/', '//graphql', '/x/graphql', '/graphql//', '/GRAPHQL', '/health'])
      for (const token of [undefined, h.adminToken]) {
        const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {}
        const post = await nodeRequest(`${origin}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...auth },
          body: JSON.stringify({ query: '{ secretThing }' }),
        })
        const sse = await nodeRequest(`${origin}${path}?query=${encodeURIComponent('subscription { runUpdates { id } }')}`, {
          headers: { accept: 'text/event-stream', 'x-graphql-yoga-csrf': '1', ...auth },
        })
        const page = await nodeRequest(`${origin}${path}`, { headers: { accept: 'text/html' } })
        for (const r of [post, sse, page]) {
          expect([path, r.status]).toEqual([path, 404])
          expect(JSON.parse(r.text).errors[0].extensions.code).toBe('NOT_FOUND')
        }
      }
    const s = await openSocket(`${wsUrl}/`)
    expect(s.refused).toBe(400)
  })

  it('answers with the token of the request', async () => {
    const r = await gqlPost(url, h.adminToken, '{ connections { id } }')
    expect(r.status).toBe(200)
    expect(r.json?.data).toEqual({ connections: [] })
  })
})

describe('graphql-ws', () => {
  it('closes a connection without a token with 4401 and one with a bad token with 4403', async () => {
    const none = await initSocket(wsUrl, {})
    expect(none.acked).toBe(false)
    expect((await none.s.closed).code).toBe(4401)
    const bad = await initSocket(wsUrl, { authorization: 'Bearer dex_' + 'B'.repeat(43) })
    expect(bad.acked).toBe(false)
    expect((await bad.s.closed).code).toBe(4403)
  })

  it('accepts the token in connection_init ({ authorization } or { token }) or in the upgrade request', async () => {
    for (const [payload, headers] of [
      [{ authorization: `Bearer ${h.adminToken}` }, {}],
      [{ Authorization: `Bearer ${h.adminToken}` }, {}],
      [{ token: h.adminToken }, {}],
      [undefined, { authorization: `Bearer ${h.adminToken}` }],
    ] as const) {
      const { s, acked } = await initSocket(wsUrl, payload as Record<string, unknown> | undefined, headers)
      expect(acked).toBe(true)
      s.send({ id: '1', type: 'subscribe', payload: { query: '{ connections { id } }' } })
      expect((await s.next((m) => m.type === 'next')).payload).toEqual({ data: { connections: [] } })
      await s.close()
    }
  })

  it('refuses to subscribe before connection_init (4401)', async () => {
    const s = await openSocket(wsUrl)
    s.send({ id: '1', type: 'subscribe', payload: { query: '{ connections { id } }' } })
    expect((await s.closed).code).toBe(4401)
  })
})

describe('tokens', () => {
  it('shows the secret once, stores only its SHA-256, and never lists it', async () => {
    const created = await createToken('reader', 'VIEWER')
    expect(created.token).toMatch(/^dex_[A-Za-z0-9_-]{43}$/)
    expect(created.apiToken).toMatchObject({ name: 'reader', role: 'VIEWER' })
    const row = await h.app.services.db.apiToken.findUniqueOrThrow({ where: { id: created.apiToken.id } })
    expect(row.tokenHash).toBe(createHash('sha256').update(created.token).digest('hex'))
    expect(JSON.stringify(row)).not.toContain(created.token.slice(4))
    const list = await gqlPost(url, h.adminToken, '{ apiTokens { id name role createdAt lastUsedAt revokedAt } }')
    expect(list.json?.data.apiTokens.map((t: { name: string }) => t.name)).toEqual(['initial-admin', 'reader'])
    expect(list.text).not.toContain(created.token.slice(4))
  })

  it('refuses a second token with the same name (CONFLICT) and an unknown role', async () => {
    await createToken('dup', 'VIEWER')
    const again = await gqlPost(url, h.adminToken, CREATE_TOKEN, { name: 'dup', role: 'ADMIN' })
    expect(again.json?.errors?.[0].extensions?.code).toBe('CONFLICT')
    const badRole = await gqlPost(url, h.adminToken, CREATE_TOKEN, { name: 'x', role: 'ROOT' })
    expect(badRole.json?.errors?.length).toBe(1)
    expect(await h.app.services.db.apiToken.count({ where: { name: 'x' } })).toBe(0)
  })

  it('records lastUsedAt when a token is used', async () => {
    const t = await createToken('used', 'VIEWER')
    expect((await gqlPost(url, t.token, '{ pipelines { id } }')).status).toBe(200)
    const deadline = Date.now() + 5_000
    let row
    do row = await h.app.services.db.apiToken.findUniqueOrThrow({ where: { id: t.apiToken.id } })
    while (!row.lastUsedAt && Date.now() < deadline)
    expect(row.lastUsedAt).toBeInstanceOf(Date)
  })
})

describe('revocation', () => {
  it('stops the token at once: HTTP refused, its websocket closed with 4403, its SSE subscription ended', async () => {
    const t = await createToken('soon-revoked', 'VIEWER')
    const { s, acked } = await initSocket(wsUrl, { authorization: `Bearer ${t.token}` })
    expect(acked).toBe(true)
    s.send({ id: 'u', type: 'subscribe', payload: { query: 'subscription { runUpdates { id status } }' } })
    const sse = sseSubscribe(url, t.token, 'subscription { runUpdates { id status } }')
    const firstSse = sse.next()
    // Both subscriptions are live: an operation on the same socket answers, so the subscribe was taken.
    s.send({ id: 'q', type: 'subscribe', payload: { query: '{ pipelines { id } }' } })
    expect((await s.next((m) => m.id === 'q' && m.type === 'next')).payload).toEqual({ data: { pipelines: [] } })

    const revoked = await gqlPost(url, h.adminToken, 'mutation($id: ID!) { revokeApiToken(id: $id) { id revokedAt } }', {
      id: t.apiToken.id,
    })
    expect(revoked.json?.data.revokeApiToken.revokedAt).toBeTruthy()

    expect(await s.closed).toEqual({ code: 4403, reason: 'Forbidden: API token revoked' })
    const ended = await firstSse
    expect(ended.value?.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED')
    expect((await sse.next()).done).toBe(true)
    const after = await gqlPost(url, t.token, '{ pipelines { id } }')
    expect(after.status).toBe(401)
    const reconnect = await initSocket(wsUrl, { authorization: `Bearer ${t.token}` })
    expect((await reconnect.s.closed).code).toBe(4403)
  })

  it('sees a revoke made by another process (the CLI) within seconds, open sockets included', async () => {
    const t = await createToken('revoked-elsewhere', 'VIEWER')
    const { s, acked } = await initSocket(wsUrl, { authorization: `Bearer ${t.token}` })
    expect(acked).toBe(true)
    s.send({ id: 'u', type: 'subscribe', payload: { query: 'subscription { runUpdates { id } }' } })
    s.send({ id: 'q', type: 'subscribe', payload: { query: '{ pipelines { id } }' } })
    await s.next((m) => m.id === 'q' && m.type === 'next')

    // A second client on the same database, as `delta-extractor token revoke` is.
    const other = await openDb(dbTarget(h.db.databaseUrl, h.db.dataDir))
    try {
      await new TokenService(other, silentLogger).revoke('revoked-elsewhere')
    } finally {
      await other.$disconnect()
    }
    const started = Date.now()
    expect((await s.closed).code).toBe(4403)
    expect(Date.now() - started).toBeLessThan(8_000)
    expect((await gqlPost(url, t.token, '{ pipelines { id } }')).status).toBe(401)
  }, 20_000)
})
