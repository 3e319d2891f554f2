import { mkdir, access } from 'node:fs/promises'
import { constants } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { z } from 'zod'
import type { Db, Destination as DestinationRow } from '../db/client.js'
import { withCurrentKey } from '../db/current-key.js'
import type { SecretBox } from '../db/secrets.js'
import { badInput, conflict, notFound } from '../errors.js'
import { azureBlobUri } from '../storage/azure-settings.js'
import { DestinationError, type Destination } from '../storage/destination.js'
import { LocalDestination } from '../storage/local.js'
import { LocalRoots } from '../storage/local-roots.js'
import { DEFAULT_OBJECT_STORE_OPTIONS, type ObjectStoreOptions } from '../storage/object-store.js'
import type { AzureBlobSettings } from '../storage/azure-settings.js'
import { defaultCredentialsProblem, s3Uri, type S3Settings } from '../storage/s3-settings.js'
import { azureBlobConfigOf, azureBlobSecretsOf, s3ConfigOf, s3SecretsOf, settingsOf, type LocalSettings } from './destination-config.js'
import { azureBlobSettings, s3Settings, secretBinding } from './destination-settings.js'
import { isUniqueViolation } from './prisma-errors.js'
import { StoredRowError } from './stored-json.js'
import { nameSchema, parseInput } from './validate.js'

export type DestinationKind = 'LOCAL' | 'AZURE_BLOB' | 'S3'

export const localSchema = z.object({ path: z.string().trim().min(1, 'must not be empty').max(1024) })

export interface CreateDestinationInput {
  name: string
  kind: DestinationKind
  local?: unknown
  azureBlob?: unknown
  s3?: unknown
}
export type UpdateDestinationInput = { name?: string | null; local?: unknown; azureBlob?: unknown; s3?: unknown }

/** Result of testDestination. */
export interface DestinationTestResult {
  ok: boolean
  message: string
  code: string | null
  latencyMs: number
}

const INPUT_FIELD: Record<DestinationKind, 'local' | 'azureBlob' | 's3'> = { LOCAL: 'local', AZURE_BLOB: 'azureBlob', S3: 's3' }
const PROBE_TIMEOUT_MS = 30_000

export interface DestinationCatalogOptions {
  /** Retries and timeouts of Azure Blob and S3 destinations (tests shorten them). */
  objectStore?: Partial<ObjectStoreOptions>
  /** Counts the repeated object operations of a destination, by its name (the service's metrics). */
  observeRetries?: (destinationName: string) => () => void
}

/** What the service allows destinations to be, from its configuration. */
export interface DestinationPolicy {
  /** Folders LOCAL destinations must be inside (LOCAL_ROOTS). */
  localRoots: readonly string[]
  /** S3-compatible endpoints (besides AWS) that may use the service's default AWS credentials. */
  s3DefaultCredentialEndpoints: readonly string[]
}

