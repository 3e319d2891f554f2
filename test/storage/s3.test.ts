import { HeadObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DestinationError } from '../../src/storage/destination.js'
import { S3Destination } from '../../src/storage/s3.js'
import type { S3Settings } from '../../src/storage/s3-settings.js'
import { FaultProxy, isS3Part } from '../helpers/fault-proxy.js'
import { S3RVER_KEY_ID, S3RVER_SECRET, S3rverEmulator } from '../helpers/s3rver.js'
import { QUICK, scratch } from './helpers.js'

describe('S3Destination against s3rver', () => {
  let s3: S3rverEmulator
  let files: Awaited<ReturnType<typeof scratch>>
  let proxy: FaultProxy
  const opened: S3Destination[] = []
  const dest = (over: Partial<S3Settings> = {}, secret = S3RVER_SECRET) => {
    const d = new S3Destination(
      {
        bucket: 'lake',
        prefix: 'root',
        endpoint: s3.endpoint,
        forcePathStyle: true,
        accessKeyId: S3RVER_KEY_ID,
        partSizeMb: 5,
        uploadConcurrency: 2,
        ...over,
      },
      { secretAccessKey: secret },
      QUICK,
    )
    opened.push(d)
    return d
  }

  beforeAll(async () => {
    s3 = await S3rverEmulator.start()
    await s3.createBucket('lake')
    proxy = await FaultProxy.start(() => s3.port)
    files = await scratch()
  })
  afterAll(async () => {
    for (const d of opened) d.close()
    await proxy?.close()
    await s3?.dispose()
    await files?.dispose()
  })

  it('stores a file in several parts (multipart) and a small one in one PutObject, bytes equal', async () => {
    const big = await files.file(12.5) // 3 parts of 5 MiB
    const small = await files.file(0.25)
    // Through the proxy: s3rver's answers (a plain-MD5 ETag for a multipart object) cannot show multipart.
    const viaProxy = dest({ endpoint: proxy.url })
    expect(await viaProxy.putFile('run1/part-00000.parquet', big.path, undefined, { sha256: big.sha256 })).toEqual({
      bytes: big.bytes.length,
    })
    const uploadParts = proxy.requests.filter(isS3Part)
    expect(uploadParts.map((r) => Number(r.query.get('partNumber'))).sort()).toEqual([1, 2, 3])
    expect(proxy.requests.filter((r) => r.method === 'POST').map((r) => (r.query.has('uploads') ? 'create' : 'complete'))).toEqual([
      'create',
      'complete',
    ])
    proxy.reset()
    await viaProxy.putFile('run1/part-00001.parquet', small.path, undefined, { sha256: small.sha256 })
    expect(proxy.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['PUT /lake/root/run1/part-00001.parquet'])
    expect((await s3.download('lake', 'root/run1/part-00000.parquet')).equals(big.bytes)).toBe(true)
    expect((await s3.download('lake', 'root/run1/part-00001.parquet')).equals(small.bytes)).toBe(true)
    const head = await s3.client().send(new HeadObjectCommand({ Bucket: 'lake', Key: 'root/run1/part-00000.parquet' }))
    expect(head.ContentType).toBe('application/vnd.apache.parquet')
  })

  it('overwrites on a retried upload: one object, the latest bytes', async () => {
    const [a, b] = [await files.file(6), await files.file(0.5)]
    await dest().putFile('run2/part-00000.parquet', a.path)
    await dest().putFile('run2/part-00000.parquet', b.path)
    expect(await s3.list('lake', 'root/run2/')).toEqual(['root/run2/part-00000.parquet'])
    expect((await s3.download('lake', 'root/run2/part-00000.parquet')).equals(b.bytes)).toBe(true)
  })

  it('refuses a file that differs from what the writer hashed (DESTINATION_INTEGRITY)', async () => {
    const f = await files.file(1)
    const err = await dest()
      .putFile('run3/part-00000.parquet', f.path, undefined, { sha256: 'f'.repeat(64) })
      .catch((e) => e)
    expect(err).toBeInstanceOf(DestinationError)
    expect(err).toMatchObject({ code: 'DESTINATION_INTEGRITY', retryable: true })
    expect(await s3.list('lake', 'root/run3/')).toEqual([]) // committed before the check could fail: removed again
  })

  it('writes and reads text, returns null for a missing object, and removes exactly one prefix', async () => {
    const d = dest()
    await d.putText('run4/manifest.json', '{"ok":true}')
    await d.putText('run4/_SUCCESS', '')
    await d.putText('run40/manifest.json', 'sibling')
    expect(await d.getText('run4/manifest.json')).toBe('{"ok":true}')
    expect(await d.getText('run4/_SUCCESS')).toBe('')
    expect(await d.getText('run4/nothing.json')).toBeNull()
    await d.removePrefix('run4') // s3rver has no ListMultipartUploads (501): tolerated
    expect(await s3.list('lake', 'root/run4')).toEqual(['root/run40/manifest.json'])
    expect(d.uriOf('run4/manifest.json')).toBe('s3://lake/root/run4/manifest.json')
  })

  it('removes one object, leaves its neighbours, and takes a missing one as removed', async () => {
    const d = dest()
    for (const k of ['run6/part-p00-a1-00000.parquet', 'run6/part-p00-a1-00001.parquet', 'run6/part-p00-a2-00000.parquet'])
      await d.putText(k, k)
    await d.remove('run6/part-p00-a1-00000.parquet')
    await d.remove('run6/part-p00-a1-00000.parquet')
    await d.remove('run6/never-written.parquet')
    expect(await s3.list('lake', 'root/run6')).toEqual(['root/run6/part-p00-a1-00001.parquet', 'root/run6/part-p00-a2-00000.parquet'])
  })

  it('fails with DESTINATION_UNAVAILABLE when s3rver stops mid-upload, leaves no object, and stores it after a restart', async () => {
    const f = await files.file(40)
    let stopping: Promise<void> | undefined
    const err = await dest({ uploadConcurrency: 1 })
      .putFile('run5/part-00000.parquet', f.path, undefined, { onProgress: (n) => void (n >= 5 * 1024 * 1024 && (stopping ??= s3.stop())) })
      .catch((e) => e)
    await stopping
    expect(stopping).toBeDefined()
    expect(err).toMatchObject({ name: 'DestinationError', code: 'DESTINATION_UNAVAILABLE', retryable: true })
    await s3.restart()
    expect(await s3.list('lake', 'root/run5/')).toEqual([]) // parts of an uncompleted multipart upload are no object
    await dest().putFile('run5/part-00000.parquet', f.path, undefined, { sha256: f.sha256 })
    expect((await s3.download('lake', 'root/run5/part-00000.parquet')).equals(f.bytes)).toBe(true)
  })

  it('classifies an unknown key id and a missing bucket, without the secret in the message', async () => {
    const auth = await new S3Destination(
      { bucket: 'lake', prefix: '', endpoint: s3.endpoint, forcePathStyle: true, accessKeyId: 'NOSUCHKEY' },
      { secretAccessKey: 'top-secret-value' },
      QUICK,
    )
      .probe()
      .catch((e) => e)
    expect(auth).toMatchObject({ code: 'DESTINATION_AUTH', retryable: false })
    expect(auth.message).not.toContain('top-secret-value')
    expect(
      await dest({ bucket: 'missing' })
        .probe()
        .catch((e) => e),
    ).toMatchObject({ code: 'DESTINATION_NOT_FOUND', retryable: false })
  })
})
