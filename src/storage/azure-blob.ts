import { createHash, randomUUID } from 'node:crypto'
import { open } from 'node:fs/promises'
import type { BlockBlobClient, ContainerClient } from '@azure/storage-blob'
import { guardedAgents } from '../net/guarded-http.js'
import { blobServiceClient } from './azure-auth.js'
import { adlsRootOf, AZURE_DEFAULTS, azureBlobUri, type AzureBlobSecrets, type AzureBlobSettings } from './azure-settings.js'
import { md5Of } from './checksum.js'
import { DestinationError, type Destination, type PutFileOptions } from './destination.js'
import { deleteProbe, isAlreadyExists, isMissingObject, retryingStorageOp, storageError } from './object-errors.js'
import {
  contentTypeOf,
  DEFAULT_OBJECT_STORE_OPTIONS,
  forEachLimited,
  objectName,
  PROBE_RETRY,
  probeKey,
  type ObjectStoreOptions,
} from './object-store.js'
import type { RetryOptions } from './retry.js'

/** Parallel deletes when a failed run's objects are removed. */
const DELETE_CONCURRENCY = 16

/** Fixed-width block ids (Azure requires equal lengths within a blob); the same index gives the same id. */
const blockId = (i: number) => Buffer.from(`blk-${String(i).padStart(6, '0')}`).toString('base64')

/**
 * A folder in an Azure Blob Storage container. Files become block blobs built from staged blocks:
 *
 * - Each block is read from the staged Parquet file into a buffer, hashed, and sent with its
 *   Content-MD5, which the service checks before it accepts the block. Reading from the local file
 *   (which the Parquet writer had to finish anyway, for its footer) keeps memory at
 *   blockSize × (concurrency + 1) per file, whatever the file size; a block is buffered rather than
 *   streamed because its MD5 must be known before the request is sent, and an SDK retry of the
 *   block must send the same bytes again.
 * - Nothing is visible until Put Block List commits the blocks in order, atomically, replacing any
 *   earlier blob of that name: a retried upload overwrites and never duplicates. Block ids are fixed
 *   per index, so a retry re-stages over the uncommitted blocks of a failed try (Azure discards
 *   uncommitted blocks after a week).
 * - The whole file's MD5 is stored as the blob's Content-MD5 (readers such as azcopy check it), its
 *   SHA-256 is compared with the writer's before committing, and the committed length is read back.
 *
 * `BlockBlobClient.uploadFile` would send any file up to 256 MiB as one Put Blob without per-block
 * checks, which is why the blocks are staged here.
 */
export class AzureBlobDestination implements Destination {
  readonly uri: string
  readonly #container: ContainerClient
  readonly #prefix: string
  readonly #blockSize: number
  readonly #concurrency: number
  readonly #where: string
  readonly #secrets: string[]
  readonly #agents: ReturnType<typeof guardedAgents>
  /** Where lake tables address objects: the account's ADLS Gen2 form, or null for the blob form. */
  readonly #adlsRoot: string | null

