import type { TypedDocumentNode } from '@graphql-typed-document-node/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { graphql } from '../gql/index.js'
import { startForeignServer, type ForeignServer } from '../helpers/foreign-server.js'
import { Harness, SAP_PASSWORD, SAP_USER } from '../helpers/harness.js'

const CreateConnection = graphql(`
  mutation SbCreateConnection($input: CreateConnectionInput!) {
    createConnection(input: $input) { id odataConfig { serviceUrl hasPassword } rfcConfig { ashost hasPassword } }
  }
`)
const UpdateConnection = graphql(`
  mutation SbUpdateConnection($id: ID!, $input: UpdateConnectionInput!) {
    updateConnection(id: $id, input: $input) { id odataConfig { serviceUrl hasPassword } rfcConfig { ashost lang hasPassword } }
  }
`)
const ConnectionView = graphql(
  `query SbConnection($id: ID!) { connection(id: $id) { odataConfig { serviceUrl hasPassword } rfcConfig { ashost hasPassword } } }`,
)
const TestConnection = graphql(`mutation SbTestConnection($id: ID!) { testConnection(id: $id) { ok code } }`)
const CreateDestination = graphql(
  `mutation SbCreateDestination($input: CreateDestinationInput!) { createDestination(input: $input) { id hasCredentials } }`,
)
const UpdateDestination = graphql(`
  mutation SbUpdateDestination($id: ID!, $input: UpdateDestinationInput!) {
    updateDestination(id: $id, input: $input) { id hasCredentials azureBlob { accountUrl container } s3 { endpoint bucket region } }
  }
`)
const DestinationView = graphql(
  `query SbDestination($id: ID!) { destination(id: $id) { hasCredentials azureBlob { accountUrl } s3 { endpoint bucket } } }`,
)

/**
 * Issue 10, point 4: a stored secret goes only to the endpoint it was given for. An update that
 * moves a connection or destination elsewhere without giving the secret again is refused
 * (BAD_USER_INPUT naming the secret's field) and changes nothing; given again, it is accepted.
 */
let h: Harness
let other: ForeignServer
beforeAll(async () => {
  h = await Harness.start()
  other = await startForeignServer((_req, res) => void res.writeHead(401).end())
})
afterAll(async () => {
  await h?.stop()
  await other?.close()
})

type Via = 'http' | 'ws'
const send = <R, V>(via: Via, doc: TypedDocumentNode<R, V>, v: V) => (via === 'http' ? h.request(doc, v) : h.requestWs(doc, v))
async function ok<R, V>(via: Via, doc: TypedDocumentNode<R, V>, v: V): Promise<R> {
  const r = await send(via, doc, v)
  if (r.errors?.length) throw new Error(JSON.stringify(r.errors))
  return r.data as R
}
async function refused<R, V>(via: Via, doc: TypedDocumentNode<R, V>, v: V) {
  const r = await send(via, doc, v)
  expect(r.data ?? null).toBeNull()
  return r.errors![0]
}

