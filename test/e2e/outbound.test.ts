import type { TypedDocumentNode } from '@graphql-typed-document-node/core'
import { networkInterfaces } from 'node:os'
import { afterEach, describe, expect, it } from 'vitest'
import { sapSourceFactory } from '../../src/orchestrator/sources.js'
import { graphql } from '../gql/index.js'
import type { CreateDestinationInput } from '../gql/graphql.js'
import { startForeignServer, type ForeignServer } from '../helpers/foreign-server.js'
import { Harness, SAP_PASSWORD, SAP_USER, type HarnessOptions } from '../helpers/harness.js'
import { TEST_OUTBOUND } from '../helpers/outbound.js'

const CreateConnection = graphql(`mutation ObCreateConnection($input: CreateConnectionInput!) { createConnection(input: $input) { id } }`)
const TestConnection = graphql(`mutation ObTestConnection($id: ID!) { testConnection(id: $id) { ok code message } }`)
const CreateDestination = graphql(
  `mutation ObCreateDestination($input: CreateDestinationInput!) { createDestination(input: $input) { id } }`,
)
const TestDestination = graphql(`mutation ObTestDestination($id: ID!) { testDestination(id: $id) { ok code message } }`)
const PipelineCheck = graphql(`query ObPipelineCheck($id: ID!) { pipeline(id: $id) { sourceCheck { status message } } }`)
const CreatePipeline = graphql(
  `mutation ObCreatePipeline($input: CreatePipelineInput!) { createPipeline(input: $input) { id sourceCheck { status message } } }`,
)

/** Text a foreign service answers with: it must never come back to the caller. */
const INTERNAL = 'INTERNAL-BODY-7f3a'

let h: Harness | undefined
const servers: ForeignServer[] = []
afterEach(async () => {
  // Nothing a foreign service said reached any response, on either transport.
  if (h) expect(h.responses.filter((r) => r.includes(INTERNAL))).toEqual([])
  await h?.stop()
  h = undefined
  for (const s of servers.splice(0)) await s.close()
})

const start = async (opts: HarnessOptions = {}) => (h = await Harness.start(opts))
const STRICT = { access: { outbound: { allowLoopback: false, allow: [] } } }

