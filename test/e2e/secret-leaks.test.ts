import type { TypedDocumentNode } from '@graphql-typed-document-node/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sapSourceFactory } from '../../src/orchestrator/sources.js'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import { createLogger } from '../../src/util/logger.js'
import { graphql } from '../gql/index.js'
import { startForeignServer, type ForeignServer } from '../helpers/foreign-server.js'
import { Harness, SAP_USER } from '../helpers/harness.js'
import { TEST_OUTBOUND } from '../helpers/outbound.js'

/**
 * Issue 10, point 7: a secret planted in every input that can carry one, each mutation made to fail
 * in every way it can, on HTTP and websockets; neither the captured log (at trace level) nor any
 * response may hold the secret, in clear, base64 or as part of a Basic Authorization header.
 */
const SECRET = 'Pl4ntedS3cretQ9f8e7dXyZ' // fits every secret field's format (base64 account key included)
const b64 = (s: string) => Buffer.from(s).toString('base64')
const FORMS = [SECRET, b64(SECRET), b64(`${SAP_USER}:${SECRET}`), encodeURIComponent(SECRET)]

const CreateConnection = graphql(`mutation SlCreateConnection($input: CreateConnectionInput!) { createConnection(input: $input) { id } }`)
const UpdateConnection = graphql(
  `mutation SlUpdateConnection($id: ID!, $input: UpdateConnectionInput!) { updateConnection(id: $id, input: $input) { id } }`,
)
const TestConnection = graphql(`mutation SlTestConnection($id: ID!) { testConnection(id: $id) { ok code message } }`)
const CreateDestination = graphql(
  `mutation SlCreateDestination($input: CreateDestinationInput!) { createDestination(input: $input) { id } }`,
)
const UpdateDestination = graphql(
  `mutation SlUpdateDestination($id: ID!, $input: UpdateDestinationInput!) { updateDestination(id: $id, input: $input) { id } }`,
)
const TestDestination = graphql(`mutation SlTestDestination($id: ID!) { testDestination(id: $id) { ok code message } }`)
const CreatePipeline = graphql(
  `mutation SlCreatePipeline($input: CreatePipelineInput!) { createPipeline(input: $input) { id sourceCheck { status message } } }`,
)

const lines: string[] = []
let h: Harness
let echo: ForeignServer
/** What every failing call answered, to check that each really failed. */
const outcomes: Array<{ name: string; failed: boolean }> = []

beforeAll(async () => {
  // Answers every request with an error that quotes the request back: URL (a SAS token is in it)
  // and Authorization header (Basic: the SAP password), shaped as SAP, Azure or S3 would.
  echo = await startForeignServer((req, res) => {
    const said = `you sent ${req.url} with ${req.headers.authorization ?? 'no authorization'}`
    if (req.url?.startsWith('/sap/'))
      return void res
        .writeHead(500, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'ZECHO/001', message: { value: said } } }))
    res
      .writeHead(500, { 'content-type': 'application/xml', 'x-ms-error-code': 'InternalError' })
      .end(`<?xml version="1.0"?><Error><Code>InternalError</Code><Message>${said.replace(/&/g, '&amp;')}</Message></Error>`)
  })
  h = await Harness.start({
    log: createLogger('trace', { write: (l: string) => void lines.push(l) }),
    orchestrator: { sources: sapSourceFactory({ retries: 0, outbound: TEST_OUTBOUND }) },
  })
})
afterAll(async () => {
  await h?.stop()
  await echo?.close()
})

