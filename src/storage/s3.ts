import { randomUUID } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { guardedAgents } from '../net/guarded-http.js'
import { md5Of, PartHasher } from './checksum.js'
import { DestinationError, type Destination, type PutFileOptions } from './destination.js'
import { deleteProbe, isAlreadyExists, isConditionalWriteInFlight, isMissingObject, retryingStorageOp } from './object-errors.js'
import { contentTypeOf, DEFAULT_OBJECT_STORE_OPTIONS, objectName, PROBE_RETRY, probeKey, type ObjectStoreOptions } from './object-store.js'
import type { RetryOptions } from './retry.js'
import { checkStored } from './s3-verify.js'
import { S3_DEFAULTS, s3Uri, type S3Secrets, type S3Settings } from './s3-settings.js'

function agentsFor(options: ObjectStoreOptions) {
  const { http, https } = guardedAgents(options.outbound)
  return { httpAgent: http, httpsAgent: https }
}

/**
 * A folder in an S3 bucket (AWS or S3-compatible). Files go up with @aws-sdk/lib-storage: one
 * PutObject up to the part size, a multipart upload above it, parts sent `uploadConcurrency` at a
 * time. The body is a read stream over the staged Parquet file: lib-storage cuts it into part-size
 * buffers, so memory stays at partSize × (concurrency + 1) per file whatever the file size, and the
 * file (finished on disk anyway, since Parquet's footer comes last) is read exactly once.
 *
 * Integrity: every request carries an `x-amz-checksum-sha256` of its body, which S3 verifies before
 * it stores a part or object. The file is hashed as it streams (whole and per part), and the stored
 * object's checksum (or, where the service returns none, its ETag) is compared with those digests
 * after the upload, as is the writer's SHA-256. Objects appear atomically at PutObject or
 * CompleteMultipartUpload and replace any earlier object of that name, so a retry overwrites.
 */
export class S3Destination implements Destination {
  readonly uri: string
  readonly #client: S3Client
  readonly #partSize: number
  readonly #concurrency: number
  readonly #where: string
  readonly #secrets: string[]

