/**
 * Issue 10, point 1: roles. Walks every root field of the built schema and calls it with each role,
 * over HTTP and over graphql-ws: a VIEWER may read and subscribe, an OPERATOR also run, cancel,
 * reset and test, an ADMIN everything. The expectations are written here from the contract, not
 * taken from the service's own policy table, so a field added without a decision fails this test.
 */
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLField,
  type GraphQLInputType,
} from 'graphql'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getSchema } from '../../src/api/schema/index.js'
import { Harness } from '../helpers/harness.js'
import { gqlPost, initSocket } from '../helpers/raw-clients.js'

type Role = 'VIEWER' | 'OPERATOR' | 'ADMIN'
const ADMIN_QUERIES = ['apiTokens', 'auditEvents']
const OPERATOR_MUTATIONS = ['cancelRun', 'resetDelta', 'runPipeline', 'testConnection', 'testDestination']
const KNOWN_SUBSCRIPTIONS = ['runEvents', 'runProgress', 'runUpdates']

function expectedRole(kind: 'query' | 'mutation' | 'subscription', field: string): Role {
  if (kind === 'mutation') return OPERATOR_MUTATIONS.includes(field) ? 'OPERATOR' : 'ADMIN'
  return ADMIN_QUERIES.includes(field) ? 'ADMIN' : 'VIEWER'
}
const rank = (r: Role) => ['VIEWER', 'OPERATOR', 'ADMIN'].indexOf(r)

/** A literal of the right type for every required argument: enough to pass validation. */
function literal(type: GraphQLInputType): string {
  if (isNonNullType(type)) return literal(type.ofType)
  if (isListType(type)) return `[${literal(type.ofType)}]`
  if (isEnumType(type)) return type.getValues()[0].name
  if (isInputObjectType(type))
    return `{ ${Object.values(type.getFields())
      .filter((f) => isNonNullType(f.type))
      .map((f) => `${f.name}: ${literal(f.type)}`)
      .join(', ')} }`
  if (isScalarType(type))
    return ({ Int: '1', Float: '1', Boolean: 'true', BigInt: '1', JSON: '"{}"' } as Record<string, string>)[type.name] ?? '"x"'
  throw new Error(`no literal for ${String(type)}`)
}

function operationFor(kind: string, field: GraphQLField<unknown, unknown>, ids: Record<string, string> = {}): string {
  const args = field.args
    .filter((a) => isNonNullType(a.type))
    .map((a) => `${a.name}: ${ids[a.name] ? JSON.stringify(ids[a.name]) : literal(a.type)}`)
  const selection = isScalarType(getNamedType(field.type)) || isEnumType(getNamedType(field.type)) ? '' : ' { __typename }'
  return `${kind} { ${field.name}${args.length ? `(${args.join(', ')})` : ''}${selection} }`
}

const schema = getSchema()
const fields = (kind: 'query' | 'mutation' | 'subscription') =>
  Object.values(
    { query: schema.getQueryType(), mutation: schema.getMutationType(), subscription: schema.getSubscriptionType() }[kind]!.getFields(),
  )

let h: Harness
const tokens = {} as Record<Role, string>
let runId: string
beforeAll(async () => {
  h = await Harness.start()
  tokens.ADMIN = h.adminToken
  for (const role of ['VIEWER', 'OPERATOR'] as const) {
    const r = await gqlPost(`${h.app.url}/graphql`, h.adminToken, `mutation { createApiToken(name: "${role}", role: ${role}) { token } }`)
    tokens[role] = r.json!.data.createApiToken.token
  }
  const { pipelineId } = await h.createPipeline({ mode: 'FULL' })
  runId = (await h.run(pipelineId)).id
})
afterAll(() => h.stop())