type Via = 'http' | 'ws'
async function send<R, V>(via: Via, doc: TypedDocumentNode<R, V>, variables: V) {
  return via === 'http' ? h.request(doc, variables) : h.requestWs(doc, variables)
}
/** A query text as typed (possibly not even parseable), over either transport. */
async function raw(via: Via, query: string, variables?: Record<string, unknown>): Promise<unknown> {
  if (via === 'http') {
    const res = await fetch(`${h.app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    })
    const text = await res.text()
    h.responses.push(text)
    return JSON.parse(text)
  }
  try {
    for await (const r of h.ws.iterate({ query, variables })) {
      h.responses.push(JSON.stringify(r))
      return r
    }
  } catch (e) {
    const said = Array.isArray(e) ? JSON.stringify(e) : `${(e as { code?: number }).code} ${(e as { reason?: string }).reason ?? String(e)}`
    h.responses.push(said)
    return { errors: [said] }
  }
  return undefined
}
const failed = (r: unknown) => !!(r as { errors?: unknown[] })?.errors?.length
const record = (name: string, r: unknown, fail = failed(r)) => outcomes.push({ name, failed: fail })

let n = 0
const odata = (extra: Record<string, unknown> = {}) => ({
  serviceUrl: `${echo.url}/sap/opu/odata/sap/ZSRV`,
  sapClient: '100',
  user: SAP_USER,
  password: SECRET,
  ...extra,
})
const azureInputs = () => [
  {
    container: 'lake',
    connectionString: `DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=${SECRET};BlobEndpoint=${echo.url}/acct;`,
  },
  { container: 'lake', accountUrl: `${echo.url}/acct`, sasToken: `sv=2024-01-01&sp=rwdl&sig=${SECRET}` },
  { container: 'lake', accountName: 'acct', accountUrl: `${echo.url}/acct`, accountKey: SECRET },
]
const s3Input = (extra: Record<string, unknown> = {}) => ({
  bucket: 'lake',
  endpoint: echo.url,
  forcePathStyle: true,
  accessKeyId: 'AKIAEXAMPLE',
  secretAccessKey: SECRET,
  ...extra,
})

describe.each(['http', 'ws'] as const)('over %s', (via) => {
  it('createConnection and updateConnection: validation, types, syntax, not found, conflict, control characters, a moved host', async () => {
    const c = await send(via, CreateConnection, { input: { name: `sap-${via}`, protocol: 'ODATA', odataConfig: odata() } })
    expect(c.errors).toBeUndefined()
    const id = c.data!.createConnection.id
    const rfc = await send(via, CreateConnection, {
      input: {
        name: `rfc-${via}`,
        protocol: 'RFC',
        rfcConfig: { ashost: '127.0.0.1', sysnr: '00', client: '100', user: SAP_USER, passwd: SECRET },
      },
    })
    expect(rfc.errors).toBeUndefined()

    record(
      'zod validation',
      await send(via, CreateConnection, { input: { name: `x${n++}`, protocol: 'ODATA', odataConfig: odata({ sapClient: '1' }) } }),
    )
    record(
      'rfc validation',
      await send(via, CreateConnection, { input: { name: `x${n++}`, protocol: 'RFC', rfcConfig: { client: '100', passwd: SECRET } } }),
    )
    record(
      'wrong config for protocol',
      await send(via, CreateConnection, {
        input: { name: `x${n++}`, protocol: 'ODATA', rfcConfig: { client: '100', ashost: 'h', sysnr: '00', passwd: SECRET } },
      }),
    )
    record('conflict', await send(via, CreateConnection, { input: { name: `sap-${via}`, protocol: 'ODATA', odataConfig: odata() } }))
    record(
      'control character',
      await send(via, CreateConnection, { input: { name: `bad\u0000${n++}`, protocol: 'ODATA', odataConfig: odata() } }),
    )
    record(
      'variable with an unknown field',
      await raw(via, 'mutation($i: CreateConnectionInput!) { createConnection(input: $i) { id } }', {
        i: { name: 'v', protocol: 'ODATA', odataConfig: { ...odata(), bogus: 1 } },
      }),
    )
    record(
      'variable of the wrong type',
      await raw(via, 'mutation($i: CreateConnectionInput!) { createConnection(input: $i) { id } }', {
        i: { name: 'v', protocol: 'ODATA', odataConfig: { ...odata(), password: [SECRET] } },
      }),
    )
    record(
      'literal of the wrong type',
      await raw(
        via,
        `mutation { createConnection(input: { name: "l", protocol: ODATA, odataConfig: { serviceUrl: "https://x", password: ${SECRET} } }) { id } }`,
      ),
    )
    record(
      'literal failing the service’s validation',
      await raw(
        via,
        `mutation { createConnection(input: { name: "l${n++}", protocol: ODATA, odataConfig: { serviceUrl: "https://x", sapClient: "1", password: "${SECRET}" } }) { id } }`,
      ),
    )
    record(
      'literal not found',
      await raw(
        via,
        `mutation { updateConnection(id: "nope", input: { odataConfig: { serviceUrl: "https://x", password: "${SECRET}" } }) { id } }`,
      ),
    )
    record(
      'literal with an unknown field',
      await raw(
        via,
        `mutation { createConnection(input: { name: "l", protocol: ODATA, odataConfig: { serviceUrl: "https://x", password: "${SECRET}", bogus: 1 } }) { id } }`,
      ),
    )
    record(
      'syntax error',
      await raw(via, `mutation { createConnection(input: { name: "l", protocol: ODATA, odataConfig: { password ${SECRET} } }) { id } }`),
    )
    record(
      'syntax error in a string',
      await raw(via, `mutation { createConnection(input: { odataConfig: { password: "${SECRET}\\q" } }) { id } }`),
    )
    record('not found', await send(via, UpdateConnection, { id: 'no-such-connection', input: { odataConfig: odata() } }))
    record('update validation', await send(via, UpdateConnection, { id, input: { odataConfig: odata({ serviceUrl: 'ftp://x' }) } }))
    record('update conflict', await send(via, UpdateConnection, { id, input: { name: `rfc-${via}`, odataConfig: odata() } }))
    record(
      'moved without the password',
      await send(via, UpdateConnection, {
        id,
        input: { odataConfig: { ...odata(), password: undefined, serviceUrl: 'https://elsewhere.example/sap' } },
      }),
    )
    record(
      'rfc moved without the password',
      await send(via, UpdateConnection, {
        id: rfc.data!.createConnection.id,
        input: { rfcConfig: { ashost: 'elsewhere.example', sysnr: '00', client: '100' } },
      }),
    )
  })

  it('testConnection and a run against an SAP that quotes the request back, and one that is not there', async () => {
    const echoing = await send(via, CreateConnection, { input: { name: `echo-${via}`, protocol: 'ODATA', odataConfig: odata() } })
    const t1 = await send(via, TestConnection, { id: echoing.data!.createConnection.id })
    record('testConnection, echoing SAP', t1, t1.data?.testConnection.ok === false)
    expect(t1.data?.testConnection.message).toContain('***') // the quoted Authorization header, blanked
    const gone = await send(via, CreateConnection, {
      input: { name: `gone-${via}`, protocol: 'ODATA', odataConfig: odata({ serviceUrl: 'http://127.0.0.1:1/sap/x' }) },
    })
    const t2 = await send(via, TestConnection, { id: gone.data!.createConnection.id })
    record('testConnection, no SAP', t2, t2.data?.testConnection.ok === false)
    const refused = await send(via, CreateConnection, {
      input: { name: `meta-${via}`, protocol: 'ODATA', odataConfig: odata({ serviceUrl: 'http://169.254.169.254/sap/x' }) },
    })
    const t3 = await send(via, TestConnection, { id: refused.data!.createConnection.id })
    record('testConnection, refused host', t3, t3.data?.testConnection.ok === false)

    const d = await h.gql(CreateDestination, { input: { name: `lake-${via}`, kind: 'LOCAL', local: { path: h.lakeDir } } })
    const p = await send(via, CreatePipeline, {
      input: {
        name: `p-${via}`,
        connectionId: echoing.data!.createConnection.id,
        destinationId: d.createDestination.id,
        mode: 'FULL',
        source: { kind: 'ODP_ODATA', entitySet: SALES_ITEMS },
      },
    })
    record('pipeline source check', p, p.data?.createPipeline.sourceCheck?.status === 'UNCHECKED')
    const run = await h.run(p.data!.createPipeline.id)
    record('run', run, run.status === 'FAILED')
  })

  it('createDestination, updateDestination and testDestination with every kind of storage secret', async () => {
    for (const [i, azureBlob] of azureInputs().entries()) {
      const created = await send(via, CreateDestination, { input: { name: `az${i}-${via}`, kind: 'AZURE_BLOB', azureBlob } })
      expect(created.errors).toBeUndefined()
      const id = created.data!.createDestination.id
      record(
        `azure ${i} validation`,
        await send(via, CreateDestination, {
          input: { name: `x${n++}`, kind: 'AZURE_BLOB', azureBlob: { ...azureBlob, container: 'No_Such' } },
        }),
      )
      record(`azure ${i} conflict`, await send(via, CreateDestination, { input: { name: `az${i}-${via}`, kind: 'AZURE_BLOB', azureBlob } }))
      record(
        `azure ${i} two sign-in forms`,
        await send(via, CreateDestination, {
          input: { name: `x${n++}`, kind: 'AZURE_BLOB', azureBlob: { ...azureBlob, sasToken: `sv=1&sig=${SECRET}`, accountKey: SECRET } },
        }),
      )
      record(`azure ${i} not found`, await send(via, UpdateDestination, { id: 'no-such-destination', input: { azureBlob } }))
      record(`azure ${i} wrong kind`, await send(via, UpdateDestination, { id, input: { s3: s3Input() } }))
      record(
        `azure ${i} unknown field`,
        await raw(via, 'mutation($i: CreateDestinationInput!) { createDestination(input: $i) { id } }', {
          i: { name: 'v', kind: 'AZURE_BLOB', azureBlob: { ...azureBlob, bogus: true } },
        }),
      )
      const t = await send(via, TestDestination, { id })
      record(`azure ${i} testDestination`, t, t.data?.testDestination.ok === false)
    }
    record(
      'azure malformed connection string',
      await send(via, CreateDestination, {
        input: {
          name: `x${n++}`,
          kind: 'AZURE_BLOB',
          azureBlob: { container: 'lake', connectionString: `AccountName=acct;AccountKey=${SECRET}!!;BlobEndpoint=${echo.url}/acct` },
        },
      }),
    )
    record(
      'azure connection string that is no connection string',
      await send(via, CreateDestination, {
        input: { name: `x${n++}`, kind: 'AZURE_BLOB', azureBlob: { container: 'lake', connectionString: SECRET } },
      }),
    )
    record(
      'azure SAS in the account URL',
      await send(via, CreateDestination, {
        input: {
          name: `x${n++}`,
          kind: 'AZURE_BLOB',
          azureBlob: { container: 'lake', accountUrl: `${echo.url}/acct?sig=${SECRET}`, sasToken: `sv=1&sig=${SECRET}` },
        },
      }),
    )

    const s3 = await send(via, CreateDestination, { input: { name: `s3-${via}`, kind: 'S3', s3: s3Input() } })
    expect(s3.errors).toBeUndefined()
    const id = s3.data!.createDestination.id
    record(
      's3 literal failing validation',
      await raw(
        via,
        `mutation { createDestination(input: { name: "l${n++}", kind: S3, s3: { bucket: "Bad..Bucket", accessKeyId: "AKIAEXAMPLE", secretAccessKey: "${SECRET}" } }) { id } }`,
      ),
    )
    record(
      's3 validation',
      await send(via, CreateDestination, { input: { name: `x${n++}`, kind: 'S3', s3: s3Input({ bucket: 'Bad..Bucket' }) } }),
    )
    record(
      's3 secret without key id',
      await send(via, CreateDestination, { input: { name: `x${n++}`, kind: 'S3', s3: s3Input({ accessKeyId: undefined }) } }),
    )
    record('s3 conflict', await send(via, CreateDestination, { input: { name: `s3-${via}`, kind: 'S3', s3: s3Input() } }))
    record('s3 not found', await send(via, UpdateDestination, { id: 'no-such-destination', input: { s3: s3Input() } }))
    record(
      's3 moved without the secret',
      await send(via, UpdateDestination, { id, input: { s3: s3Input({ secretAccessKey: undefined, bucket: 'other' }) } }),
    )
    record(
      's3 credentials in the endpoint',
      await send(via, CreateDestination, {
        input: { name: `x${n++}`, kind: 'S3', s3: s3Input({ endpoint: `http://AKIAEXAMPLE:${SECRET}@127.0.0.1:1` }) },
      }),
    )
    const t = await send(via, TestDestination, { id })
    record('s3 testDestination', t, t.data?.testDestination.ok === false)
    const gone = await send(via, CreateDestination, {
      input: { name: `s3gone-${via}`, kind: 'S3', s3: s3Input({ endpoint: 'http://127.0.0.1:1' }) },
    })
    const t2 = await send(via, TestDestination, { id: gone.data!.createDestination.id })
    record('s3 testDestination, no storage', t2, t2.data?.testDestination.ok === false)
  })
})

