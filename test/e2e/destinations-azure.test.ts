import { AccountSASPermissions, generateAccountSASQueryParameters, StorageSharedKeyCredential } from '@azure/storage-blob'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { graphql } from '../gql/index.js'
import { Azurite, AZURITE_ACCOUNT, AZURITE_KEY } from '../helpers/azurite.js'
import { describeObjectStore } from '../helpers/destination-suite.js'
import { Harness } from '../helpers/harness.js'

/** A wrong key of the right shape (base64, 64 bytes), so only the service can refuse it. */
const WRONG_KEY = Buffer.alloc(64, 7).toString('base64')
/** A SAS (and a password) where they do not belong: inside a connection string's BlobEndpoint. */
const SAS_SIG = 'c2lnbmF0dXJlLW9mLWEtc2Fz'
const SAS_IN_URL = `sv=2025-01-05&ss=b&srt=sco&sp=rwdlac&se=2099-01-01T00:00:00Z&sig=${SAS_SIG}`
const URL_PASSWORD = 'pw-in-the-endpoint'

describeObjectStore<Azurite>({
  kind: 'AZURE_BLOB',
  start: () => Azurite.start(),
  dispose: (a) => a.dispose(),
  destination: (a, container, prefix, via) => ({
    kind: 'AZURE_BLOB',
    azureBlob: { container, prefix, connectionString: via ? a.connectionStringVia(via) : a.connectionString, blockSizeMb: 1 },
  }),
  wrongCredentials: (a, container, prefix) => ({
    kind: 'AZURE_BLOB',
    azureBlob: { container, prefix, accountUrl: a.accountUrl, accountName: AZURITE_ACCOUNT, accountKey: WRONG_KEY },
  }),
  secrets: (a) => [AZURITE_KEY, WRONG_KEY, a.connectionString],
})

const CreateDestination = graphql(`
  mutation AzureCreateDestination($input: CreateDestinationInput!) {
    createDestination(input: $input) { id uri hasCredentials azureBlob { accountUrl accountName auth container prefix } }
  }
`)
const CountDestinations = graphql(`query AzureCount { destinations { id } }`)
const TestDestination = graphql(`mutation AzureTestDestination($id: ID!) { testDestination(id: $id) { ok code message } }`)

