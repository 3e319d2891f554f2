import { z } from 'zod'
import { badInput } from '../errors.js'
import { parseConnectionString, type AzureBlobSecrets, type AzureBlobSettings } from '../storage/azure-settings.js'
import type { S3Secrets, S3Settings } from '../storage/s3-settings.js'
import { httpUrlProblem, httpUrlSchema, parseInput } from './validate.js'

/**
 * Validation of AZURE_BLOB and S3 destination input, and its split into public settings (stored as
 * `config`, shown by the API) and secrets (sealed into `secret`, never shown). Secrets left out of
 * an update keep their stored values, as SAP passwords do, but only while they would go where they
 * were given for (see {@link secretBinding}): an update that points a stored key at another
 * account, endpoint or bucket must give the key again.
 */

const nullish = <T extends z.ZodType>(s: T) => s.nullish().transform((v) => (v == null || v === '' ? undefined : v))

/** Folder inside a container or bucket: relative, clean segments, no trailing slash. */
const prefixSchema = z
  .string()
  .trim()
  .max(512, 'must be at most 512 characters')
  .nullish()
  .transform((v) => (v ?? '').replace(/\/+$/, ''))
  .superRefine((v, ctx) => {
    if (!v) return
    if (v.startsWith('/')) ctx.addIssue({ code: 'custom', message: 'must be relative (no leading /)' })
    else if (v.split('/').some((s) => s === '' || s === '.' || s === '..' || s.endsWith('.')))
      ctx.addIssue({ code: 'custom', message: 'must not contain empty, . or .. segments, nor segments ending in a dot' })
    else if (/[\\\u0000-\u001f]/.test(v)) ctx.addIssue({ code: 'custom', message: 'must not contain backslashes or control characters' })
  })

/** An http(s) endpoint; a SAS token has its own (encrypted) field. */
const endpointSchema = httpUrlSchema('a SAS token goes into sasToken').transform((v) => v.replace(/\/+$/, ''))

const uploadConcurrency = nullish(z.number().int().min(1, 'must be at least 1').max(32, 'must be at most 32'))

export const azureSchema = z.object({
  container: z
    .string()
    .trim()
    .regex(
      /^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$/,
      'must be 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit',
    ),
  prefix: prefixSchema,
  accountUrl: nullish(endpointSchema),
  accountName: nullish(
    z
      .string()
      .trim()
      .regex(/^[a-z0-9]{3,24}$/, 'must be 3-24 lowercase letters and digits'),
  ),
  connectionString: nullish(z.string().trim().max(4096)),
  sasToken: nullish(
    z
      .string()
      .trim()
      .max(4096)
      .transform((v) => v.replace(/^\?/, ''))
      .refine((v) => /(^|&)sig=/.test(v), 'must be a SAS token (the query string with sv=…&sig=…)'),
  ),
  accountKey: nullish(
    z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9+/]{16,}={0,2}$/, 'must be the base64 account key'),
  ),
  blockSizeMb: nullish(z.number().int().min(1, 'must be at least 1').max(256, 'must be at most 256')),
  uploadConcurrency,
})

export const s3Schema = z.object({
  bucket: z
    .string()
    .trim()
    .regex(
      /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
      'must be 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit',
    )
    .refine(
      (b) => !b.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(b) && !b.startsWith('xn--'),
      'is not a valid bucket name (no "..", IP addresses or xn-- prefix)',
    ),
  prefix: prefixSchema,
  region: nullish(
    z
      .string()
      .trim()
      .regex(/^[a-z0-9-]{2,32}$/, 'must be a region name such as eu-central-1'),
  ),
  endpoint: nullish(endpointSchema),
  forcePathStyle: z.boolean().nullish(),
  accessKeyId: nullish(
    z
      .string()
      .trim()
      .regex(/^\S{3,128}$/, 'must be 3-128 characters without spaces'),
  ),
  secretAccessKey: nullish(z.string().max(256)),
  partSizeMb: nullish(z.number().int().min(5, 'must be at least 5 (the S3 minimum part size)').max(512, 'must be at most 512')),
  uploadConcurrency,
})