type Transport = 'http' | 'ws'
const TRANSPORTS: Transport[] = ['http', 'ws']
/** One operation over the given transport; fails the test on errors. */
async function call<R, V>(via: Transport, doc: TypedDocumentNode<R, V>, variables: V): Promise<R> {
  const r = via === 'http' ? await h!.request(doc, variables) : await h!.requestWs(doc, variables)
  if (r.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`)
  return r.data as R
}

let n = 0
const odata = (serviceUrl: string) => ({
  name: `c${n++}`,
  protocol: 'ODATA' as const,
  odataConfig: { serviceUrl, sapClient: '100', user: SAP_USER, password: SAP_PASSWORD },
})
async function testConnectionTo(via: Transport, serviceUrl: string) {
  const { createConnection } = await call(via, CreateConnection, { input: odata(serviceUrl) })
  return (await call(via, TestConnection, { id: createConnection.id })).testConnection
}
async function testDestinationOf(via: Transport, input: Omit<CreateDestinationInput, 'name'>) {
  const { createDestination } = await call(via, CreateDestination, { input: { name: `d${n++}`, ...input } })
  return (await call(via, TestDestination, { id: createDestination.id })).testDestination
}

describe('outbound policy', () => {
  it('refuses the service’s own machine unless ALLOW_LOOPBACK, in every spelling of its address, before a request is sent', async () => {
    await start(STRICT)
    const port = new URL(h!.sim.url).port
    const spellings = ['127.0.0.1', 'localhost', '0x7f000001', '2130706433', '127.1', '[::ffff:127.0.0.1]', '[::1]']
    for (const via of TRANSPORTS)
      for (const host of spellings) {
        const t = await testConnectionTo(via, `http://${host}:${port}/sap/opu/odata/sap/ZDELTA_DEMO_SRV`)
        expect([via, host, t]).toEqual([
          via,
          host,
          { ok: false, code: 'OUTBOUND_REFUSED', message: expect.stringContaining('loopback address (set ALLOW_LOOPBACK=true to allow)') },
        ])
      }
    expect(h!.sim.admin.stats().requests).toBe(0)
  })

  it('refuses the machine’s own non-loopback addresses unless ALLOW_LOOPBACK: a service bound to 0.0.0.0 is reached there', async () => {
    const own = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && !a.internal && !a.address.startsWith('fe80:'))
      .map((a) => (a!.family === 'IPv6' ? `[${a!.address}]` : a!.address))
    if (!own.length) return // a machine with loopback only: nothing to check
    const local = await startForeignServer(undefined, '::')
    servers.push(local)
    await start(STRICT)
    for (const via of TRANSPORTS)
      for (const host of own)
        expect([host, await testConnectionTo(via, `http://${host}:${local.port}/sap/x`)]).toEqual([
          host,
          {
            ok: false,
            code: 'OUTBOUND_REFUSED',
            message: expect.stringContaining('an address of this machine (set ALLOW_LOOPBACK=true to allow)'),
          },
        ])
    expect(local.requests).toEqual([])
  })

  it('a run against a refused host fails at once as OUTBOUND_REFUSED, not retried; the pipeline was saved with its source unchecked', async () => {
    await start(STRICT)
    const { pipelineId } = await h!.createPipeline({ name: 'refused' })
    expect((await h!.gql(PipelineCheck, { id: pipelineId })).pipeline?.sourceCheck).toEqual({
      status: 'UNCHECKED',
      message: expect.stringContaining('OUTBOUND_REFUSED'),
    })
    const run = await h!.run(pipelineId)
    expect(run).toMatchObject({ status: 'FAILED', error: { code: 'OUTBOUND_REFUSED', retryable: false } })
    expect(h!.sim.admin.stats().requests).toBe(0)
  })

  it('refuses link-local and cloud metadata addresses even with loopback allowed: SAP, S3 endpoints and Azure account URLs', async () => {
    await start()
    for (const via of TRANSPORTS) {
      for (const url of [
        'http://169.254.169.254/latest/meta-data',
        'http://[fd00:ec2::254]/latest',
        'http://[fe80::1]:8000/sap',
        'http://[::ffff:169.254.169.254]/x',
        'http://0xa9fea9fe/x',
      ])
        expect(await testConnectionTo(via, url)).toMatchObject({
          ok: false,
          code: 'OUTBOUND_REFUSED',
          message: expect.stringContaining('always refused'),
        })
      expect(
        await testDestinationOf(via, {
          kind: 'S3',
          s3: {
            bucket: 'lake',
            endpoint: 'http://169.254.169.254',
            forcePathStyle: true,
            accessKeyId: 'AKIAEXAMPLE',
            secretAccessKey: 'x',
          },
        }),
      ).toMatchObject({
        ok: false,
        code: 'OUTBOUND_REFUSED',
      })
      expect(
        await testDestinationOf(via, {
          kind: 'AZURE_BLOB',
          azureBlob: { container: 'lake', accountUrl: 'http://169.254.169.254/acct', sasToken: 'sv=2024-01-01&sig=abc' },
        }),
      ).toMatchObject({
        ok: false,
        code: 'OUTBOUND_REFUSED',
      })
    }
  })

  it('OUTBOUND_ALLOW pins every connection: a listed name passes, the same machine under another name does not', async () => {
    await start({ access: { outbound: { allowLoopback: true, allow: ['localhost'] } } })
    const port = new URL(h!.sim.url).port
    for (const via of TRANSPORTS) {
      expect(await testConnectionTo(via, `http://localhost:${port}/sap/opu/odata/sap/ZDELTA_DEMO_SRV`)).toMatchObject({
        ok: true,
        code: null,
      })
      expect(await testConnectionTo(via, `http://127.0.0.1:${port}/sap/opu/odata/sap/ZDELTA_DEMO_SRV`)).toMatchObject({
        ok: false,
        code: 'OUTBOUND_REFUSED',
        message: expect.stringContaining('not listed in OUTBOUND_ALLOW'),
      })
    }
  })
})