let n = 0
describe.each(['http', 'ws'] as const)('over %s', (via) => {
  it('an OData connection moved to another host, port or scheme must be given its password again', async () => {
    const path = '/sap/opu/odata/sap/ZDELTA_DEMO_SRV'
    const sim = new URL(h.sim.serviceUrl)
    const config = (serviceUrl: string, extra: Record<string, unknown> = {}) => ({
      odataConfig: { serviceUrl, sapClient: '100', user: SAP_USER, ...extra },
    })
    const { createConnection: c } = await ok(via, CreateConnection, {
      input: { name: `odata-${n++}`, protocol: 'ODATA', ...config(h.sim.serviceUrl, { password: SAP_PASSWORD }) },
    })

    for (const moved of [`${other.url}${path}`, `http://localhost:${sim.port}${path}`, `https://127.0.0.1:${sim.port}${path}`]) {
      const e = await refused(via, UpdateConnection, { id: c.id, input: config(moved) })
      expect([moved, e.extensions]).toEqual([moved, { code: 'BAD_USER_INPUT', field: 'odataConfig.password' }])
      expect(e.message).toContain(`the stored password was given for ${sim.origin}; it is not sent to ${new URL(moved).origin}`)
    }
    expect((await ok(via, ConnectionView, { id: c.id })).connection?.odataConfig).toEqual({
      serviceUrl: h.sim.serviceUrl,
      hasPassword: true,
    })
    expect(other.requests).toEqual([])

    // Same origin, another path: the password stays (and still logs on).
    const samePlace = await ok(via, UpdateConnection, { id: c.id, input: config(`${h.sim.serviceUrl}/`) })
    expect(samePlace.updateConnection.odataConfig).toMatchObject({ hasPassword: true })
    expect((await ok(via, TestConnection, { id: c.id })).testConnection).toEqual({ ok: true, code: null })
    // Given again, or explicitly removed, the move is accepted.
    expect(
      (await ok(via, UpdateConnection, { id: c.id, input: config(`${other.url}${path}`, { password: 'for-the-other-host' }) }))
        .updateConnection.odataConfig,
    ).toEqual({
      serviceUrl: `${other.url}${path}`,
      hasPassword: true,
    })
    expect(
      (await ok(via, UpdateConnection, { id: c.id, input: config(h.sim.serviceUrl, { password: '' }) })).updateConnection.odataConfig,
    ).toEqual({
      serviceUrl: h.sim.serviceUrl,
      hasPassword: false,
    })
  })

  it('an RFC connection moved to another application server, message server or router must be given its password again', async () => {
    const rfc = (extra: Record<string, unknown>) => ({ rfcConfig: { client: '100', user: SAP_USER, lang: 'EN', ...extra } })
    const { createConnection: c } = await ok(via, CreateConnection, {
      input: { name: `rfc-${n++}`, protocol: 'RFC', ...rfc({ ashost: 'erp1.corp.example', sysnr: '00', passwd: SAP_PASSWORD }) },
    })
    for (const moved of [
      { ashost: 'erp2.corp.example', sysnr: '00' },
      { ashost: 'erp1.corp.example', sysnr: '01' },
      { ashost: 'erp1.corp.example', sysnr: '00', saprouter: '/H/router.example/S/3299/H/' },
      { mshost: 'erp1.corp.example', sysid: 'PRD', group: 'PUBLIC' },
    ]) {
      const e = await refused(via, UpdateConnection, { id: c.id, input: rfc(moved) })
      expect([moved, e.extensions]).toEqual([moved, { code: 'BAD_USER_INPUT', field: 'rfcConfig.passwd' }])
    }
    expect((await ok(via, ConnectionView, { id: c.id })).connection?.rfcConfig).toEqual({ ashost: 'erp1.corp.example', hasPassword: true })
    // The same server in another case, another language: the password stays.
    const kept = await ok(via, UpdateConnection, { id: c.id, input: rfc({ ashost: 'ERP1.corp.example', sysnr: '00', lang: 'DE' }) })
    expect(kept.updateConnection.rfcConfig).toMatchObject({ lang: 'DE', hasPassword: true })
  })

  it('an Azure SAS token or account key is not carried to another account URL or account', async () => {
    const sas = 'sv=2024-01-01&ss=b&sp=rwdl&sig=c2lnbmF0dXJl'
    const { createDestination: d } = await ok(via, CreateDestination, {
      input: {
        name: `az-${n++}`,
        kind: 'AZURE_BLOB',
        azureBlob: { container: 'lake', accountUrl: 'https://acct1.blob.core.windows.net', sasToken: sas },
      },
    })
    for (const accountUrl of ['https://acct2.blob.core.windows.net', `${other.url}/acct1`, 'http://acct1.blob.core.windows.net']) {
      const e = await refused(via, UpdateDestination, { id: d.id, input: { azureBlob: { container: 'lake', accountUrl } } })
      expect([accountUrl, e.extensions]).toEqual([accountUrl, { code: 'BAD_USER_INPUT', field: 'azureBlob.sasToken' }])
    }
    expect((await ok(via, DestinationView, { id: d.id })).destination).toEqual({
      hasCredentials: true,
      azureBlob: { accountUrl: 'https://acct1.blob.core.windows.net' },
      s3: null,
    })
    // Another container of the same account keeps it; a new token moves it.
    expect(
      (
        await ok(via, UpdateDestination, {
          id: d.id,
          input: { azureBlob: { container: 'other', accountUrl: 'https://acct1.blob.core.windows.net' } },
        })
      ).updateDestination,
    ).toMatchObject({ hasCredentials: true, azureBlob: { container: 'other' } })
    expect(
      (
        await ok(via, UpdateDestination, {
          id: d.id,
          input: { azureBlob: { container: 'lake', accountUrl: 'https://acct2.blob.core.windows.net', sasToken: sas } },
        })
      ).updateDestination,
    ).toMatchObject({ hasCredentials: true })

    const { createDestination: k } = await ok(via, CreateDestination, {
      input: {
        name: `azk-${n++}`,
        kind: 'AZURE_BLOB',
        azureBlob: { container: 'lake', accountName: 'acct1', accountKey: 'a2V5a2V5a2V5a2V5a2V5a2V5' },
      },
    })
    const e = await refused(via, UpdateDestination, { id: k.id, input: { azureBlob: { container: 'lake', accountName: 'acct3' } } })
    expect(e.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'azureBlob.accountKey' })
  })

  it('an S3 secret key is not carried to another endpoint or bucket; region and prefix may change', async () => {
    const s3 = (extra: Record<string, unknown>) => ({
      s3: { bucket: 'lake', endpoint: 'https://minio.corp.example:9000', forcePathStyle: true, accessKeyId: 'AKIAEXAMPLE', ...extra },
    })
    const { createDestination: d } = await ok(via, CreateDestination, {
      input: { name: `s3-${n++}`, kind: 'S3', ...s3({ secretAccessKey: 'the-secret-key' }) },
    })
    for (const moved of [
      { endpoint: other.url },
      { bucket: 'another-lake' },
      { forcePathStyle: false },
      { endpoint: 'https://minio.corp.example:9001' },
    ]) {
      const e = await refused(via, UpdateDestination, { id: d.id, input: s3(moved) })
      expect([moved, e.extensions]).toEqual([moved, { code: 'BAD_USER_INPUT', field: 's3.secretAccessKey' }])
    }
    expect((await ok(via, DestinationView, { id: d.id })).destination?.s3).toEqual({
      endpoint: 'https://minio.corp.example:9000',
      bucket: 'lake',
    })
    expect(
      (await ok(via, UpdateDestination, { id: d.id, input: s3({ region: 'eu-central-1', prefix: 'raw' }) })).updateDestination,
    ).toMatchObject({ hasCredentials: true, s3: { region: 'eu-central-1' } })
    expect(
      (await ok(via, UpdateDestination, { id: d.id, input: s3({ bucket: 'another-lake', secretAccessKey: 'the-secret-key' }) }))
        .updateDestination,
    ).toMatchObject({ hasCredentials: true, s3: { bucket: 'another-lake' } })
  })

  it('the service’s default AWS credentials sign for AWS endpoints only, unless an administrator allowed the endpoint', async () => {
    // Under amazonaws.com but not S3: API Gateway and load balancers answer for whoever owns them.
    for (const endpoint of [
      other.url,
      'https://s3.evil.example',
      'http://s3.eu-central-1.amazonaws.com',
      'https://abc123.execute-api.us-east-1.amazonaws.com',
      'https://my-lb-1234.us-east-1.elb.amazonaws.com',
      'https://s3-website-us-east-1.amazonaws.com',
      'https://s3.amazonaws.com.evil.example',
    ]) {
      const e = await refused(via, CreateDestination, { input: { name: `chain-${n++}`, kind: 'S3', s3: { bucket: 'lake', endpoint } } })
      expect([endpoint, e.extensions]).toEqual([endpoint, { code: 'BAD_USER_INPUT', field: 's3.endpoint' }])
      expect(e.message).toContain('S3_DEFAULT_CREDENTIALS_ENDPOINTS')
    }
    for (const endpoint of [
      undefined,
      'https://s3.eu-central-1.amazonaws.com',
      'https://s3.cn-north-1.amazonaws.com.cn',
      'https://s3.amazonaws.com',
      'https://s3-fips.dualstack.us-gov-west-1.amazonaws.com',
    ])
      expect(
        (await ok(via, CreateDestination, { input: { name: `chain-${n++}`, kind: 'S3', s3: { bucket: 'lake', endpoint } } }))
          .createDestination,
      ).toMatchObject({ hasCredentials: false })
    // A destination with keys that drops them for the default chain is held to the same rule.
    const { createDestination: d } = await ok(via, CreateDestination, {
      input: {
        name: `keys-${n++}`,
        kind: 'S3',
        s3: { bucket: 'lake', endpoint: other.url, accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 's' },
      },
    })
    expect(
      (await refused(via, UpdateDestination, { id: d.id, input: { s3: { bucket: 'lake', endpoint: other.url } } })).extensions,
    ).toEqual({ code: 'BAD_USER_INPUT', field: 's3.endpoint' })
  })
})
