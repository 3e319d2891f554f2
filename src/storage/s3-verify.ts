import { compositeSha256, multipartEtag, type Digests } from './checksum.js'

/** What PutObject, CompleteMultipartUpload or GetObject say about the stored object. */
export interface StoredObject {
  ETag?: string
  ChecksumSHA256?: string
  ServerSideEncryption?: string
  SSECustomerAlgorithm?: string
}

/**
 * Compares what the service says it stored with the digests of what was sent; returns a problem
 * description, or null when they agree or the service gives nothing comparable.
 *
 * 1. A SHA-256 checksum (AWS S3 returns one when the upload sent one): the full-object digest for a
 *    single PutObject, the COMPOSITE digest (SHA-256 of the part digests, `-N`) for a multipart one.
 * 2. Otherwise the ETag, which for unencrypted and SSE-S3 objects is the MD5 of the object (single
 *    PutObject) or the multipart ETag (MD5 of the part MD5s, `-N`). s3rver returns no checksums and
 *    gives multipart objects the plain MD5 of the whole object, so both forms are accepted. With
 *    SSE-KMS or SSE-C the ETag is not an MD5 and is not compared.
 */
export function checkStored(stored: StoredObject, sent: Digests, opts: { partsUnknown?: boolean } = {}): string | null {
  const multipart = sent.parts.length > 1
  if (stored.ChecksumSHA256) {
    const [digest, parts] = stored.ChecksumSHA256.split('-')
    if (parts && opts.partsUnknown) return null
    const expected = parts ? compositeSha256(sent.parts.map((p) => p.sha256)) : sent.sha256.toString('base64')
    return expected === (parts ? `${digest}-${parts}` : digest)
      ? null
      : `stored SHA-256 ${stored.ChecksumSHA256} differs from the ${expected} sent`
  }
  const etag = stored.ETag?.replaceAll('"', '').toLowerCase()
  if (!etag || !/^[0-9a-f]{32}(-\d+)?$/.test(etag)) return null
  if (stored.SSECustomerAlgorithm || (stored.ServerSideEncryption && stored.ServerSideEncryption !== 'AES256')) return null
  if (etag.includes('-') && opts.partsUnknown) return null
  const accepted = [sent.md5.toString('hex')]
  if (multipart) accepted.push(multipartEtag(sent.parts.map((p) => p.md5)))
  return accepted.includes(etag) ? null : `stored ETag ${etag} matches neither the MD5 nor the multipart ETag of the bytes sent`
}