describe('answers of services that are not SAP or storage', () => {
  it('are not repeated by testConnection, testDestination or run errors: status and class only; redirects are not followed', async () => {
    // No retries of the 500s: the answers, not the backoff, are under test.
    await start({ orchestrator: { sources: sapSourceFactory({ retries: 0, outbound: TEST_OUTBOUND }) } })
    const elsewhere = await startForeignServer()
    const foreign = await startForeignServer((req, res) => {
      const path = req.url ?? ''
      if (path.startsWith('/redir'))
        return void res.writeHead(path.includes('acct') ? 307 : 302, { location: `${elsewhere.url}/stolen?${INTERNAL}` }).end()
      if (path.startsWith('/json'))
        return void res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ detail: INTERNAL }))
      if (path.startsWith('/page'))
        return void res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><body>${INTERNAL}</body></html>`)
      // Answers that start like EDMX but are none: a ping used to call them metadata.
      if (path.startsWith('/edmx'))
        return void res.writeHead(200, { 'content-type': 'application/xml' }).end(`<edmx:Edmx>\u2039${INTERNAL}\u2026`)
      if (path.startsWith('/cut'))
        return void res
          .writeHead(200, { 'content-type': 'application/xml' })
          .end(
            `<?xml version="1.0"?><edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx"><edmx:DataServices><Schema Namespace="${INTERNAL}">`,
          )
      if (path.startsWith('/empty'))
        return void res
          .writeHead(200, { 'content-type': 'application/xml' })
          .end(`<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx"><${INTERNAL}/></edmx:Edmx>`)
      res
        .writeHead(500, { 'content-type': 'text/html' })
        .end(`<html><h1>${INTERNAL}</h1><p>FATAL: password authentication failed</p></html>`)
    })
    servers.push(elsewhere, foreign)
    for (const via of TRANSPORTS) {
      const answers = {
        err: await testConnectionTo(via, `${foreign.url}/err/sap`),
        json: await testConnectionTo(via, `${foreign.url}/json/sap`),
        page: await testConnectionTo(via, `${foreign.url}/page/sap`),
        redir: await testConnectionTo(via, `${foreign.url}/redir/sap`),
        edmx: await testConnectionTo(via, `${foreign.url}/edmx/sap`),
        cut: await testConnectionTo(via, `${foreign.url}/cut/sap`),
        empty: await testConnectionTo(via, `${foreign.url}/empty/sap`),
      }
      expect(answers.err).toMatchObject({ ok: false, code: 'SOURCE_UNAVAILABLE', message: expect.stringContaining('HTTP 500') })
      expect(answers.err.message).toContain('the answer is not an SAP Gateway error message')
      expect(answers.json).toMatchObject({ ok: false, code: 'SOURCE_BAD_REQUEST', message: expect.stringContaining('HTTP 400') })
      expect(answers.page).toMatchObject({
        ok: false,
        code: 'SOURCE_PROTOCOL',
        message: expect.stringContaining('did not return OData metadata'),
      })
      expect(answers.redir).toMatchObject({ ok: false, code: 'SOURCE_PROTOCOL', message: expect.stringContaining('HTTP 302') })
      for (const a of [answers.edmx, answers.cut, answers.empty])
        expect(a).toMatchObject({ ok: false, code: 'SOURCE_PROTOCOL', message: expect.stringContaining('did not return OData metadata') })
      for (const a of Object.values(answers)) expect(a.message).not.toContain(String(elsewhere.port))

      const s3 = await testDestinationOf(via, {
        kind: 'S3',
        s3: { bucket: 'lake', endpoint: `${foreign.url}/err`, forcePathStyle: true, accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'x' },
      })
      expect(s3).toMatchObject({ ok: false, code: 'DESTINATION_UNAVAILABLE', message: expect.stringContaining('500') })
      const azure = await testDestinationOf(via, {
        kind: 'AZURE_BLOB',
        azureBlob: { container: 'lake', accountUrl: `${foreign.url}/err`, sasToken: 'sv=2024-01-01&sig=abc' },
      })
      expect(azure).toMatchObject({ ok: false, code: 'DESTINATION_UNAVAILABLE', message: expect.stringContaining('500') })
      const azureRedirect = await testDestinationOf(via, {
        kind: 'AZURE_BLOB',
        azureBlob: { container: 'lake', accountUrl: `${foreign.url}/redir-acct`, sasToken: 'sv=2024-01-01&sig=abc' },
      })
      expect(azureRedirect).toMatchObject({ ok: false, message: expect.stringContaining('redirects are not followed') })
      expect(azureRedirect.message).not.toContain(String(elsewhere.port))
    }
    // Neither the SAP password (Basic) nor a SAS token followed a redirect to the other server.
    expect(elsewhere.requests).toEqual([])
    expect(foreign.requests.some((r) => r.authorization?.startsWith('Basic '))).toBe(true)

    // A run's error is held to the same rule.
    const { createConnection } = await h!.gql(CreateConnection, { input: odata(`${foreign.url}/json/sap`) })
    const { createDestination } = await h!.gql(CreateDestination, { input: { name: 'lake', kind: 'LOCAL', local: { path: h!.lakeDir } } })
    const { createPipeline } = await h!.gql(CreatePipeline, {
      input: {
        name: 'foreign',
        connectionId: createConnection.id,
        destinationId: createDestination.id,
        mode: 'FULL',
        source: { kind: 'ODP_ODATA', entitySet: 'EntityOfX' },
      },
    })
    expect(createPipeline.sourceCheck).toMatchObject({ status: 'UNCHECKED' })
    const run = await h!.run(createPipeline.id)
    expect(run).toMatchObject({ status: 'FAILED', error: { code: 'SOURCE_BAD_REQUEST', message: expect.stringContaining('HTTP 400') } })
  })

  it('storage: an answer that is not the store’s own error document shows its status only; the store’s errors keep their message', async () => {
    await start()
    const foreign = await startForeignServer((req, res) => {
      const send = (status: number, type: string, body: string) =>
        void res.writeHead(status, { 'content-type': type }).end(req.method === 'HEAD' ? undefined : body)
      const xml = (root: string, code: string, message: string) =>
        `<?xml version="1.0" encoding="utf-8"?><${root}><Code>${code}</Code><Message>${message}</Message><RequestId>r1</RequestId></${root}>`
      switch (req.url!.split('/')[1]) {
        case 'text400':
          return send(400, 'text/plain', `${INTERNAL} plain text`)
        case 'text500':
          return send(500, 'text/plain', `${INTERNAL}-500 plain text`) // the S3 SDK quoted it in "… occurred while parsing the response body"
        case 'json':
          return send(400, 'application/json', JSON.stringify({ error: { code: 'Oops', message: INTERNAL } }))
        case 'xml':
          return send(400, 'application/xml', xml('Error', 'NotAStoreCode', INTERNAL))
        case 'lookalike':
          return send(400, 'application/xml', xml('Response', 'InvalidHeaderValue', INTERNAL))
        case 'azure':
          return send(
            400,
            'application/xml',
            xml('Error', 'InvalidHeaderValue', 'The value for one of the HTTP headers is not in the correct format.\nRequestId:r1'),
          )
        case 's3':
          return send(
            400,
            'application/xml',
            xml('Error', 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive'),
          )
      }
    })
    servers.push(foreign)
    const azure = (path: string) => ({
      kind: 'AZURE_BLOB' as const,
      azureBlob: { container: 'lake', accountUrl: `${foreign.url}/${path}/acct`, sasToken: 'sv=2024-01-01&sig=abc' },
    })
    const s3 = (path: string) => ({
      kind: 'S3' as const,
      s3: { bucket: 'lake', endpoint: `${foreign.url}/${path}`, forcePathStyle: true, accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'x' },
    })
    // The status, and the code only when it is one of the store's (a fixed vocabulary, nothing the service said).
    const foreignAnswer = (status: number) => ({
      ok: false,
      code: 'DESTINATION_UNAVAILABLE',
      message: expect.stringMatching(
        new RegExp(`: the answer is not a storage service error message \\(${status}( InvalidHeaderValue)?\\)$`),
      ),
    })
    for (const via of TRANSPORTS) {
      for (const [path, status] of [
        ['text400', 400],
        ['text500', 500],
        ['json', 400],
        ['xml', 400],
        ['lookalike', 400],
      ] as const)
        expect([path, await testDestinationOf(via, azure(path))]).toEqual([path, expect.objectContaining(foreignAnswer(status))])
      // S3's SDK keeps no body once it has read an XML error, so a look-alike with a real code is shown like a real one.
      for (const [path, status] of [
        ['text400', 400],
        ['text500', 500],
        ['json', 400],
        ['xml', 400],
      ] as const)
        expect([path, await testDestinationOf(via, s3(path))]).toEqual([path, expect.objectContaining(foreignAnswer(status))])
      expect((await testDestinationOf(via, azure('azure'))).message).toContain(
        'request refused: The value for one of the HTTP headers is not in the correct format. (400 InvalidHeaderValue)',
      )
      expect((await testDestinationOf(via, s3('s3'))).message).toContain(
        'request refused: Part number must be an integer between 1 and 10000, inclusive (400 InvalidArgument)',
      )
    }
  })
})
