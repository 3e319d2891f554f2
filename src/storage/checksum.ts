import { createHash, type Hash } from 'node:crypto'

/** What an object store reports about a stored object, as far as it tells. */
export interface Digests {
  bytes: number
  md5: Buffer
  sha256: Buffer
  /** Per part of `partSize` bytes (the last one shorter), in order: what multipart checksums build on. */
  parts: Array<{ md5: Buffer; sha256: Buffer }>
}

/**
 * Hashes a byte stream as it passes, whole and per fixed-size part, in one pass: the upload reads
 * the staged file once, and the digests to compare with the service's answer come for free.
 */
export class PartHasher {
  readonly #md5 = createHash('md5')
  readonly #sha256 = createHash('sha256')
  readonly #parts: Array<{ md5: Buffer; sha256: Buffer }> = []
  #part: { md5: Hash; sha256: Hash } | null = null
  #inPart = 0
  #bytes = 0

  constructor(private readonly partSize: number) {}

  update(chunk: Uint8Array): void {
    this.#md5.update(chunk)
    this.#sha256.update(chunk)
    this.#bytes += chunk.length
    let at = 0
    while (at < chunk.length) {
      this.#part ??= { md5: createHash('md5'), sha256: createHash('sha256') }
      const take = Math.min(this.partSize - this.#inPart, chunk.length - at)
      const piece = chunk.subarray(at, at + take)
      this.#part.md5.update(piece)
      this.#part.sha256.update(piece)
      this.#inPart += take
      at += take
      if (this.#inPart === this.partSize) this.closePart()
    }
  }

  digest(): Digests {
    if (this.#part) this.closePart()
    return { bytes: this.#bytes, md5: this.#md5.digest(), sha256: this.#sha256.digest(), parts: this.#parts }
  }

  private closePart(): void {
    this.#parts.push({ md5: this.#part!.md5.digest(), sha256: this.#part!.sha256.digest() })
    this.#part = null
    this.#inPart = 0
  }
}

export const md5Of = (b: Uint8Array): Buffer => createHash('md5').update(b).digest()

/**
 * The ETag S3 gives a multipart object: hex MD5 of the concatenated binary part MD5s, then `-N`.
 * (Not an MD5 of the object: that is why a single-part and a multipart ETag differ for equal bytes.)
 */
export function multipartEtag(partMd5s: Buffer[]): string {
  return `${md5Of(Buffer.concat(partMd5s)).toString('hex')}-${partMd5s.length}`
}

/** S3's COMPOSITE SHA-256 of a multipart object: base64 SHA-256 of the part digests, then `-N`. */
export function compositeSha256(partSha256s: Buffer[]): string {
  return `${createHash('sha256').update(Buffer.concat(partSha256s)).digest('base64')}-${partSha256s.length}`
}