describe.each(['http', 'ws'] as const)('over %s', (transport) => {
  const call = async (role: Role, operation: string) => {
    if (transport === 'http') return (await gqlPost(`${h.app.url}/graphql`, tokens[role], operation)).json!
    const { s, acked } = await initSocket(`${h.app.url!.replace('http', 'ws')}/graphql`, { authorization: `Bearer ${tokens[role]}` })
    expect(acked).toBe(true)
    s.send({ id: '1', type: 'subscribe', payload: { query: operation } })
    const m = await s.next((x) => x.id === '1' && (x.type === 'next' || x.type === 'error'))
    await s.close()
    return m.type === 'error' ? { errors: m.payload } : m.payload
  }

  for (const kind of ['query', 'mutation'] as const)
    for (const field of fields(kind))
      it.each(['VIEWER', 'OPERATOR', 'ADMIN'] as const)(`${kind} ${field.name} as %s`, async (role) => {
        const allowed = rank(role) >= rank(expectedRole(kind, field.name))
        const r = await call(role, operationFor(kind, field))
        const codes = (r.errors ?? []).map((e: { extensions?: { code?: string } }) => e.extensions?.code)
        if (allowed) expect(codes).not.toContain('FORBIDDEN')
        else {
          expect(codes).toEqual(['FORBIDDEN'])
          expect(r.data ?? null).toBeNull()
        }
      })
})

describe('subscriptions (graphql-ws)', () => {
  it('are all known to this test', () => {
    expect(
      fields('subscription')
        .map((f) => f.name)
        .sort(),
    ).toEqual(KNOWN_SUBSCRIPTIONS)
  })

  it.each(['VIEWER', 'OPERATOR', 'ADMIN'] as const)('every role may subscribe (%s)', async (role) => {
    const { s, acked } = await initSocket(`${h.app.url!.replace('http', 'ws')}/graphql`, { authorization: `Bearer ${tokens[role]}` })
    expect(acked).toBe(true)
    s.send({ id: 'p', type: 'subscribe', payload: { query: `subscription { runProgress(runId: "${runId}") { status } }` } })
    expect((await s.next((m) => m.id === 'p')).payload).toEqual({ data: { runProgress: { status: 'SUCCEEDED' } } })
    s.send({ id: 'e', type: 'subscribe', payload: { query: `subscription { runEvents(runId: "${runId}") { message } }` } })
    expect((await s.next((m) => m.id === 'e')).payload).toEqual({ data: { runEvents: { message: expect.stringMatching(/^run started/) } } })
    await s.close()
  })
})

it('mutations refused for a role change nothing', async () => {
  const db = h.app.services.db
  const before = [await db.connection.count(), await db.destination.count(), await db.apiToken.count(), await db.auditEvent.count()]
  for (const role of ['VIEWER', 'OPERATOR'] as const) {
    const r = await gqlPost(
      `${h.app.url}/graphql`,
      tokens[role],
      `mutation { createApiToken(name: "escalate-${role}", role: ADMIN) { token } d: createDestination(input: { name: "d-${role}", kind: LOCAL, local: { path: "/tmp/x" } }) { id } }`,
    )
    expect(r.json?.errors?.[0].extensions?.code).toBe('FORBIDDEN')
    expect(r.json?.data ?? null).toBeNull()
  }
  expect([await db.connection.count(), await db.destination.count(), await db.apiToken.count(), await db.auditEvent.count()]).toEqual(
    before,
  )
})

it('sees root fields behind fragments and aliases', async () => {
  const ops = [
    `mutation { ...F } fragment F on Mutation { createDestination(input: { name: "f", kind: LOCAL, local: { path: "/tmp/f" } }) { id } }`,
    `mutation { ... on Mutation { createDestination(input: { name: "f", kind: LOCAL, local: { path: "/tmp/f" } }) { id } } }`,
    `mutation { ok: runPipeline(id: "x") { id } bad: deleteConnection(id: "x") }`,
    `mutation { ...A } fragment A on Mutation { ...B } fragment B on Mutation { deleteConnection(id: "x") @skip(if: true) }`,
  ]
  for (const op of ops) {
    const r = await gqlPost(`${h.app.url}/graphql`, tokens.OPERATOR, op)
    expect(
      r.json?.errors?.map((e) => e.extensions?.code),
      op,
    ).toEqual(['FORBIDDEN'])
  }
  expect(await h.app.services.db.destination.count({ where: { name: 'f' } })).toBe(0)
})