  constructor(
    private readonly settings: S3Settings,
    secrets: S3Secrets,
    private readonly options: ObjectStoreOptions = DEFAULT_OBJECT_STORE_OPTIONS,
  ) {
    this.uri = s3Uri(settings)
    this.#partSize = Math.max(5, settings.partSizeMb ?? S3_DEFAULTS.partSizeMb) * 1024 * 1024
    this.#concurrency = settings.uploadConcurrency ?? S3_DEFAULTS.uploadConcurrency
    this.#secrets = secrets.secretAccessKey ? [secrets.secretAccessKey] : []
    this.#where = `S3 bucket "${settings.bucket}"${settings.endpoint ? ` at ${settings.endpoint}` : ''}`
    this.#client = new S3Client({
      region: settings.region ?? S3_DEFAULTS.region,
      endpoint: settings.endpoint,
      forcePathStyle: settings.forcePathStyle ?? false,
      followRegionRedirects: true,
      credentials:
        settings.accessKeyId && secrets.secretAccessKey
          ? { accessKeyId: settings.accessKeyId, secretAccessKey: secrets.secretAccessKey }
          : undefined,
      // Checksums only where asked for (we ask for SHA-256 on every upload). The SDK default would add
      // CRC32 trailers to streamed bodies (aws-chunked), which S3-compatibles such as s3rver store verbatim.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: options.sdkTries,
      // Agents of its own (the client destroys them on close), each connection checked by the policy.
      requestHandler: { connectionTimeout: 10_000, requestTimeout: options.requestTimeoutMs, ...agentsFor(options) },
    })
  }

  uriOf(key: string): string {
    return `s3://${this.settings.bucket}/${objectName(this.settings.prefix, key)}`
  }

  /** `s3://` is what every engine's S3 FileIO opens. */
  tableUriOf(key: string): string {
    return this.uriOf(key)
  }

  async putFile(key: string, localPath: string, signal?: AbortSignal, options?: PutFileOptions): Promise<{ bytes: number }> {
    const name = objectName(this.settings.prefix, key)
    return this.retrying(() => this.uploadFile(name, localPath, signal, options), signal)
  }

  async putText(key: string, body: string, signal?: AbortSignal): Promise<void> {
    const name = objectName(this.settings.prefix, key)
    await this.retrying(() => this.putBytes(name, Buffer.from(body, 'utf8'), signal), signal)
  }

  /**
   * PutObject with If-None-Match: *, which AWS S3 (and MinIO, R2) refuse with 412 when the key exists.
   * Stores that ignore the header (s3rver among them) would overwrite, so the key is read first: that
   * catches every writer that came before, and only a true race on such a store slips past; the
   * database's pipeline hold (one run per pipeline) is what excludes that race there
   * (docs/architecture.md#lake-tables).
   */
  async putTextIfAbsent(key: string, body: string, signal?: AbortSignal): Promise<boolean> {
    const name = objectName(this.settings.prefix, key)
    const existing = await this.getText(key, signal)
    if (existing !== null) return existing === body
    const bytes = Buffer.from(body, 'utf8')
    const created = await this.retrying(async () => {
      try {
        await this.putBytes(name, bytes, signal, { onlyIfAbsent: true })
        return true
      } catch (e) {
        if (isAlreadyExists(e)) return false
        if (isConditionalWriteInFlight(e))
          throw new DestinationError(
            'DESTINATION_UNAVAILABLE',
            `${this.#where}: ${name}: another conditional write of this key was in flight`,
            true,
          )
        throw e
      }
    }, signal)
    return created || (await this.getText(key, signal)) === body
  }

  async getText(key: string, signal?: AbortSignal): Promise<string | null> {
    return (await this.getBytes(key, signal))?.toString('utf8') ?? null
  }

  async getBytes(key: string, signal?: AbortSignal): Promise<Buffer | null> {
    const name = objectName(this.settings.prefix, key)
    return this.retrying(() => this.readBytes(name, signal), signal)
  }

  /** DeleteObject answers 204 whether or not the key existed. */
  async remove(key: string, signal?: AbortSignal): Promise<void> {
    const Key = objectName(this.settings.prefix, key)
    await this.retrying(async () => {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key }), { abortSignal: signal })
    }, signal)
  }

  /**
   * Deletes every object under the prefix, then aborts multipart uploads left open under it (their
   * parts are invisible but billed). Services without ListMultipartUploads (s3rver) skip that step;
   * a bucket lifecycle rule "abort incomplete multipart uploads" covers them.
   */
  async removePrefix(prefix: string, signal?: AbortSignal): Promise<void> {
    const folder = `${objectName(this.settings.prefix, prefix)}/`
    const Bucket = this.settings.bucket
    await this.retrying(async () => {
      let ContinuationToken: string | undefined
      do {
        const page = await this.#client.send(new ListObjectsV2Command({ Bucket, Prefix: folder, ContinuationToken }), {
          abortSignal: signal,
        })
        const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }))
        if (keys.length) {
          const res = await this.#client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys, Quiet: true } }), {
            abortSignal: signal,
          })
          const failed = res.Errors?.filter((e) => e.Code !== 'NoSuchKey') ?? []
          if (failed.length)
            throw Object.assign(new Error(`could not delete ${failed.length} object(s)`), { name: failed[0].Code ?? 'DeleteFailed' })
        }
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined
      } while (ContinuationToken)
      let uploads
      try {
        uploads = await this.#client.send(new ListMultipartUploadsCommand({ Bucket, Prefix: folder }), { abortSignal: signal })
      } catch (e) {
        if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 501) return
        throw e
      }
      for (const u of uploads.Uploads ?? [])
        await this.#client.send(new AbortMultipartUploadCommand({ Bucket, Key: u.Key!, UploadId: u.UploadId! }), { abortSignal: signal })
    }, signal)
  }

  async probe(signal?: AbortSignal): Promise<void> {
    const name = objectName(this.settings.prefix, probeKey(randomUUID()))
    await this.retrying(
      async () => {
        await this.putBytes(name, Buffer.from('probe'), signal)
        if ((await this.readBytes(name, signal))?.toString('utf8') !== 'probe')
          throw new DestinationError('DESTINATION_INTEGRITY', `${this.#where}: the probe object read back differently`, false)
        await deleteProbe(this.#where, this.#secrets, name, () =>
          this.#client.send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: name }), { abortSignal: signal }),
        )
      },
      signal,
      PROBE_RETRY,
    )
  }

  close(): void {
    this.#client.destroy()
  }

  /** One try of a file upload: stream, hash on the way, then compare with what the service stored. */
  private async uploadFile(
    name: string,
    localPath: string,
    signal: AbortSignal | undefined,
    options: PutFileOptions = {},
  ): Promise<{ bytes: number }> {
    const { size } = await stat(localPath)
    const hasher = new PartHasher(this.#partSize)
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hasher.update(chunk)
        done(null, chunk)
      },
    })
    const feeding = pipeline(createReadStream(localPath), tap).catch(() => {}) // errors surface through `tap`
    const stop = new AbortController()
    const onAbort = () => stop.abort()
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      const upload = new Upload({
        client: this.#client,
        params: {
          Bucket: this.settings.bucket,
          Key: name,
          Body: tap,
          ContentLength: size,
          ContentType: contentTypeOf(name),
          ChecksumAlgorithm: 'SHA256',
        },
        partSize: this.#partSize,
        queueSize: this.#concurrency,
        leavePartsOnError: false,
        abortController: stop,
      })
      if (options.onProgress) upload.on('httpUploadProgress', (p) => p.loaded !== undefined && options.onProgress!(p.loaded))
      const stored = await upload.done()
      const d = hasher.digest()
      const problem =
        d.bytes !== size || (options.sha256 && d.sha256.toString('hex') !== options.sha256)
          ? 'the staged file does not match what the Parquet writer produced'
          : checkStored(stored, d)
      if (problem) {
        // The object is already committed by now (the digests are only complete once the stream ends,
        // and a service that checks no part checksums stores damaged parts): take it away again, so
        // no reader finds bytes other than the writer's under this name.
        await this.#client
          .send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: name }), { abortSignal: signal })
          .catch(() => {})
        throw new DestinationError('DESTINATION_INTEGRITY', `${this.#where}: ${name}: ${problem}`, true)
      }
      return { bytes: size }
    } finally {
      signal?.removeEventListener('abort', onAbort)
      tap.destroy() // a failed upload stops reading: let go of the file
      await feeding
    }
  }

  /** One try of a small object, with Content-MD5 and SHA-256 for the service to check. */
  /** One try of a small object, checked against what S3 says it stored; `onlyIfAbsent` sends If-None-Match: *. */
  private async putBytes(name: string, bytes: Buffer, signal?: AbortSignal, { onlyIfAbsent = false } = {}): Promise<void> {
    const md5 = md5Of(bytes)
    const stored = await this.#client.send(
      new PutObjectCommand({
        Bucket: this.settings.bucket,
        Key: name,
        Body: bytes,
        ContentLength: bytes.length,
        ContentMD5: md5.toString('base64'),
        ChecksumAlgorithm: 'SHA256',
        ContentType: contentTypeOf(name),
        ...(onlyIfAbsent ? { IfNoneMatch: '*' } : {}),
      }),
      { abortSignal: signal },
    )
    const h = new PartHasher(Math.max(1, bytes.length))
    h.update(bytes)
    const problem = checkStored(stored, h.digest())
    if (problem) throw new DestinationError('DESTINATION_INTEGRITY', `${this.#where}: ${name}: ${problem}`, true)
  }

  /** One try of a read; null when the object does not exist. The SDK checks a stored checksum. */
  private async readBytes(name: string, signal?: AbortSignal): Promise<Buffer | null> {
    try {
      const res = await this.#client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: name, ChecksumMode: 'ENABLED' }), {
        abortSignal: signal,
      })
      const bytes = Buffer.from(await res.Body!.transformToByteArray())
      const h = new PartHasher(Math.max(1, bytes.length))
      h.update(bytes)
      const problem = checkStored(
        { ETag: res.ETag, ServerSideEncryption: res.ServerSideEncryption, SSECustomerAlgorithm: res.SSECustomerAlgorithm },
        h.digest(),
        { partsUnknown: true },
      )
      if (problem) throw new DestinationError('DESTINATION_INTEGRITY', `${this.#where}: ${name} read back: ${problem}`, true)
      return bytes
    } catch (e) {
      if (isMissingObject(e)) return null
      throw e
    }
  }

  private retrying<T>(op: () => Promise<T>, signal?: AbortSignal, retry: RetryOptions = this.options.retry): Promise<T> {
    return retryingStorageOp(this.#where, this.#secrets, op, retry, signal, this.options.onRetry)
  }
}