export class DestinationCatalog {
  readonly #objectStore: ObjectStoreOptions
  readonly #observeRetries: DestinationCatalogOptions['observeRetries']
  readonly #roots: LocalRoots
  readonly #s3DefaultEndpoints: readonly string[]

  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    policy: DestinationPolicy,
    options: DestinationCatalogOptions = {},
  ) {
    this.#objectStore = { ...DEFAULT_OBJECT_STORE_OPTIONS, ...options.objectStore }
    this.#observeRetries = options.observeRetries
    this.#roots = new LocalRoots(policy.localRoots)
    this.#s3DefaultEndpoints = policy.s3DefaultCredentialEndpoints
  }

  /** Where a LOCAL destination goes when the caller names none (REST's `default`, see api/rest/routes.ts): the first LOCAL_ROOTS folder. */
  get firstLocalRoot(): string {
    return this.#roots.roots[0]
  }

  async create(input: CreateDestinationInput): Promise<DestinationRow> {
    const name = parseInput(nameSchema, input.name, 'name')
    const kind = parseInput(z.enum(['LOCAL', 'AZURE_BLOB', 'S3']), input.kind, 'kind')
    const { config, secret } = await this.settingsFor(kind, input, undefined)
    try {
      return await withCurrentKey(this.db, this.box, (tx) => tx.destination.create({ data: { name, kind, config, secret } }))
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`a destination named "${name}" already exists`, { field: 'name' })
      throw e
    }
  }

  async update(id: string, input: UpdateDestinationInput): Promise<DestinationRow> {
    const current = await this.get(id)
    const kind = current.kind as DestinationKind
    const name = input.name == null ? current.name : parseInput(nameSchema, input.name, 'name')
    // Settings of another kind are refused, not ignored (they may carry a secret meant for elsewhere).
    for (const other of Object.values(INPUT_FIELD))
      if (other !== INPUT_FIELD[kind] && input[other] != null)
        throw badInput(`a ${kind} destination takes ${INPUT_FIELD[kind]} only`, other)
    const given = input[INPUT_FIELD[kind]] != null
    const next = given ? await this.settingsFor(kind, input, current) : { config: current.config, secret: current.secret }
    try {
      return await withCurrentKey(this.db, this.box, (tx) => tx.destination.update({ where: { id }, data: { name, ...next } }))
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`a destination named "${name}" already exists`, { field: 'name' })
      throw e
    }
  }

  async delete(id: string): Promise<string> {
    await this.get(id)
    const users = await this.db.pipeline.findMany({ where: { destinationId: id }, select: { name: true } })
    if (users.length)
      throw conflict(`destination ${id} is used by pipeline(s) ${users.map((p) => `"${p.name}"`).join(', ')}; delete them first`)
    await this.db.destination.delete({ where: { id } })
    return id
  }

  async get(id: string): Promise<DestinationRow> {
    const d = await this.db.destination.findUnique({ where: { id } })
    if (!d) throw notFound('destination', id)
    return d
  }

  /**
   * The storage implementation for a saved destination, secrets decrypted in memory only. The cloud
   * SDKs are loaded on first use: a service writing to a local folder never holds their ~35 MB.
   */
  async open(row: DestinationRow): Promise<Destination> {
    const s = settingsOf(row)
    const objectStore = { ...this.#objectStore, onRetry: this.#observeRetries?.(row.name) }
    switch (s.kind) {
      case 'LOCAL':
        return new LocalDestination(s.local.path, this.#roots)
      case 'AZURE_BLOB': {
        const { AzureBlobDestination } = await import('../storage/azure-blob.js')
        return new AzureBlobDestination(s.azureBlob, azureBlobSecretsOf(row, this.opened(row)), objectStore)
      }
      case 'S3': {
        // Settings saved before S3_DEFAULT_CREDENTIALS_ENDPOINTS changed are held to it too.
        const problem = defaultCredentialsProblem(s.s3, this.#s3DefaultEndpoints)
        if (problem) throw new DestinationError('DESTINATION_AUTH', `S3 bucket "${s.s3.bucket}": ${problem}`, false)
        const { S3Destination } = await import('../storage/s3.js')
        return new S3Destination(s.s3, s3SecretsOf(row, this.opened(row)), objectStore)
      }
    }
  }

  /**
   * The storage a run wrote to, from the public settings it pinned when it started (architecture
   * rule 8): its clean-up and roll-forward act where its files are, even if the destination has been
   * edited since. They sign in with the destination's current credentials (a rotated key still
   * works) as long as those are bound to the same endpoint, account or bucket (secretBinding); once
   * the destination points elsewhere they are not sent to the old place, and the run's leftovers
   * there are left for the operator (a LOCAL folder needs no credentials and is always reachable).
   */
  async openPinned(pin: PinnedDestination): Promise<Destination> {
    if (pin.kind === 'LOCAL') return this.open({ ...pin, secret: null } as DestinationRow)
    const row = await this.db.destination.findUnique({ where: { id: pin.id } })
    const field = INPUT_FIELD[pin.kind] as 'azureBlob' | 's3'
    if (row && row.kind === pin.kind) {
      const [pinned, now] = [cloudConfigOf(settingsOf(pin)), cloudConfigOf(settingsOf(row))]
      if (secretBinding(field, pinned) === secretBinding(field, now))
        return this.open({ ...row, config: JSON.stringify({ ...now, ...placeOf(field, pinned) }) })
    }
    throw new DestinationError(
      'DESTINATION_AUTH',
      `destination ${pin.id} was ${row ? 'changed' : 'deleted'} after the run started; its stored credentials are not sent to ${this.uriOf(pin)}, where the run wrote`,
      false,
    )
  }

  /** The destination's root URI, from its public settings alone. */
  uriOf(row: Pick<DestinationRow, 'kind' | 'config'> & Partial<Pick<DestinationRow, 'id' | 'name'>>): string {
    const s = settingsOf(row)
    switch (s.kind) {
      case 'LOCAL':
        return pathToFileURL(s.local.path).href
      case 'AZURE_BLOB':
        return azureBlobUri(s.azureBlob)
      case 'S3':
        return s3Uri(s.s3)
    }
  }

  /**
   * Writes, reads back and deletes a probe object with the stored credentials. Storage failures
   * are answers (ok false, with their class), not errors.
   */
  async test(id: string): Promise<DestinationTestResult> {
    const row = await this.get(id)
    const started = performance.now()
    const latencyMs = () => Math.round(performance.now() - started)
    let destination: Destination | undefined
    try {
      destination = await this.open(row)
      await destination.probe(AbortSignal.timeout(PROBE_TIMEOUT_MS))
      return {
        ok: true,
        message: `wrote, read back and deleted a probe object under ${destination.uri}`,
        code: null,
        latencyMs: latencyMs(),
      }
    } catch (e) {
      if (e instanceof DestinationError) return { ok: false, message: e.message, code: e.code, latencyMs: latencyMs() }
      if ((e as Error)?.name === 'TimeoutError')
        return {
          ok: false,
          message: `no answer within ${PROBE_TIMEOUT_MS / 1000} s`,
          code: 'DESTINATION_UNAVAILABLE',
          latencyMs: latencyMs(),
        }
      throw e
    } finally {
      destination?.close?.()
    }
  }

  /** What a sealed `secret` opens to; an empty object when there is none. */
  private opened(row: Pick<DestinationRow, 'secret'>): unknown {
    return row.secret ? this.box.open(row.secret) : {}
  }

  /**
   * What an update keeps of the stored row; null when there is none, or when it cannot be read: the
   * update must then give the secret again, which is how such a row is repaired.
   */
  private kept<T>(current: DestinationRow | undefined, read: (row: DestinationRow) => T): T | null {
    if (!current) return null
    try {
      return read(current)
    } catch (e) {
      if (e instanceof StoredRowError) return null
      throw e
    }
  }

  private async settingsFor(kind: DestinationKind, input: UpdateDestinationInput, current: DestinationRow | undefined) {
    const field = INPUT_FIELD[kind]
    for (const other of Object.values(INPUT_FIELD))
      if (other !== field && input[other] != null) throw badInput(`a ${kind} destination takes ${field} only`, other)
    if (input[field] == null) throw badInput(`${field} is required for a ${kind} destination`, field)
    const sealed = (secrets: Record<string, string> | null) => (secrets ? this.box.seal(secrets) : null)
    switch (kind) {
      case 'LOCAL':
        return { config: JSON.stringify(await localSettings(input.local, this.#roots)), secret: null as string | null }
      case 'AZURE_BLOB': {
        const stored = this.kept(current, (row) => ({ config: azureBlobConfigOf(row), secrets: azureBlobSecretsOf(row, this.opened(row)) }))
        const { config, secrets } = await azureBlobSettings(input.azureBlob, stored)
        return { config: JSON.stringify(config), secret: sealed(secrets) }
      }
      case 'S3': {
        const stored = this.kept(current, (row) => ({ config: s3ConfigOf(row), secrets: s3SecretsOf(row, this.opened(row)) }))
        const { config, secrets } = s3Settings(input.s3, stored)
        const problem = defaultCredentialsProblem(config, this.#s3DefaultEndpoints)
        if (problem) throw badInput(`s3.endpoint: ${problem}`, 's3.endpoint')
        return { config: JSON.stringify(config), secret: sealed(secrets) }
      }
    }
  }
}

/** The destination a run started with: enough to find its files again, no secrets. */
export interface PinnedDestination {
  id: string
  kind: DestinationKind
  config: string
}

/** Where inside the signed-for account or bucket a run's objects are (the part that may have moved since). */
function placeOf(field: 'azureBlob' | 's3', c: AzureBlobSettings | S3Settings): Partial<AzureBlobSettings & S3Settings> {
  return field === 'azureBlob'
    ? { container: (c as AzureBlobSettings).container, prefix: c.prefix }
    : { prefix: c.prefix, region: (c as S3Settings).region }
}

/** The public settings of a cloud destination. */
function cloudConfigOf(s: ReturnType<typeof settingsOf>): AzureBlobSettings | S3Settings {
  if (s.kind === 'LOCAL') throw new Error('a LOCAL destination has no cloud settings')
  return s.kind === 'AZURE_BLOB' ? s.azureBlob : s.s3
}

async function localSettings(input: unknown, roots: LocalRoots): Promise<LocalSettings> {
  const { path } = parseInput(localSchema, input, 'local')
  const absolute = resolve(path)
  // Outside the roots nothing is touched, and the answer is the same whether the path exists or not.
  const outside = badInput(
    `local.path: must be inside one of the folders LOCAL_ROOTS allows (${roots.describe()}); symlinks are followed`,
    'local.path',
  )
  if (!roots.contains(absolute) || !(await roots.containsReal(absolute).catch(() => false))) throw outside
  // Fail now, not at 3 a.m. in the first scheduled run.
  try {
    await mkdir(absolute, { recursive: true })
    await access(absolute, constants.W_OK)
    if (!(await roots.containsReal(absolute))) throw outside
  } catch (e) {
    if (e === outside) throw e
    throw badInput(`local.path: cannot write to ${absolute} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, 'local.path')
  }
  return { path: absolute }
}