  constructor(
    private readonly settings: AzureBlobSettings,
    secrets: AzureBlobSecrets,
    private readonly options: ObjectStoreOptions = DEFAULT_OBJECT_STORE_OPTIONS,
  ) {
    this.#prefix = settings.prefix
    this.#blockSize = (settings.blockSizeMb ?? AZURE_DEFAULTS.blockSizeMb) * 1024 * 1024
    this.#concurrency = settings.uploadConcurrency ?? AZURE_DEFAULTS.uploadConcurrency
    this.#secrets = [secrets.connectionString, secrets.sasToken, secrets.accountKey].filter((s): s is string => !!s)
    this.uri = azureBlobUri(settings)
    this.#adlsRoot = adlsRootOf(settings)
    this.#where = `Azure Blob container "${settings.container}" at ${settings.accountUrl}`
    this.#agents = guardedAgents(options.outbound)
    try {
      const service = blobServiceClient(
        settings,
        secrets,
        {
          retryOptions: {
            maxTries: options.sdkTries,
            retryDelayInMs: Math.max(1, options.retry.baseDelayMs),
            maxRetryDelayInMs: Math.max(1, options.retry.maxDelayMs),
            tryTimeoutInMs: options.requestTimeoutMs,
          },
          userAgentOptions: { userAgentPrefix: 'delta-extractor' },
        },
        this.#agents,
      )
      this.#container = service.getContainerClient(settings.container)
    } catch (e) {
      // A malformed key or connection string: nothing a retry would fix.
      const err = storageError(this.#where, e, this.#secrets)
      throw new DestinationError('DESTINATION_AUTH', err.message, false)
    }
  }

  close(): void {
    this.#agents.http.destroy()
    this.#agents.https.destroy()
  }

  uriOf(key: string): string {
    return `${this.settings.accountUrl}/${this.settings.container}/${objectName(this.#prefix, key)}`
  }

  /**
   * `abfss://container@account.dfs.core.windows.net/<name>` on the public Azure endpoint, the blob
   * form elsewhere (Azurite, sovereign clouds, custom domains). The name is not percent-encoded, as
   * Iceberg's Java writers record it: ADLSFileIO, Hadoop's Path and PyIceberg take the path as is.
   */
  tableUriOf(key: string): string {
    return this.#adlsRoot ? `${this.#adlsRoot}/${objectName(this.#prefix, key)}` : this.uriOf(key)
  }

  async putFile(key: string, localPath: string, signal?: AbortSignal, options?: PutFileOptions): Promise<{ bytes: number }> {
    const name = objectName(this.#prefix, key)
    return this.retrying(() => this.uploadFile(name, localPath, signal, options), signal)
  }

  async putText(key: string, body: string, signal?: AbortSignal): Promise<void> {
    const name = objectName(this.#prefix, key)
    await this.retrying(() => this.putBytes(name, Buffer.from(body, 'utf8'), signal), signal)
  }

  /** One Put Blob with If-None-Match: *, which the service refuses (409/412) when the blob exists. */
  async putTextIfAbsent(key: string, body: string, signal?: AbortSignal): Promise<boolean> {
    const name = objectName(this.#prefix, key)
    const bytes = Buffer.from(body, 'utf8')
    const created = await this.retrying(async () => {
      try {
        await this.#container.getBlockBlobClient(name).upload(bytes, bytes.length, {
          conditions: { ifNoneMatch: '*' },
          blobHTTPHeaders: { blobContentMD5: md5Of(bytes), blobContentType: contentTypeOf(name) },
          abortSignal: signal,
        })
        return true
      } catch (e) {
        if (isAlreadyExists(e)) return false
        throw e
      }
    }, signal)
    return created || (await this.getText(key, signal)) === body
  }

  async getText(key: string, signal?: AbortSignal): Promise<string | null> {
    return (await this.getBytes(key, signal))?.toString('utf8') ?? null
  }

  async getBytes(key: string, signal?: AbortSignal): Promise<Buffer | null> {
    const name = objectName(this.#prefix, key)
    return this.retrying(() => this.readBytes(name, signal), signal)
  }

  async remove(key: string, signal?: AbortSignal): Promise<void> {
    const name = objectName(this.#prefix, key)
    await this.retrying(
      () =>
        this.#container.deleteBlob(name, { deleteSnapshots: 'include', abortSignal: signal }).then(
          () => undefined,
          (e) => {
            if (!isMissingObject(e)) throw e
          },
        ),
      signal,
    )
  }

  async removePrefix(prefix: string, signal?: AbortSignal): Promise<void> {
    const folder = `${objectName(this.#prefix, prefix)}/`
    await this.retrying(async () => {
      const names: string[] = []
      for await (const b of this.#container.listBlobsFlat({ prefix: folder, abortSignal: signal })) names.push(b.name)
      await forEachLimited(names, DELETE_CONCURRENCY, async (n) => {
        await this.#container.deleteBlob(n, { deleteSnapshots: 'include', abortSignal: signal }).catch((e) => {
          if (!isMissingObject(e)) throw e
        })
      })
    }, signal)
  }

  async probe(signal?: AbortSignal): Promise<void> {
    const name = objectName(this.#prefix, probeKey(randomUUID()))
    await this.retrying(
      async () => {
        await this.putBytes(name, Buffer.from('probe'), signal)
        if ((await this.readBytes(name, signal))?.toString('utf8') !== 'probe')
          throw new DestinationError('DESTINATION_INTEGRITY', `${this.#where}: the probe object read back differently`, false)
        await deleteProbe(this.#where, this.#secrets, name, () => this.#container.deleteBlob(name, { abortSignal: signal }))
      },
      signal,
      PROBE_RETRY,
    )
  }

  /** One try of a small object: one block with its MD5, then the commit. */
  private async putBytes(name: string, bytes: Buffer, signal?: AbortSignal): Promise<void> {
    const blob = this.#container.getBlockBlobClient(name)
    const ids = bytes.length ? [blockId(0)] : []
    if (bytes.length) await blob.stageBlock(ids[0], bytes, bytes.length, { transactionalContentMD5: md5Of(bytes), abortSignal: signal })
    await this.commit(blob, ids, bytes.length, md5Of(bytes), contentTypeOf(name), signal)
  }

  /** One try of a read; null when the object does not exist. */
  private async readBytes(name: string, signal?: AbortSignal): Promise<Buffer | null> {
    let res
    try {
      res = await this.#container.getBlobClient(name).download(0, undefined, { abortSignal: signal })
    } catch (e) {
      if (isMissingObject(e)) return null
      throw e
    }
    const chunks: Buffer[] = []
    for await (const c of res.readableStreamBody!) chunks.push(c as Buffer)
    const bytes = Buffer.concat(chunks)
    // Objects this service wrote carry their MD5: check what came back against it.
    if (res.contentMD5 && !md5Of(bytes).equals(Buffer.from(res.contentMD5)))
      throw new DestinationError('DESTINATION_INTEGRITY', `${this.#where}: ${name} read back with a different MD5 than stored`, true)
    return bytes
  }

  /** One try of a file upload: stage every block (a few at a time), check, commit, check. */
  private async uploadFile(
    name: string,
    localPath: string,
    signal: AbortSignal | undefined,
    options: PutFileOptions = {},
  ): Promise<{ bytes: number }> {
    const blob = this.#container.getBlockBlobClient(name)
    const file = await open(localPath, 'r')
    // Stops the other blocks of this try as soon as one fails.
    const stop = new AbortController()
    const abortSignal = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal
    try {
      const { size } = await file.stat()
      const count = Math.ceil(size / this.#blockSize)
      // Whole-file digests only: each block's MD5 is taken separately, as its request needs it.
      const [wholeMd5, wholeSha256] = [createHash('md5'), createHash('sha256')]
      const ids: string[] = []
      const inFlight = new Set<Promise<void>>()
      let failure: { e: unknown } | undefined
      let staged = 0
      for (let i = 0; i < count && !failure; i++) {
        const block = await readBlock(file, i * this.#blockSize, Math.min(this.#blockSize, size - i * this.#blockSize))
        wholeMd5.update(block)
        wholeSha256.update(block)
        ids.push(blockId(i))
        const task: Promise<void> = blob
          .stageBlock(ids[i], block, block.length, { transactionalContentMD5: md5Of(block), abortSignal })
          .then(
            () => options.onProgress?.((staged += block.length)),
            (e) => {
              failure ??= { e }
              stop.abort()
            },
          )
          .finally(() => inFlight.delete(task))
        inFlight.add(task)
        if (inFlight.size >= this.#concurrency) await Promise.race(inFlight)
      }
      await Promise.all(inFlight)
      if (failure) throw failure.e
      if (options.sha256 && wholeSha256.digest('hex') !== options.sha256)
        throw new DestinationError(
          'DESTINATION_INTEGRITY',
          `${this.#where}: ${name}: the staged file does not match what the Parquet writer produced`,
          true,
        )
      await this.commit(blob, ids, size, wholeMd5.digest(), contentTypeOf(name), signal)
      return { bytes: size }
    } finally {
      await file.close()
    }
  }

  /** Commits the block list (the moment the blob appears or is replaced) and checks the stored length. */
  private async commit(
    blob: BlockBlobClient,
    ids: string[],
    size: number,
    md5: Buffer,
    contentType: string,
    signal?: AbortSignal,
  ): Promise<void> {
    await blob.commitBlockList(ids, { blobHTTPHeaders: { blobContentMD5: md5, blobContentType: contentType }, abortSignal: signal })
    const props = await blob.getProperties({ abortSignal: signal })
    if (props.contentLength !== size)
      throw new DestinationError(
        'DESTINATION_INTEGRITY',
        `${this.#where}: ${blob.name} stored ${props.contentLength} bytes, sent ${size}`,
        true,
      )
  }

  /** Retries per the service's policy and turns SDK errors into DestinationErrors without secrets. */
  private retrying<T>(op: () => Promise<T>, signal?: AbortSignal, retry: RetryOptions = this.options.retry): Promise<T> {
    return retryingStorageOp(this.#where, this.#secrets, op, retry, signal, this.options.onRetry)
  }
}

/** Reads exactly `length` bytes at `position` (short reads happen on some file systems). */
async function readBlock(file: import('node:fs/promises').FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length)
  let filled = 0
  while (filled < length) {
    const { bytesRead } = await file.read(buf, filled, length - filled, position + filled)
    if (bytesRead === 0) throw new DestinationError('DESTINATION_INTEGRITY', 'the staged file became shorter while it was uploaded', true)
    filled += bytesRead
  }
  return buf
}