describe('AZURE_BLOB sign-in forms', () => {
  let azurite: Azurite
  let h: Harness
  /** Every SAS token handed to the service in this block, whole and as its signature alone. */
  const sasSecrets: string[] = []
  beforeAll(async () => {
    azurite = await Azurite.start()
    await azurite.createContainer('lake')
    h = await Harness.start()
  })
  afterAll(async () => {
    await h?.stop()
    await azurite?.dispose()
  })
  afterEach(() => {
    // every response of this block is free of the account key and of the SAS tokens and their signatures
    for (const secret of [AZURITE_KEY, SAS_SIG, ...sasSecrets]) expect(h.responses.filter((r) => r.includes(secret))).toEqual([])
  })

  const sas = (permissions: string) => {
    const q = generateAccountSASQueryParameters(
      {
        services: 'b',
        resourceTypes: 'sco',
        permissions: AccountSASPermissions.parse(permissions),
        expiresOn: new Date(Date.now() + 3_600_000),
        version: '2025-01-05',
      },
      new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
    )
    const token = q.toString()
    // the signature as it stands in the token (URL-encoded) and as it is (base64)
    sasSecrets.push(token, new URLSearchParams(token).get('sig')!, encodeURIComponent(q.signature))
    return token
  }

  it.each([
    ['a connection string', () => ({ connectionString: azurite.connectionString }), 'CONNECTION_STRING'],
    ['an account URL and a SAS token', () => ({ accountUrl: azurite.accountUrl, sasToken: sas('rwdlac') }), 'SAS'],
    [
      'an account name and key',
      () => ({ accountUrl: azurite.accountUrl, accountName: AZURITE_ACCOUNT, accountKey: AZURITE_KEY }),
      'ACCOUNT_KEY',
    ],
  ])('writes, reads back and deletes a probe with %s', async (label, auth, form) => {
    const { createDestination } = await h.gql(CreateDestination, {
      input: { name: `az-${form}`, kind: 'AZURE_BLOB', azureBlob: { container: 'lake', prefix: 'probe/here', ...auth() } },
    })
    expect(createDestination).toMatchObject({
      uri: `${azurite.accountUrl}/lake/probe/here`,
      hasCredentials: true,
      azureBlob: { accountUrl: azurite.accountUrl, auth: form, container: 'lake', prefix: 'probe/here' },
    })
    expect((await h.gql(TestDestination, { id: createDestination.id })).testDestination).toMatchObject({ ok: true, code: null })
    expect(await azurite.list('lake', 'probe/')).toEqual([]) // the probe cleaned up after itself
    void label
  })

  it('reports a SAS token without write permission as DESTINATION_AUTH', async () => {
    const { createDestination } = await h.gql(CreateDestination, {
      input: {
        name: 'az-readonly',
        kind: 'AZURE_BLOB',
        azureBlob: { container: 'lake', accountUrl: azurite.accountUrl, sasToken: sas('rl') },
      },
    })
    const { testDestination } = await h.gql(TestDestination, { id: createDestination.id })
    expect(testDestination).toMatchObject({ ok: false, code: 'DESTINATION_AUTH' })
    expect(testDestination.message).not.toMatch(/sig=(?!\*)/)
  })

  it('says so when the probe could be written but not deleted, and names the object left behind', async () => {
    const { createDestination } = await h.gql(CreateDestination, {
      input: {
        name: 'az-nodelete',
        kind: 'AZURE_BLOB',
        azureBlob: { container: 'lake', prefix: 'nodelete', accountUrl: azurite.accountUrl, sasToken: sas('rwlac') },
      },
    })
    const { testDestination } = await h.gql(TestDestination, { id: createDestination.id })
    const left = await azurite.list('lake', 'nodelete/')
    expect(left).toHaveLength(1)
    expect(testDestination).toMatchObject({ ok: false, code: 'DESTINATION_AUTH' })
    expect(testDestination.message).toContain(`the probe object ${left[0]} was written and read back but not deleted`)
  })

  it.each([
    ['two sign-in forms', { connectionString: 'x', accountUrl: 'http://h', sasToken: 'sv=1&sig=2' }, 'azureBlob.sasToken'],
    ['no sign-in form', { accountUrl: 'http://h' }, 'azureBlob.connectionString'],
    ['a SAS token without an account URL', { sasToken: 'sv=1&sig=2' }, 'azureBlob.accountUrl'],
    ['an account key without an account name', { accountKey: AZURITE_KEY }, 'azureBlob.accountName'],
    [
      'a SAS in the account URL',
      { accountUrl: 'https://a.blob.core.windows.net/?sv=1&sig=2', sasToken: 'sv=1&sig=2' },
      'azureBlob.accountUrl',
    ],
    ['a malformed connection string', { connectionString: 'hello world' }, 'azureBlob.connectionString'],
    [
      'a SAS in the BlobEndpoint of a connection string',
      { connectionString: `BlobEndpoint=https://a.blob.core.windows.net/?${SAS_IN_URL};SharedAccessSignature=${SAS_IN_URL}` },
      'azureBlob.connectionString',
    ],
    [
      'credentials in the BlobEndpoint of a connection string',
      { connectionString: `BlobEndpoint=https://me:${URL_PASSWORD}@a.blob.core.windows.net;SharedAccessSignature=${SAS_IN_URL}` },
      'azureBlob.connectionString',
    ],
    [
      'a fragment in the BlobEndpoint of a connection string',
      { connectionString: `BlobEndpoint=https://a.blob.core.windows.net/#x;SharedAccessSignature=${SAS_IN_URL}` },
      'azureBlob.connectionString',
    ],
    // our reading accepts it (the account name gives the endpoint); the SDK's stricter one does not
    [
      'a connection string the Azure SDK refuses',
      { connectionString: `AccountName=acct;SharedAccessSignature=${SAS_IN_URL}` },
      'azureBlob.connectionString',
    ],
    ['a bad container name', { container: 'Bad_Name', connectionString: 'UseDevelopmentStorage=true' }, 'azureBlob.container'],
    ['a prefix with a leading slash', { prefix: '/abs', connectionString: 'UseDevelopmentStorage=true' }, 'azureBlob.prefix'],
  ])('refuses %s (BAD_USER_INPUT, nothing saved)', async (_, azureBlob, field) => {
    const before = (await h.gql(CountDestinations)).destinations.length
    const err = await h.gqlError(CreateDestination, {
      input: { name: 'bad', kind: 'AZURE_BLOB', azureBlob: { container: 'lake', ...azureBlob } },
    })
    expect(err.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field })
    expect(err.message).not.toContain(SAS_SIG)
    expect(err.message).not.toContain(URL_PASSWORD)
    expect((await h.gql(CountDestinations)).destinations.length).toBe(before)
  })
})
