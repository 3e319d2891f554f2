import { createHash } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { S3Destination } from '../../src/storage/s3.js'
import { FaultProxy, isS3Part, type ProxiedRequest } from '../helpers/fault-proxy.js'
import { S3RVER_KEY_ID, S3rverEmulator } from '../helpers/s3rver.js'
import { QUICK, scratch } from './helpers.js'

const PART = 5 * 1024 * 1024
const sha256 = (b: Buffer, enc: 'hex' | 'base64' = 'hex') => createHash('sha256').update(b).digest(enc)
const partNumber = (r: ProxiedRequest) => Number(r.query.get('partNumber'))
const isCreateMultipart = (r: ProxiedRequest) => r.method === 'POST' && r.query.has('uploads')
const isCompleteMultipart = (r: ProxiedRequest) => r.method === 'POST' && r.query.has('uploadId')

/**
 * What S3Destination sends, seen request by request through a FaultProxy in front of s3rver. s3rver
 * answers a multipart upload with a plain MD5 ETag and checks no x-amz-checksum-*, so only the
 * requests show that an upload was multipart, parallel and checksummed.
 */
describe('S3Destination through a fault proxy', () => {
  let s3: S3rverEmulator
  let proxy: FaultProxy
  let files: Awaited<ReturnType<typeof scratch>>
  const opened: S3Destination[] = []
  const dest = () => {
    const d = new S3Destination(
      {
        bucket: 'lake',
        prefix: 'faults',
        endpoint: proxy.url,
        forcePathStyle: true,
        accessKeyId: S3RVER_KEY_ID,
        partSizeMb: 5,
        uploadConcurrency: 2,
      },
      { secretAccessKey: 'any-secret-s3rver-checks-only-the-key-id' },
      QUICK,
    )
    opened.push(d)
    return d
  }
  const parts = () => proxy.requests.filter(isS3Part)
  const stored = async (key: string) => sha256(await s3.download('lake', `faults/${key}`))
  const partBytes = (f: { bytes: Buffer }, n: number) => f.bytes.subarray((n - 1) * PART, n * PART)

  beforeAll(async () => {
    s3 = await S3rverEmulator.start()
    await s3.createBucket('lake')
    proxy = await FaultProxy.start(() => s3.port)
    files = await scratch()
  })
  afterEach(() => proxy.reset())
  afterAll(async () => {
    for (const d of opened) d.close()
    await proxy?.close()
    await s3?.dispose()
    await files?.dispose()
  })

  it('uploads a large file as a multipart upload, parts in parallel, each with the x-amz-checksum-sha256 of its bytes', async () => {
    const f = await files.file(12.5) // parts of 5, 5 and 2.5 MiB
    const held = proxy.hold(isS3Part)
    const put = dest().putFile('run1/part-00000.parquet', f.path, undefined, { sha256: f.sha256 })
    await held.arrived
    try {
      await expect.poll(() => parts().length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2)
    } finally {
      held.release()
    }
    expect(await put).toEqual({ bytes: f.bytes.length })

    expect(proxy.peakInFlight).toBeGreaterThanOrEqual(2)
    expect(proxy.peakInFlight).toBeLessThanOrEqual(2)
    expect(proxy.requests.filter(isCreateMultipart)).toHaveLength(1)
    expect(proxy.requests.filter(isCreateMultipart)[0].headers['x-amz-checksum-algorithm']).toBe('SHA256')
    expect(proxy.requests.filter(isCompleteMultipart)).toHaveLength(1)
    const sent = parts().sort((a, b) => partNumber(a) - partNumber(b))
    expect(sent.map(partNumber)).toEqual([1, 2, 3])
    expect(new Set(sent.map((p) => p.query.get('uploadId'))).size).toBe(1)
    for (const p of sent) {
      const bytes = partBytes(f, partNumber(p))
      expect(p).toMatchObject({ status: 200, bodyBytes: bytes.length, bodySha256: sha256(bytes, 'base64') })
      expect(p.headers['x-amz-checksum-sha256']).toBe(sha256(bytes, 'base64'))
    }
    expect(await stored('run1/part-00000.parquet')).toBe(f.sha256)
  })

  it.each([
    ['a 503', '503' as const],
    ['a connection cut mid-part', 'reset' as const],
  ])('retries a part answered with %s, and stores the file intact', async (_, fault) => {
    const f = await files.file(11)
    const fired = proxy.inject(fault, isS3Part, 2)
    await dest().putFile('run2/part-00000.parquet', f.path, undefined, { sha256: f.sha256 })
    expect(fired).toHaveLength(1)
    expect(fired[0].status).toBe(fault === '503' ? 503 : undefined)
    const again = parts().filter((p) => p !== fired[0] && partNumber(p) === partNumber(fired[0]))
    expect(again).toHaveLength(1)
    expect(again[0]).toMatchObject({ status: 200, bodySha256: sha256(partBytes(f, partNumber(fired[0])), 'base64') })
    // one multipart upload, one part sent twice: the SDK retried the part, not the file
    expect(proxy.requests.filter(isCreateMultipart)).toHaveLength(1)
    expect(parts()).toHaveLength(3 + 1)
    expect(await stored('run2/part-00000.parquet')).toBe(f.sha256)
  })

  it('notices a part whose bytes changed on the way (s3rver stores it; the stored ETag gives it away) and uploads the file again', async () => {
    const f = await files.file(11)
    const fired = proxy.inject('flip', isS3Part, 2)
    await dest().putFile('run3/part-00000.parquet', f.path, undefined, { sha256: f.sha256 })
    expect(fired).toHaveLength(1)
    expect(proxy.requests.filter(isCreateMultipart)).toHaveLength(2) // the whole file went again
    expect(await stored('run3/part-00000.parquet')).toBe(f.sha256)
  })

  it('gives up with DESTINATION_INTEGRITY when every try arrives damaged, and leaves no damaged object', async () => {
    const f = await files.file(6)
    const fired = proxy.inject('flip', isS3Part, 'every')
    const err = await dest()
      .putFile('run4/part-00000.parquet', f.path, undefined, { sha256: f.sha256 })
      .catch((e) => e)
    expect(err).toMatchObject({ name: 'DestinationError', code: 'DESTINATION_INTEGRITY' })
    expect(fired.length).toBeGreaterThanOrEqual(QUICK.retry.attempts)
    expect(await s3.list('lake', 'faults/run4/')).toEqual([]) // s3rver had stored it: the check took it away
  })
})