export interface SplitSettings<C> {
  config: C
  /** Secrets to seal; null when the destination stores none. */
  secrets: Record<string, string> | null
}

/**
 * An AZURE_BLOB destination takes exactly one sign-in form: a connection string; an account URL
 * with a SAS token; or an account name with its key (account URL optional, for other clouds and
 * azurite). Without any secret in the input, the stored one is kept.
 */
export async function azureBlobSettings(
  input: unknown,
  stored: Stored<AzureBlobSecrets, AzureBlobSettings> | null,
): Promise<SplitSettings<AzureBlobSettings>> {
  const a = parseInput(azureSchema, input, 'azureBlob')
  const given = a.connectionString || a.sasToken || a.accountKey
  const secret: AzureBlobSecrets = given
    ? { connectionString: a.connectionString, sasToken: a.sasToken, accountKey: a.accountKey }
    : { ...stored?.secrets }
  const split = await azureSplit(a, secret)
  if (!given && stored) keepOnlyIfBound('azureBlob', stored.config, split.config, secretField(stored.config.auth))
  return split
}

const secretField = (auth: AzureBlobSettings['auth']) =>
  auth === 'CONNECTION_STRING' ? 'connectionString' : auth === 'SAS' ? 'sasToken' : 'accountKey'

async function azureSplit(a: z.output<typeof azureSchema>, secret: AzureBlobSecrets): Promise<SplitSettings<AzureBlobSettings>> {
  const forms = [secret.connectionString && 'connectionString', secret.sasToken && 'sasToken', secret.accountKey && 'accountKey'].filter(
    Boolean,
  )
  if (forms.length !== 1)
    throw badInput(
      forms.length
        ? `azureBlob: give one sign-in form only (${forms.join(' and ')} given)`
        : 'azureBlob: a sign-in form is required: connectionString, accountUrl + sasToken, or accountName + accountKey',
      `azureBlob.${forms[1] ?? 'connectionString'}`,
    )
  const common = { container: a.container, prefix: a.prefix, blockSizeMb: a.blockSizeMb, uploadConcurrency: a.uploadConcurrency }
  const refuse = (field: 'accountUrl' | 'accountName', form: string) => {
    if (a[field]) throw badInput(`azureBlob.${field}: does not go with ${form}`, `azureBlob.${field}`)
  }
  if (secret.connectionString) {
    refuse('accountUrl', 'a connection string (it names the endpoint)')
    refuse('accountName', 'a connection string (it names the account)')
    const parsed = parseConnectionString(secret.connectionString)
    if ('problem' in parsed) throw badInput(`azureBlob.connectionString: ${parsed.problem}`, 'azureBlob.connectionString')
    // The endpoint becomes the public accountUrl: held to the accountUrl rule, so no SAS or password
    // hidden in BlobEndpoint (or EndpointSuffix) is stored in the clear and shown.
    const endpointProblem = httpUrlProblem(parsed.accountUrl, 'a SAS token goes into SharedAccessSignature')
    if (endpointProblem) throw badInput(`azureBlob.connectionString: its blob endpoint ${endpointProblem}`, 'azureBlob.connectionString')
    const sdkProblem = (await import('../storage/azure-auth.js')).sdkConnectionStringProblem(secret.connectionString)
    if (sdkProblem) throw badInput(`azureBlob.connectionString: ${sdkProblem}`, 'azureBlob.connectionString')
    return { config: { ...common, ...parsed, auth: 'CONNECTION_STRING' }, secrets: { connectionString: secret.connectionString } }
  }
  if (secret.sasToken) {
    refuse('accountName', 'a SAS token')
    if (!a.accountUrl) throw badInput('azureBlob.accountUrl: is required with a SAS token', 'azureBlob.accountUrl')
    return { config: { ...common, accountUrl: a.accountUrl, auth: 'SAS' }, secrets: { sasToken: secret.sasToken } }
  }
  if (!a.accountName) throw badInput('azureBlob.accountName: is required with an account key', 'azureBlob.accountName')
  const accountUrl = a.accountUrl ?? `https://${a.accountName}.blob.core.windows.net`
  return { config: { ...common, accountUrl, accountName: a.accountName, auth: 'ACCOUNT_KEY' }, secrets: { accountKey: secret.accountKey! } }
}

