/**
 * Issue 10, point 9: the audit trail. Every change made through the API (HTTP or websockets) or the
 * command line is recorded with who made it; refused calls record nothing; only admins read it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { tokenCommand } from '../../src/cli/token.js'
import { parseConfig } from '../../src/config.js'
import { Harness, SAP_PASSWORD } from '../helpers/harness.js'
import { gqlPost, initSocket } from '../helpers/raw-clients.js'

let h: Harness
let url: string
let operator: string
let viewer: string
beforeAll(async () => {
  h = await Harness.start()
  url = `${h.app.url}/graphql`
  operator = (await h.app.services.tokens.create({ name: 'ops-bot', role: 'OPERATOR' })).token
  viewer = (await h.app.services.tokens.create({ name: 'dashboard', role: 'VIEWER' })).token
})
afterAll(() => h.stop())

const AUDIT = `query($first: Int, $after: String) { auditEvents(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id at actor action objectType objectId } } } }`
const events = async () => (await gqlPost(url, h.adminToken, AUDIT, { first: 500 })).json!.data.auditEvents.edges.map((e: { node: unknown }) => e.node) as Array<{ actor: string; action: string; objectType: string; objectId: string | null; at: string }>

it('records who created, changed, ran, reset and deleted what, newest first', async () => {
  const { connectionId, destinationId, pipelineId } = await h.createPipeline({ mode: 'DELTA' })
  await gqlPost(url, h.adminToken, `mutation($id: ID!) { updateConnection(id: $id, input: { name: "renamed" }) { id } }`, { id: connectionId })
  const run = await gqlPost(url, operator, `mutation($id: ID!) { runPipeline(id: $id) { id } }`, { id: pipelineId })
  const runId = run.json!.data.runPipeline.id
  await h.waitForRun(runId)
  await gqlPost(url, operator, `mutation($id: ID!) { resetDelta(pipelineId: $id) { id } }`, { id: pipelineId })
  await gqlPost(url, h.adminToken, `mutation($id: ID!) { deletePipeline(id: $id) }`, { id: pipelineId })

  const got = (await events()).filter((e) => e.objectType !== 'ApiToken').reverse()
  expect(got.map(({ actor, action, objectType, objectId }) => ({ actor, action, objectType, objectId }))).toEqual([
    { actor: 'initial-admin', action: 'createConnection', objectType: 'Connection', objectId: connectionId },
    { actor: 'initial-admin', action: 'createDestination', objectType: 'Destination', objectId: destinationId },
    { actor: 'initial-admin', action: 'createPipeline', objectType: 'Pipeline', objectId: pipelineId },
    { actor: 'initial-admin', action: 'updateConnection', objectType: 'Connection', objectId: connectionId },
    { actor: 'ops-bot', action: 'runPipeline', objectType: 'Run', objectId: runId },
    { actor: 'ops-bot', action: 'resetDelta', objectType: 'Pipeline', objectId: pipelineId },
    { actor: 'initial-admin', action: 'deletePipeline', objectType: 'Pipeline', objectId: pipelineId },
  ])
  expect(got.every((e) => Math.abs(Date.parse(e.at) - Date.now()) < 60_000)).toBe(true)
})

it('records changes made over websockets and token changes, never a secret', async () => {
  const { s } = await initSocket(url.replace('http', 'ws'), { authorization: `Bearer ${h.adminToken}` })
  s.send({ id: '1', type: 'subscribe', payload: { query: `mutation { createApiToken(name: "ci", role: VIEWER) { token apiToken { id } } }` } })
  const created = (await s.next((m) => m.id === '1' && m.type === 'next')).payload.data.createApiToken
  s.send({ id: '2', type: 'subscribe', payload: { query: `mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, variables: { id: created.apiToken.id } } })
  await s.next((m) => m.id === '2' && m.type === 'next')
  await s.close()
  const latest = (await events()).slice(0, 2)
  expect(latest.map((e) => [e.actor, e.action, e.objectType, e.objectId])).toEqual([
    ['initial-admin', 'revokeApiToken', 'ApiToken', created.apiToken.id],
    ['initial-admin', 'createApiToken', 'ApiToken', created.apiToken.id],
  ])
  const rows = JSON.stringify(await h.app.services.db.auditEvent.findMany())
  expect(rows).not.toContain(created.token)
  expect(rows).not.toContain(SAP_PASSWORD)
})

it('records nothing for refused or failed calls', async () => {
  const before = await h.app.services.db.auditEvent.count()
  await gqlPost(url, viewer, `mutation { createDestination(input: { name: "no", kind: LOCAL, local: { path: "/tmp/no" } }) { id } }`) // FORBIDDEN
  await gqlPost(url, h.adminToken, `mutation { deleteConnection(id: "missing") }`) // NOT_FOUND
  await gqlPost(url, h.adminToken, `mutation { createDestination(input: { name: "", kind: LOCAL, local: { path: "/tmp/no" } }) { id } }`) // BAD_USER_INPUT
  await gqlPost(url, undefined, `mutation { deleteConnection(id: "x") }`) // UNAUTHENTICATED
  expect(await h.app.services.db.auditEvent.count()).toBe(before)
})

it('records command-line changes with actor "cli"', async () => {
  const config = parseConfig({ DATA_DIR: h.db.dataDir, DATABASE_URL: h.db.databaseUrl, LOG_LEVEL: 'silent' })
  const log = console.log
  const err = console.error
  console.log = console.error = () => undefined
  try {
    expect(await tokenCommand(config, ['create', '--role', 'viewer', '--name', 'from-cli'])).toBe(0)
    expect(await tokenCommand(config, ['revoke', 'from-cli'])).toBe(0)
  } finally {
    console.log = log
    console.error = err
  }
  const id = (await h.app.services.db.apiToken.findUniqueOrThrow({ where: { name: 'from-cli' } })).id
  expect((await events()).slice(0, 2).map((e) => [e.actor, e.action, e.objectId])).toEqual([
    ['cli', 'revokeApiToken', id],
    ['cli', 'createApiToken', id],
  ])
})

it('pages like run history (Relay cursors, totalCount) and is for admins only', async () => {
  const total = await h.app.services.db.auditEvent.count()
  const first = (await gqlPost(url, h.adminToken, AUDIT, { first: 3 })).json!.data.auditEvents
  expect(first.totalCount).toBe(total)
  expect(first.edges).toHaveLength(3)
  expect(first.pageInfo.hasNextPage).toBe(true)
  const next = (await gqlPost(url, h.adminToken, AUDIT, { first: 3, after: first.pageInfo.endCursor })).json!.data.auditEvents
  const ids = [...first.edges, ...next.edges].map((e: { node: { id: string } }) => Number(e.node.id))
  expect(ids).toEqual([...ids].sort((a, b) => b - a))
  expect(new Set(ids).size).toBe(6)
  for (const token of [viewer, operator]) {
    const r = await gqlPost(url, token, AUDIT, { first: 1 })
    expect(r.json?.errors?.[0].extensions?.code).toBe('FORBIDDEN')
  }
})
