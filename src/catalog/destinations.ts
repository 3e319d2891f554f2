import { mkdir, access } from 'node:fs/promises'
import { constants } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { z } from 'zod'
import type { Db, Destination as DestinationRow } from '../db/client.js'
import { badInput, conflict, notFound } from '../errors.js'
import type { Destination } from '../storage/destination.js'
import { LocalDestination } from '../storage/local.js'
import { isUniqueViolation } from './prisma-errors.js'
import { nameSchema, parseInput } from './validate.js'

export type DestinationKind = 'LOCAL' | 'AZURE_BLOB' | 'S3'

const localSchema = z.object({ path: z.string().trim().min(1, 'must not be empty').max(1024) })

export interface CreateDestinationInput {
  name: string
  kind: DestinationKind
  local?: unknown
  azureBlob?: unknown
  s3?: unknown
}
export type UpdateDestinationInput = { name?: string | null; local?: unknown; azureBlob?: unknown; s3?: unknown }

type LocalSettings = { path: string }

const INPUT_FIELD: Record<DestinationKind, 'local' | 'azureBlob' | 's3'> = { LOCAL: 'local', AZURE_BLOB: 'azureBlob', S3: 's3' }

export class DestinationCatalog {
  constructor(private readonly db: Db) {}

  async create(input: CreateDestinationInput): Promise<DestinationRow> {
    const name = parseInput(nameSchema, input.name, 'name')
    const kind = parseInput(z.enum(['LOCAL', 'AZURE_BLOB', 'S3']), input.kind, 'kind')
    const { config, secret } = await this.settingsFor(kind, input)
    try {
      return await this.db.destination.create({ data: { name, kind, config, secret } })
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`a destination named "${name}" already exists`, { field: 'name' })
      throw e
    }
  }

  async update(id: string, input: UpdateDestinationInput): Promise<DestinationRow> {
    const current = await this.get(id)
    const kind = current.kind as DestinationKind
    const name = input.name == null ? current.name : parseInput(nameSchema, input.name, 'name')
    const given = input[INPUT_FIELD[kind]] != null
    const next = given ? await this.settingsFor(kind, input) : { config: current.config, secret: current.secret }
    try {
      return await this.db.destination.update({ where: { id }, data: { name, ...next } })
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

  /** The storage implementation for a saved destination, secrets decrypted in memory only. */
  open(row: DestinationRow): Destination {
    switch (row.kind) {
      case 'LOCAL':
        return new LocalDestination((JSON.parse(row.config) as LocalSettings).path)
      case 'AZURE_BLOB':
      case 'S3':
        throw badInput(`${row.kind} destinations are not available in this release yet`, 'kind')
    }
  }

  /** The destination's root URI, from its public settings alone. */
  uriOf(row: Pick<DestinationRow, 'kind' | 'config'>): string {
    switch (row.kind) {
      case 'LOCAL':
        return pathToFileURL((JSON.parse(row.config) as LocalSettings).path).href
      case 'AZURE_BLOB':
      case 'S3':
        return `${row.kind.toLowerCase()}://unsupported`
    }
  }

  private async settingsFor(kind: DestinationKind, input: UpdateDestinationInput) {
    const field = INPUT_FIELD[kind]
    for (const other of Object.values(INPUT_FIELD))
      if (other !== field && input[other] != null) throw badInput(`a ${kind} destination takes ${field} only`, other)
    if (input[field] == null) throw badInput(`${field} is required for a ${kind} destination`, field)
    if (kind !== 'LOCAL') throw badInput(`${kind} destinations are not available in this release yet`, 'kind')
    const { path } = parseInput(localSchema, input.local, 'local')
    const absolute = resolve(path)
    // Fail now, not at 3 a.m. in the first scheduled run.
    try {
      await mkdir(absolute, { recursive: true })
      await access(absolute, constants.W_OK)
    } catch (e) {
      throw badInput(`local.path: cannot write to ${absolute} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, 'local.path')
    }
    return { config: JSON.stringify({ path: absolute } satisfies LocalSettings), secret: null as string | null }
  }
}