/**
 * An S3 destination signs with an access key pair, or, with neither key given, with the AWS
 * default credential chain of the service's environment (env, profile, IAM role). Without a secret
 * in the input, the stored one is kept as long as the key id stays the same.
 */
export function s3Settings(input: unknown, stored: Stored<S3Secrets, S3Settings> | null): SplitSettings<S3Settings> {
  const s = parseInput(s3Schema, input, 's3')
  const { secretAccessKey, ...rest } = s
  const config: S3Settings = { ...rest, forcePathStyle: s.forcePathStyle ?? undefined }
  if (!s.accessKeyId) {
    if (secretAccessKey) throw badInput('s3.accessKeyId: is required with secretAccessKey', 's3.accessKeyId')
    return { config, secrets: null }
  }
  const kept = stored?.config.accessKeyId === s.accessKeyId ? stored.secrets.secretAccessKey : undefined
  if (!secretAccessKey && kept) keepOnlyIfBound('s3', stored!.config, config, 'secretAccessKey')
  const secret = secretAccessKey ?? kept
  if (!secret)
    throw badInput(
      's3.secretAccessKey: is required with accessKeyId (leave both out for the default AWS credential chain)',
      's3.secretAccessKey',
    )
  return { config, secrets: { secretAccessKey: secret } }
}

/** What is stored for a destination: its sealed secrets (opened) and its public settings. */
export interface Stored<S, C> {
  secrets: S
  config: C
}

/**
 * Where a destination's secret goes: the endpoint (scheme, host, port) and what it signs for there.
 * Azure: the account URL and account name (a SAS token or key belongs to one account). S3: the
 * endpoint (AWS when none), bucket and addressing style (virtual-hosted style puts the bucket into
 * the host name). Region, prefix, container and tuning are not part of it: they change where on the
 * same service the key is used, not who receives it.
 */
export function secretBinding(kind: 'azureBlob' | 's3', c: AzureBlobSettings | S3Settings): string {
  if (kind === 'azureBlob') {
    const a = c as AzureBlobSettings
    return JSON.stringify([origin(a.accountUrl), new URL(a.accountUrl).pathname.replace(/\/+$/, ''), a.accountName ?? ''])
  }
  const s3 = c as S3Settings
  return JSON.stringify([s3.endpoint ? origin(s3.endpoint) : 'aws', s3.bucket, !!s3.forcePathStyle])
}

const origin = (url: string) => new URL(url).origin

/**
 * Refuses to carry a stored secret over to another binding: the caller must give it again in the
 * same request. Refusing (rather than dropping the secret) changes nothing on a mistake and says
 * what is needed; a destination cannot be saved without its sign-in anyway.
 */
function keepOnlyIfBound(
  kind: 'azureBlob' | 's3',
  before: AzureBlobSettings | S3Settings,
  after: AzureBlobSettings | S3Settings,
  field: string,
): void {
  if (secretBinding(kind, before) === secretBinding(kind, after)) return
  throw badInput(
    `${kind}.${field}: the stored ${field} was given for ${describeBinding(kind, before)}; it is not sent to ${describeBinding(kind, after)}. Give ${field} again in the same request`,
    `${kind}.${field}`,
  )
}

function describeBinding(kind: 'azureBlob' | 's3', c: AzureBlobSettings | S3Settings): string {
  if (kind === 'azureBlob') return (c as AzureBlobSettings).accountUrl
  const s3 = c as S3Settings
  return `bucket "${s3.bucket}" at ${s3.endpoint ?? 'AWS'}${s3.forcePathStyle ? ' (path style)' : ''}`
}
