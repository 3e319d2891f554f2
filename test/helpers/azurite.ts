import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob'
import { EmulatorProcess } from './emulator-process.js'
import type { ObjectLake } from './object-lake.js'

const require = createRequire(import.meta.url)

/** Azurite's well-known development account (documented by Microsoft, the same in every install). */
export const AZURITE_ACCOUNT = 'devstoreaccount1'
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

/**
 * Azurite's blob service (npm azurite 3.35.0, which runs on Node 20) in a child process on a free
 * loopback port, persisting into a temporary folder so that a stop and restart keep the data.
 * `--skipApiVersionCheck` lets @azure/storage-blob 12.29 use its newer API version; `--loose`
 * tolerates headers azurite does not implement.
 */
export class Azurite implements ObjectLake {
  private constructor(
    readonly dir: string,
    private readonly proc: EmulatorProcess,
  ) {}

  static async start(): Promise<Azurite> {
    const dir = await mkdtemp(join(tmpdir(), 'de-azurite-'))
    const main = require.resolve('azurite/dist/src/blob/main.js')
    const proc = new EmulatorProcess(
      'azurite',
      (port) => [
        main,
        '--blobHost',
        '127.0.0.1',
        '--blobPort',
        String(port),
        '--location',
        dir,
        '--silent',
        '--loose',
        '--skipApiVersionCheck',
        '--disableTelemetry',
      ],
      /successfully listens on http:\/\/127\.0\.0\.1:(\d+)/,
    )
    await proc.start()
    return new Azurite(dir, proc)
  }

  get port(): number {
    return this.proc.port
  }

  /** Path-style account URL, the form azurite serves. */
  get accountUrl(): string {
    return `http://127.0.0.1:${this.port}/${AZURITE_ACCOUNT}`
  }

  get connectionString(): string {
    return this.connectionStringVia(`http://127.0.0.1:${this.port}`)
  }

  /** The connection string for reaching azurite through `baseUrl` (a FaultProxy in front of it). */
  connectionStringVia(baseUrl: string): string {
    return `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${baseUrl}/${AZURITE_ACCOUNT};`
  }

  /** A client of its own (not the service's code): how tests create containers and read back. */
  client(): BlobServiceClient {
    return new BlobServiceClient(this.accountUrl, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY), {
      retryOptions: { maxTries: 1 },
    })
  }

  async createContainer(name: string): Promise<void> {
    await this.client().getContainerClient(name).create()
  }

  /** Names of the blobs under a prefix (committed blobs only, as a reader lists them). */
  async list(container: string, prefix = ''): Promise<string[]> {
    const names: string[] = []
    for await (const b of this.client().getContainerClient(container).listBlobsFlat({ prefix })) names.push(b.name)
    return names.sort()
  }

  /** Container and blob of a URI in this account, reached directly or through a proxy on another port. */
  locate(uri: string): { container: string; name: string } {
    const m = new RegExp(`^http://127\\.0\\.0\\.1:\\d+/${AZURITE_ACCOUNT}/([^/]+)/(.+)$`).exec(uri)
    if (!m) throw new Error(`${uri} is not in this azurite account`)
    return { container: m[1], name: m[2] }
  }

  async download(container: string, name: string): Promise<Buffer> {
    return this.client().getContainerClient(container).getBlobClient(name).downloadToBuffer()
  }

  /** Stops the process, cutting open connections; the data stays for restart(). */
  stop(): Promise<void> {
    return this.proc.stop()
  }

  /** Starts again on the same port with the same data. */
  restart(): Promise<void> {
    return this.proc.start()
  }

  async dispose(): Promise<void> {
    await this.proc.stop()
    await rm(this.dir, { recursive: true, force: true })
  }
}