describe('requests that are not JSON where JSON is due', () => {
  const mutation = 'mutation($i: CreateConnectionInput!) { createConnection(input: $i) { id } }'
  const input = () => JSON.stringify({ name: 'json', protocol: 'ODATA', odataConfig: odata() })

  it('a malformed body is 400 BAD_REQUEST without the parser’s message, which quotes the body', async () => {
    for (const body of [
      `{"query":${JSON.stringify(mutation)},"variables":{"i":${input().replace(/}}$/, ',}}')}}`, // a trailing comma
      `{"query":${JSON.stringify(mutation)},"variables":{"i":${input()}}x`,
      `{"query":${JSON.stringify(mutation)},"variables":{"i":${input()}`,
    ]) {
      const res = await fetch(`${h.app.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${h.adminToken}` },
        body,
      })
      const text = await res.text()
      h.responses.push(text)
      record('malformed JSON body', JSON.parse(text))
      expect([res.status, JSON.parse(text)]).toEqual([
        400,
        { errors: [{ message: 'POST body sent invalid JSON.', extensions: { code: 'BAD_REQUEST' } }] },
      ])
    }
  })

  it('malformed variables in a GET are 400 BAD_REQUEST, logged at info, not an internal error', async () => {
    for (const variables of ['{', `{"i":${input()}`, `{"password":"${SECRET}",}`]) {
      const before = lines.length
      const res = await fetch(
        `${h.app.url}/graphql?query=${encodeURIComponent('{ __typename }')}&variables=${encodeURIComponent(variables)}`,
        {
          headers: { authorization: `Bearer ${h.adminToken}`, accept: 'application/graphql-response+json', 'x-graphql-yoga-csrf': '1' },
        },
      )
      const text = await res.text()
      h.responses.push(text)
      record('malformed GET variables', JSON.parse(text))
      expect([res.status, JSON.parse(text).errors[0].extensions]).toEqual([400, { code: 'BAD_REQUEST' }])
      const logged = lines.slice(before).map((l) => JSON.parse(l) as { level: number; msg: string; code?: string })
      expect(logged.filter((e) => e.level >= 40)).toEqual([])
      expect(logged).toContainEqual(expect.objectContaining({ level: 30, msg: 'request refused', code: 'BAD_REQUEST' }))
    }
  })
})

it('no secret in any response or log line; every case above failed; refusals logged as structured objects, at info', () => {
  expect(JSON.stringify(outcomes.filter((o) => !o.failed))).toBe('[]')
  expect(outcomes.length).toBeGreaterThan(60)
  for (const form of FORMS) {
    expect(h.responses.filter((r) => r.includes(form))).toEqual([])
    expect(lines.filter((l) => l.includes(form))).toEqual([])
  }
  const entries = lines.map((l) => JSON.parse(l) as { level: number; msg?: string; code?: string })
  // Refusals are info (30), with their code as a field; nothing the caller did wrong is logged as an error.
  expect(entries.filter((e) => e.msg === 'request refused' && e.level === 30).map((e) => e.code)).toEqual(
    expect.arrayContaining(['BAD_USER_INPUT', 'NOT_FOUND', 'CONFLICT']),
  )
  expect(entries.filter((e) => e.level >= 50)).toEqual([])
  // And never the query text.
  expect(lines.filter((l) => l.includes('createConnection(input'))).toEqual([])
})
