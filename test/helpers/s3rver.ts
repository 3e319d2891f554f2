import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { EmulatorProcess } from './emulator-process.js'
import type { ObjectLake } from './object-lake.js'

/** s3rver's built-in account; it checks the key id but not V4 signatures (see the report in README). */
export const S3RVER_KEY_ID = 'S3RVER'
export const S3RVER_SECRET = 'S3RVER'

/**
 * s3rver 3.7.1 in a child process on a free loopback port, storing into a temporary folder (so a
 * stop and restart keep the data). Path-style addressing only.
 */
export class S3rverEmulator implements ObjectLake {
  private constructor(
    readonly dir: string,
    private readonly proc: EmulatorProcess,
  ) {}

  static async start(): Promise<S3rverEmulator> {
    const dir = await mkdtemp(join(tmpdir(), 'de-s3rver-'))
    const main = fileURLToPath(new URL('./s3rver-main.cjs', import.meta.url))
    const proc = new EmulatorProcess('s3rver', (port) => [main, dir, String(port)], /s3rver listening on (\d+)/)
    await proc.start()
    return new S3rverEmulator(dir, proc)
  }

  get port(): number {
    return this.proc.port
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** A client of its own (not the service's code): how tests create buckets and read back. */
  client(): S3Client {
    return new S3Client({
      region: 'us-east-1',
      endpoint: this.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: S3RVER_KEY_ID, secretAccessKey: S3RVER_SECRET },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 1,
    })
  }

  async createBucket(name: string): Promise<void> {
    const c = this.client()
    await c.send(new CreateBucketCommand({ Bucket: name }))
    c.destroy()
  }

  /** Same as createBucket (the name the shared destination suite uses). */
  createContainer(name: string): Promise<void> {
    return this.createBucket(name)
  }

  async list(bucket: string, prefix = ''): Promise<string[]> {
    const c = this.client()
    const names: string[] = []
    let ContinuationToken: string | undefined
    do {
      const page = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken }))
      names.push(...(page.Contents ?? []).map((o) => o.Key!))
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (ContinuationToken)
    c.destroy()
    return names.sort()
  }

  locate(uri: string): { container: string; name: string } {
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri)
    if (!m) throw new Error(`${uri} is not an s3:// object URI`)
    return { container: m[1], name: m[2] }
  }

  async download(bucket: string, key: string): Promise<Buffer> {
    const c = this.client()
    const res = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    const bytes = Buffer.from(await res.Body!.transformToByteArray())
    c.destroy()
    return bytes
  }

  stop(): Promise<void> {
    return this.proc.stop()
  }

  restart(): Promise<void> {
    return this.proc.start()
  }

  async dispose(): Promise<void> {
    await this.proc.stop()
    await rm(this.dir, { recursive: true, force: true })
  }
}
