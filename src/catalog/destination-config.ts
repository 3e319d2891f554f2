/**
 * What a stored destination row holds in `config` (public settings, by kind) and, once opened, in
 * `secret`: the one place these columns are parsed. Input is validated and split elsewhere
 * (destination-settings.ts, destinations.ts); the shapes are the storage layer's own settings types,
 * held equal to the schemas here at compile time.
 */
import { z } from 'zod'
import type { Destination as DestinationRow } from '../db/client.js'
import type { AzureBlobSecrets, AzureBlobSettings } from '../storage/azure-settings.js'
import type { S3Secrets, S3Settings } from '../storage/s3-settings.js'
import { checkStored, optional, parseStored, storedUrl, type RowRef, type SameShape } from './stored-json.js'

const text = optional(z.string())
const count = optional(z.number().int().positive())
/** Folder inside a container or bucket; '' (the root) when absent. */
const prefix = z
  .string()
  .nullish()
  .transform((v) => v ?? '')

const localSettingsSchema = z.object({ path: z.string().min(1) })

const azureBlobSettingsSchema = z.object({
  container: z.string(),
  prefix,
  accountUrl: storedUrl,
  accountName: text,
  auth: z.enum(['CONNECTION_STRING', 'SAS', 'ACCOUNT_KEY']),
  blockSizeMb: count,
  uploadConcurrency: count,
})

const s3SettingsSchema = z.object({
  bucket: z.string(),
  prefix,
  region: text,
  endpoint: optional(storedUrl),
  forcePathStyle: optional(z.boolean()),
  accessKeyId: text,
  partSizeMb: count,
  uploadConcurrency: count,
})

const azureBlobSecretsSchema = z.object({ connectionString: text, sasToken: text, accountKey: text })
const s3SecretsSchema = z.object({ secretAccessKey: text })

export type LocalSettings = z.output<typeof localSettingsSchema>

// The storage layer knows nothing of zod; these fail to compile when its types and the schemas part.
const sameShapes: [
  SameShape<z.output<typeof azureBlobSettingsSchema>, AzureBlobSettings>,
  SameShape<z.output<typeof s3SettingsSchema>, S3Settings>,
  SameShape<z.output<typeof azureBlobSecretsSchema>, AzureBlobSecrets>,
  SameShape<z.output<typeof s3SecretsSchema>, S3Secrets>,
] = [true, true, true, true]
void sameShapes

/** A destination's public settings by kind, as stored in `config`. */
export type DestinationSettings =
  | { kind: 'LOCAL'; local: LocalSettings }
  | { kind: 'AZURE_BLOB'; azureBlob: AzureBlobSettings }
  | { kind: 'S3'; s3: S3Settings }

type ConfigRow = Pick<DestinationRow, 'kind' | 'config'> & Partial<Pick<DestinationRow, 'id' | 'name'>>

const rowRef = (d: Partial<Pick<DestinationRow, 'id' | 'name'>>): RowRef => ({
  table: 'destination',
  id: d.id,
  name: d.name,
  repair: 'updateDestination with its settings and secret saves it again',
})

/** A stored destination's public settings, typed by kind. */
export function settingsOf(d: ConfigRow): DestinationSettings {
  switch (d.kind) {
    case 'LOCAL':
      return { kind: 'LOCAL', local: parseStored(localSettingsSchema, rowRef(d), 'LOCAL config', d.config) }
    case 'AZURE_BLOB':
      return { kind: 'AZURE_BLOB', azureBlob: azureBlobConfigOf(d) }
    case 'S3':
      return { kind: 'S3', s3: s3ConfigOf(d) }
  }
}

/** The settings of a destination the caller knows to be AZURE_BLOB. */
export const azureBlobConfigOf = (d: Omit<ConfigRow, 'kind'>): AzureBlobSettings =>
  parseStored(azureBlobSettingsSchema, rowRef(d), 'AZURE_BLOB config', d.config)

/** The settings of a destination the caller knows to be S3. */
export const s3ConfigOf = (d: Omit<ConfigRow, 'kind'>): S3Settings => parseStored(s3SettingsSchema, rowRef(d), 'S3 config', d.config)

/** An AZURE_BLOB destination's secrets, from the JSON its sealed `secret` opened to. */
export const azureBlobSecretsOf = (d: Partial<Pick<DestinationRow, 'id' | 'name'>>, opened: unknown): AzureBlobSecrets =>
  checkStored(azureBlobSecretsSchema, rowRef(d), 'secret', opened)

/** An S3 destination's secrets, from the JSON its sealed `secret` opened to. */
export const s3SecretsOf = (d: Partial<Pick<DestinationRow, 'id' | 'name'>>, opened: unknown): S3Secrets =>
  checkStored(s3SecretsSchema, rowRef(d), 'secret', opened)

/** What the API may show of a destination: the settings of its kind (never its secrets), null for the others. */
export function publicSettingsOf(d: ConfigRow) {
  const s = settingsOf(d)
  return {
    local: s.kind === 'LOCAL' ? s.local : null,
    azureBlob: s.kind === 'AZURE_BLOB' ? s.azureBlob : null,
    s3: s.kind === 'S3' ? s.s3 : null,
  }
}
