import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { graphql } from '../gql/index.js'
import { describeObjectStore } from '../helpers/destination-suite.js'
import { Harness } from '../helpers/harness.js'
import { S3RVER_KEY_ID, S3rverEmulator } from '../helpers/s3rver.js'

/** s3rver only knows its own key id; it does not check V4 signatures, so a wrong secret would pass. */
const WRONG_KEY_ID = 'AKIAWRONGWRONGWRONG1'
const WRONG_SECRET = 'wrong/secret+key/of/forty/characters/1234'
/**
 * The working destinations' own secret. s3rver accepts any secret with its key id, so this one,
 * unlike s3rver's 'S3RVER' (which is also the public key id), can be looked for in every response.
 */
const SUITE_SECRET = 'suite/secret+of+the/s3/destination/5678'

describeObjectStore<S3rverEmulator>({
  kind: 'S3',
  start: () => S3rverEmulator.start(),
  dispose: (s) => s.dispose(),
  destination: (s, bucket, prefix, via) => ({
    kind: 'S3',
    s3: {
      bucket,
      prefix,
      endpoint: via ?? s.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      accessKeyId: S3RVER_KEY_ID,
      secretAccessKey: SUITE_SECRET,
      partSizeMb: 5,
    },
  }),
  wrongCredentials: (s, bucket, prefix) => ({
    kind: 'S3',
    s3: { bucket, prefix, endpoint: s.endpoint, forcePathStyle: true, accessKeyId: WRONG_KEY_ID, secretAccessKey: WRONG_SECRET },
  }),
  // The key id is public (like a user name); the secrets are not.
  secrets: () => [SUITE_SECRET, WRONG_SECRET],
})

const CreateDestination = graphql(`
  mutation S3CreateDestination($input: CreateDestinationInput!) {
    createDestination(input: $input) { id uri hasCredentials s3 { bucket prefix region endpoint forcePathStyle accessKeyId usesDefaultCredentials } }
  }
`)
const TestDestination = graphql(`mutation S3TestDestination($id: ID!) { testDestination(id: $id) { ok code message latencyMs } }`)
const CountDestinations = graphql(`query S3Count { destinations { id } }`)

/** The secret the default credential chain finds in the environment (s3rver checks only the key id). */
const CHAIN_SECRET = 'chain/secret+from+the/environment/000042'

describe('S3 credentials and settings', () => {
  let s3: S3rverEmulator
  let h: Harness
  beforeAll(async () => {
    s3 = await S3rverEmulator.start()
    await s3.createBucket('lake')
    // s3rver stands in for an S3-compatible service an administrator allowed the default credentials for.
    h = await Harness.start({ access: { s3DefaultCredentialEndpoints: [s3.endpoint] } })
  })
  afterAll(async () => {
    await h?.stop()
    await s3?.dispose()
  })
  afterEach(() => {
    delete process.env.AWS_ACCESS_KEY_ID
    delete process.env.AWS_SECRET_ACCESS_KEY
    for (const secret of [SUITE_SECRET, WRONG_SECRET, CHAIN_SECRET]) expect(h.responses.filter((r) => r.includes(secret))).toEqual([])
  })

  it('signs with the AWS default credential chain when no keys are given', async () => {
    // The chain's first link is the environment of the service process.
    process.env.AWS_ACCESS_KEY_ID = S3RVER_KEY_ID
    process.env.AWS_SECRET_ACCESS_KEY = CHAIN_SECRET
    const { createDestination } = await h.gql(CreateDestination, {
      input: { name: 's3-chain', kind: 'S3', s3: { bucket: 'lake', prefix: 'chain/', endpoint: `${s3.endpoint}/`, forcePathStyle: true } },
    })
    expect(createDestination).toMatchObject({
      uri: 's3://lake/chain',
      hasCredentials: false,
      s3: {
        bucket: 'lake',
        prefix: 'chain',
        region: 'us-east-1',
        endpoint: s3.endpoint,
        forcePathStyle: true,
        accessKeyId: null,
        usesDefaultCredentials: true,
      },
    })
    const asked = performance.now()
    const { testDestination } = await h.gql(TestDestination, { id: createDestination.id })
    const roundTrip = performance.now() - asked
    expect(testDestination).toMatchObject({
      ok: true,
      code: null,
      message: 'wrote, read back and deleted a probe object under s3://lake/chain',
    })
    // milliseconds of the probe itself: a whole number within the request that carried it
    expect(
      Number.isInteger(testDestination.latencyMs) && testDestination.latencyMs >= 0 && testDestination.latencyMs <= Math.ceil(roundTrip),
    ).toBe(true)
    expect(await s3.list('lake', 'chain/')).toEqual([])
  })

  it('shows static keys by id only', async () => {
    const { createDestination } = await h.gql(CreateDestination, {
      input: {
        name: 's3-static',
        kind: 'S3',
        s3: { bucket: 'lake', endpoint: s3.endpoint, forcePathStyle: true, accessKeyId: S3RVER_KEY_ID, secretAccessKey: SUITE_SECRET },
      },
    })
    expect(createDestination).toMatchObject({
      uri: 's3://lake',
      hasCredentials: true,
      s3: { accessKeyId: S3RVER_KEY_ID, usesDefaultCredentials: false },
    })
    expect((await h.gql(TestDestination, { id: createDestination.id })).testDestination).toMatchObject({ ok: true, code: null })
    expect(h.responses.filter((r) => r.includes(SUITE_SECRET))).toEqual([])
  })

  it.each([
    ['a secret without a key id', { secretAccessKey: 'x' }, 's3.accessKeyId'],
    ['a key id without a secret', { accessKeyId: 'AKIAEXAMPLE' }, 's3.secretAccessKey'],
    ['a bad bucket name', { bucket: 'Bad..Bucket' }, 's3.bucket'],
    ['an IP address as bucket name', { bucket: '192.168.1.1' }, 's3.bucket'],
    ['an endpoint that is not http(s)', { endpoint: 'ftp://example.com' }, 's3.endpoint'],
    ['an endpoint with credentials', { endpoint: 'https://user:pw@example.com' }, 's3.endpoint'],
    ['a prefix with .. in it', { prefix: 'a/../b' }, 's3.prefix'],
    ['a part size under the S3 minimum', { partSizeMb: 4 }, 's3.partSizeMb'],
    ['a bad region', { region: 'EU Central' }, 's3.region'],
  ])('refuses %s (BAD_USER_INPUT, nothing saved)', async (_, s3Input, field) => {
    const before = (await h.gql(CountDestinations)).destinations.length
    const err = await h.gqlError(CreateDestination, { input: { name: 'bad', kind: 'S3', s3: { bucket: 'lake', ...s3Input } } })
    expect(err.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field })
    expect((await h.gql(CountDestinations)).destinations.length).toBe(before)
  })
})
