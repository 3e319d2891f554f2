import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { compositeSha256, multipartEtag, PartHasher } from '../../src/storage/checksum.js'
import { checkStored } from '../../src/storage/s3-verify.js'

const md5 = (b: Buffer) => createHash('md5').update(b).digest()
const sha = (b: Buffer) => createHash('sha256').update(b).digest()

describe('PartHasher', () => {
  it('gives the same digests however the stream is chunked, with parts cut at fixed offsets', () => {
    const data = randomBytes(10_000)
    const cuts = [
      [data],
      [data.subarray(0, 1), data.subarray(1, 4097), data.subarray(4097)],
      Array.from({ length: 100 }, (_, i) => data.subarray(i * 100, i * 100 + 100)),
    ]
    for (const chunks of cuts) {
      const h = new PartHasher(4096)
      for (const c of chunks) h.update(c)
      const d = h.digest()
      expect(d.bytes).toBe(10_000)
      expect(d.md5.equals(md5(data))).toBe(true)
      expect(d.sha256.equals(sha(data))).toBe(true)
      const parts = [data.subarray(0, 4096), data.subarray(4096, 8192), data.subarray(8192)]
      expect(d.parts.map((p) => p.md5.toString('hex'))).toEqual(parts.map((p) => md5(p).toString('hex')))
      expect(d.parts.map((p) => p.sha256.toString('hex'))).toEqual(parts.map((p) => sha(p).toString('hex')))
    }
  })

  it('counts no part for no bytes and exactly one for exactly one part size', () => {
    expect(new PartHasher(4).digest().parts).toEqual([])
    const h = new PartHasher(4)
    h.update(Buffer.from('abcd'))
    expect(h.digest().parts).toHaveLength(1)
  })
})

describe('checkStored (what S3 and s3rver answer vs. what was sent)', () => {
  const data = randomBytes(3000)
  const h = new PartHasher(1024)
  h.update(data)
  const sent = h.digest()
  const one = new PartHasher(4096)
  one.update(data)
  const single = one.digest()

  it('accepts the matching forms', () => {
    expect(checkStored({ ETag: `"${md5(data).toString('hex')}"` }, single)).toBeNull() // PutObject
    expect(checkStored({ ETag: `"${multipartEtag(sent.parts.map((p) => p.md5))}"` }, sent)).toBeNull() // AWS multipart
    expect(checkStored({ ETag: `"${md5(data).toString('hex')}"` }, sent)).toBeNull() // s3rver multipart
    expect(checkStored({ ChecksumSHA256: sha(data).toString('base64') }, single)).toBeNull()
    expect(checkStored({ ChecksumSHA256: compositeSha256(sent.parts.map((p) => p.sha256)) }, sent)).toBeNull()
  })

  it('reports differences', () => {
    expect(checkStored({ ETag: `"${'0'.repeat(32)}"` }, single)).toMatch(/ETag/)
    expect(checkStored({ ETag: `"${'0'.repeat(32)}-3"` }, sent)).toMatch(/ETag/)
    expect(checkStored({ ChecksumSHA256: sha(Buffer.from('x')).toString('base64') }, single)).toMatch(/SHA-256/)
    expect(checkStored({ ChecksumSHA256: `${sha(Buffer.from('x')).toString('base64')}-3` }, sent)).toMatch(/SHA-256/)
  })

  it('does not compare what is no digest (SSE-KMS / SSE-C ETags, opaque ETags)', () => {
    expect(checkStored({ ETag: `"${'0'.repeat(32)}"`, ServerSideEncryption: 'aws:kms' }, single)).toBeNull()
    expect(checkStored({ ETag: `"${'0'.repeat(32)}"`, SSECustomerAlgorithm: 'AES256' }, single)).toBeNull()
    expect(checkStored({ ETag: '"not-an-md5"' }, single)).toBeNull()
    expect(checkStored({}, single)).toBeNull()
  })

  it('multipart ETag and composite checksum follow the documented construction', () => {
    const parts = [Buffer.from('a'), Buffer.from('b')]
    expect(multipartEtag(parts.map(md5))).toBe(`${md5(Buffer.concat(parts.map(md5))).toString('hex')}-2`)
    expect(compositeSha256(parts.map(sha))).toBe(`${sha(Buffer.concat(parts.map(sha))).toString('base64')}-2`)
  })
})
