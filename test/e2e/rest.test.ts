/**
 * REST as users of the original service call it (architecture.md, "REST"): the original's calls
 * verbatim over HTTP, snake_case bodies, ids, names and numbers in paths, problem+json errors with
 * GraphQL's codes, the same tokens and roles, and /openapi.json and /docs.
 */
import { request } from 'node:http'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import { Harness, SAP_PASSWORD, SAP_USER } from '../helpers/harness.js'

let h: Harness
const tokens: Record<'VIEWER' | 'OPERATOR', string> = { VIEWER: '', OPERATOR: '' }

/** A call the way curl or requests makes it; every answer is kept for the secret-leak check. */
async function call(method: string, path: string, body?: unknown, opts: { token?: string | null; headers?: Record<string, string> } = {}) {
  const token = opts.token === undefined ? h.adminToken : opts.token
  const res = await fetch(`${h.app.url}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...opts.headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await res.text()
  h.responses.push(text)
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    headers: res.headers,
    json: text ? JSON.parse(text) : undefined,
  }
}

const expectProblem = (r: Awaited<ReturnType<typeof call>>, status: number, code: string, field?: string) => {
  expect(r.type).toMatch(/^application\/problem\+json/)
  expect(r.json).toMatchObject({ type: 'about:blank', status, code, ...(field ? { field } : {}) })
  expect(r.status).toBe(status)
}

const rfcConnection = {
  name: 'SAP_Test_System',
  protocol: 'RFC',
  rfc_config: { ashost: 'test.sap.server', sysnr: '10', client: '100', user: 'RFC_USER', passwd: 'rfc-secret-1', lang: 'EN' },
}

beforeAll(async () => {
  h = await Harness.start()
  for (const role of ['VIEWER', 'OPERATOR'] as const) {
    const r = await fetch(`${h.app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.adminToken}` },
      body: JSON.stringify({ query: `mutation { createApiToken(name: "${role}", role: ${role}) { token } }` }),
    })
    tokens[role] = ((await r.json()) as { data: { createApiToken: { token: string } } }).data.createApiToken.token
  }
})
afterAll(() => h?.stop())

describe("the original service's calls", () => {
  it('POST /connections/ with an RFC connection in snake_case, then GET /connections and PUT /connections/1', async () => {
    const created = await call('POST', '/connections/', rfcConnection)
    expect(created.status).toBe(201)
    expect(created.json).toMatchObject({
      name: 'SAP_Test_System',
      number: 1,
      protocol: 'RFC',
      rfc_config: { ashost: 'test.sap.server', sysnr: '10', client: '100', user: 'RFC_USER', lang: 'EN', has_password: true },
      odata_config: null,
    })
    expect(created.headers.get('location')).toBe(`/connections/${created.json.id}`)

    for (const path of ['/connections', '/connections/']) {
      const list = await call('GET', path)
      expect(list.status).toBe(200)
      expect(list.json.map((c: { name: string }) => c.name)).toEqual(['SAP_Test_System'])
    }

    // The original's PUT sends the whole object back, protocol and password (as `password`) included.
    const put = await call('PUT', '/connections/1', {
      ...rfcConnection,
      rfc_config: { ...rfcConnection.rfc_config, sysnr: '11', passwd: undefined, password: 'rfc-secret-2' },
    })
    expect(put.status).toBe(200)
    expect(put.json).toMatchObject({ id: created.json.id, number: 1, rfc_config: { sysnr: '11', has_password: true } })
  })

  it('creates an OData connection in snake_case, and a pipeline without a destination (the LOCAL default)', async () => {
    const odata = await call('POST', '/connections', {
      name: 'sap-odata',
      protocol: 'ODATA',
      odata_config: { service_url: h.sim.serviceUrl, sap_client: '100', user: SAP_USER, passwd: SAP_PASSWORD, lang: 'EN' },
    })
    expect(odata.status).toBe(201)
    expect(odata.json).toMatchObject({
      number: 2,
      odata_config: { service_url: h.sim.serviceUrl, sap_client: '100', language: 'EN', has_password: true },
    })

    const pipeline = await call('POST', '/pipelines', {
      name: 'sales',
      connection_id: 'sap-odata',
      source: { kind: 'ODP_ODATA', entity_set: SALES_ITEMS, page_size: 100 },
      mode: 'FULL',
    })
    expect(pipeline.status).toBe(201)
    expect(pipeline.json).toMatchObject({
      name: 'sales',
      number: 1,
      connection: { id: odata.json.id, name: 'sap-odata', number: 2 },
      destination: { name: 'default', number: 1 },
      source: { kind: 'ODP_ODATA', entity_set: SALES_ITEMS, page_size: 100 },
    })
    const destination = await call('GET', '/destinations/default')
    expect(destination.json).toMatchObject({ kind: 'LOCAL', local: { path: `${h.db.dataDir}/default` } })
  })

  it('POST /pipelines/1/run answers 202 with the message, the run id and its URLs; GET /runs/{id} follows it to SUCCEEDED', async () => {
    const started = await call('POST', '/pipelines/1/run')
    expect(started.status).toBe(202)
    const runId: string = started.json.run_id
    expect(started.json).toMatchObject({
      message: 'Pipeline run started!',
      status: 'QUEUED',
      urls: { rest: `/runs/${runId}` },
      run: { id: runId, pipeline: { name: 'sales', number: 1 }, extraction_mode: 'FULL', trigger: 'API' },
    })
    expect(started.headers.get('location')).toBe(`/runs/${runId}`)

    await expect
      .poll(async () => (await call('GET', `/runs/${runId}`, undefined, { token: tokens.VIEWER })).json.status, {
        timeout: 30_000,
        interval: 100,
      })
      .toBe('SUCCEEDED')
    const run = (await call('GET', `/runs/${runId}/`)).json
    expect(run).toMatchObject({ id: runId, stage: 'DONE', rows_extracted: '300', rows_written: '300', error: null })
    expect(run.manifest_uri).toMatch(/manifest\.json$/)

    // The GraphQL URL of the answer works as given (with the header GraphQL's CSRF check asks of GETs).
    const g = await fetch(`${h.app.url}${started.json.urls.graphql}`, {
      headers: { authorization: `Bearer ${tokens.VIEWER}`, 'x-graphql-yoga-csrf': '1' },
    })
    expect(((await g.json()) as { data: { run: { status: string } } }).data.run.status).toBe('SUCCEEDED')

    for (const pipeline of ['1', 'sales', started.json.run.pipeline.id]) {
      const runs = await call('GET', `/runs?pipeline=${pipeline}`)
      expect(runs.json.map((r: { id: string }) => r.id)).toEqual([runId])
      expect(runs.headers.get('x-total-count')).toBe('1')
    }
    expectProblem(await call('GET', '/runs?pipeline=nope'), 404, 'NOT_FOUND')
  })

  it('DELETE /pipelines/5 by number; ids, names and numbers all name the same object', async () => {
    const conn = (await call('GET', '/connections/SAP_Test_System')).json
    for (const ref of [conn.id, 'SAP_Test_System', '1'])
      expect((await call('GET', `/connections/${encodeURIComponent(ref)}`)).json.id).toBe(conn.id)
    const body = { connection_id: 1, source: { kind: 'TABLE_RFC', table: 'MARA' }, mode: 'FULL', destination_id: 'default' }
    for (const n of [2, 3, 4, 5]) expect((await call('POST', '/pipelines', { ...body, name: `p${n}` })).json.number).toBe(n)
    const deleted = await call('DELETE', '/pipelines/5')
    expect(deleted).toMatchObject({ status: 200, json: { message: 'Pipeline deleted!' } })
    expectProblem(await call('GET', '/pipelines/5'), 404, 'NOT_FOUND')
    // numbers are never given twice
    expect((await call('POST', '/pipelines', { ...body, name: 'p6' })).json.number).toBe(6)
    // camelCase, as in GraphQL, works as well
    const camel = await call('POST', '/pipelines', {
      name: 'p7',
      connectionId: conn.id,
      destinationId: 'default',
      source: { kind: 'TABLE_RFC', table: 'MARA' },
      mode: 'FULL',
    })
    expect(camel.status).toBe(201)
    // the lake-table output settings in snake_case, both ways
    const policy = await call('POST', '/pipelines', { ...body, name: 'p8', output: { schema_changes: 'BLOCK', current_state: false } })
    expect(policy.json.output).toMatchObject({ table: 'NONE', current_state: false, schema_changes: 'BLOCK' })
  })
})

describe('errors are problem+json with the GraphQL codes', () => {
  it('bad input names the field (422), changes nothing', async () => {
    const before = (await call('GET', '/connections')).json.length
    expectProblem(
      await call('POST', '/connections', { ...rfcConnection, name: 'bad', rfc_config: { ...rfcConnection.rfc_config, sysnr: '1' } }),
      422,
      'BAD_USER_INPUT',
      'rfc_config.sysnr',
    )
    expectProblem(
      await call('POST', '/connections', { ...rfcConnection, name: 'bad', rfc_config: { ...rfcConnection.rfc_config, sysnr: 10 } }),
      422,
      'BAD_USER_INPUT',
      'rfc_config.sysnr',
    )
    expectProblem(
      await call('POST', '/connections', { protocol: 'RFC', rfc_config: rfcConnection.rfc_config }),
      422,
      'BAD_USER_INPUT',
      'name',
    )
    expectProblem(
      await call('POST', '/connections', { ...rfcConnection, name: 'bad', protocol: 'SOAP' }),
      422,
      'BAD_USER_INPUT',
      'protocol',
    )
    expectProblem(
      await call('POST', '/pipelines', { name: 'bad', connection_id: 'nope', source: { kind: 'TABLE_RFC', table: 'MARA' }, mode: 'FULL' }),
      422,
      'BAD_USER_INPUT',
      'connection_id',
    )
    // the current-state table is refused until it is available, by field
    const mara = { name: 'bad', connection_id: 1, destination_id: 'default', source: { kind: 'TABLE_RFC', table: 'MARA' }, mode: 'FULL' }
    expectProblem(
      await call('POST', '/pipelines', { ...mara, output: { current_state: true } }),
      422,
      'BAD_USER_INPUT',
      'output.current_state',
    )
    expectProblem(
      await call('POST', '/connections', { ...rfcConnection, name: 'bad', rfc_config: { ...rfcConnection.rfc_config, sysnrr: '10' } }),
      422,
      'BAD_USER_INPUT',
      'rfc_config.sysnrr',
    )
    expectProblem(await call('POST', '/connections', '{"name": '), 400, 'BAD_REQUEST')
    expectProblem(
      await call('POST', '/connections', 'name=x', { headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    )
    expect((await call('GET', '/connections')).json.length).toBe(before)
  })

  it('unknown id 404, conflict 409, unknown path 404, wrong method 405, body too large 413', async () => {
    expectProblem(await call('PUT', '/connections/999', { name: 'x' }), 404, 'NOT_FOUND')
    expectProblem(await call('GET', '/runs/does-not-exist'), 404, 'NOT_FOUND')
    expectProblem(await call('POST', '/connections', rfcConnection), 409, 'CONFLICT', 'name')
    expectProblem(await call('DELETE', '/connections/SAP_Test_System'), 409, 'CONFLICT')
    expectProblem(await call('GET', '/pipelines/1/runs'), 404, 'NOT_FOUND')
    expectProblem(await call('PATCH', '/pipelines/1'), 405, 'METHOD_NOT_ALLOWED')
    expectProblem(await call('POST', '/connections', { name: 'x'.repeat(2_000_000) }), 413, 'PAYLOAD_TOO_LARGE')
  })
})

describe('tokens, roles and the transport checks of GraphQL', () => {
  it('no token 401, an unknown one 401', async () => {
    expectProblem(await call('GET', '/connections', undefined, { token: null }), 401, 'UNAUTHENTICATED')
    expectProblem(await call('GET', '/connections', undefined, { token: 'dex_nope' }), 401, 'UNAUTHENTICATED')
  })

  it('a viewer reads but cannot create; an operator runs but cannot create or delete', async () => {
    expect((await call('GET', '/pipelines', undefined, { token: tokens.VIEWER })).status).toBe(200)
    expectProblem(await call('POST', '/connections', { ...rfcConnection, name: 'v' }, { token: tokens.VIEWER }), 403, 'FORBIDDEN')
    expectProblem(await call('POST', '/pipelines/sales/run', undefined, { token: tokens.VIEWER }), 403, 'FORBIDDEN')
    expectProblem(await call('POST', '/connections', { ...rfcConnection, name: 'o' }, { token: tokens.OPERATOR }), 403, 'FORBIDDEN')
    expectProblem(await call('DELETE', '/pipelines/sales', undefined, { token: tokens.OPERATOR }), 403, 'FORBIDDEN')
    const run = await call('POST', '/pipelines/sales/run', { mode: 'FULL' }, { token: tokens.OPERATOR })
    expect(run.status).toBe(202)
    expect(
      (await call('GET', '/connections?x', undefined, { token: tokens.VIEWER })).json.some((c: { name: string }) => c.name === 'v'),
    ).toBe(false)
    await h.waitForRun(run.json.run_id)
  })

  it('a foreign Origin and a foreign Host are refused before anything runs', async () => {
    expectProblem(await call('POST', '/pipelines/sales/run', undefined, { headers: { origin: 'https://evil.example' } }), 403, 'FORBIDDEN')
    // fetch sends the Host of its URL whatever it is told: node:http sends the one given.
    const url = new URL(`${h.app.url}/connections`)
    const refused = await new Promise<{ status: number; body: string }>((resolve, reject) =>
      request(url, { headers: { host: 'evil.example', authorization: `Bearer ${h.adminToken}` } }, (res) => {
        let body = ''
        res.on('data', (c) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
        .on('error', reject)
        .end(),
    )
    expect(refused.status).toBe(421)
    expect(JSON.parse(refused.body)).toMatchObject({ status: 421, code: 'FORBIDDEN' })
  })

  it('the changes are in the audit trail with their actor', async () => {
    const r = await fetch(`${h.app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.adminToken}` },
      body: JSON.stringify({ query: '{ auditEvents(first: 100) { edges { node { actor action objectType } } } }' }),
    })
    const actions = (
      (await r.json()) as { data: { auditEvents: { edges: { node: { actor: string; action: string } }[] } } }
    ).data.auditEvents.edges.map((e) => `${e.node.actor}:${e.node.action}`)
    expect(actions).toEqual(
      expect.arrayContaining([
        'OPERATOR:runPipeline',
        expect.stringMatching(/:createConnection$/),
        expect.stringMatching(/:deletePipeline$/),
      ]),
    )
  })

  it('no secret is in any answer', () => {
    const all = h.responses.join('\n')
    for (const secret of ['rfc-secret-1', 'rfc-secret-2', SAP_PASSWORD]) expect(all).not.toContain(secret)
  })
})

describe('/openapi.json and /docs', () => {
  it('is an OpenAPI 3.1 document listing every path, and the example requests are valid against it', async () => {
    const doc = (await call('GET', '/openapi.json', undefined, { token: null })).json
    expect(doc.openapi).toBe('3.1.0')
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/connections',
        '/connections/{ref}',
        '/destinations',
        '/destinations/{ref}',
        '/pipelines',
        '/pipelines/{ref}',
        '/pipelines/{ref}/run',
        '/runs',
        '/runs/{ref}',
        '/runs/{ref}/cancel',
      ].sort(),
    )
    const ajv = new Ajv2020({ strict: false, validateFormats: false })
    const bodyOf = (path: string, method: string) => doc.paths[path][method].requestBody.content['application/json'].schema
    const validConnection = ajv.compile(bodyOf('/connections', 'post'))
    expect(validConnection(rfcConnection), JSON.stringify(validConnection.errors)).toBe(true)
    expect(validConnection({ ...rfcConnection, rfc_config: { ...rfcConnection.rfc_config, sysnr: 10 } })).toBe(false)
    const validPipeline = ajv.compile(bodyOf('/pipelines', 'post'))
    expect(validPipeline({ name: 'x', connection_id: '1', source: { kind: 'ODP_ODATA', entity_set: SALES_ITEMS }, mode: 'FULL' })).toBe(
      true,
    )
    // an answer, too
    const connectionAnswer = ajv.compile(doc.paths['/connections/{ref}'].get.responses['200'].content['application/json'].schema)
    expect(connectionAnswer((await call('GET', '/connections/1')).json), JSON.stringify(connectionAnswer.errors)).toBe(true)
    const runAnswer = ajv.compile(doc.paths['/pipelines/{ref}/run'].post.responses['202'].content['application/json'].schema)
    const started = await call('POST', '/pipelines/sales/run')
    expect(runAnswer(started.json), JSON.stringify(runAnswer.errors)).toBe(true)
    await h.waitForRun(started.json.run_id)
    expect(doc.paths['/connections'].post.description).toMatch(/ADMIN/)
    expect(doc.paths['/pipelines/{ref}/run'].post.description).toMatch(/OPERATOR/)
  })

  it('/docs loads without a network: its page and every file it references come from the service', async () => {
    const page = await fetch(`${h.app.url}/docs`)
    expect(page.status).toBe(200)
    const html = await page.text()
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1])
    expect(refs.length).toBeGreaterThanOrEqual(3)
    for (const ref of refs) {
      expect(ref).toMatch(/^\/docs\//)
      const asset = await fetch(`${h.app.url}${ref}`)
      expect(asset.status, ref).toBe(200)
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(10)
    }
    expect(await (await fetch(`${h.app.url}/docs/init.js`)).text()).toContain("url: '/openapi.json'")
  })
})
