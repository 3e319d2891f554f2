/**
 * What an AZURE_BLOB destination is, without the Azure SDK: settings, connection-string reading and
 * URIs. The SDK (tens of MB resident) is loaded only where a destination of this kind is used.
 */

/** How an AZURE_BLOB destination signs its requests: exactly one form per destination. */
export type AzureBlobAuth = 'CONNECTION_STRING' | 'SAS' | 'ACCOUNT_KEY'

/** Public settings of an AZURE_BLOB destination (stored as config, shown in the API). */
export interface AzureBlobSettings {
  container: string
  /** Folder inside the container, without leading or trailing slash; '' for the container root. */
  prefix: string
  /** Blob service endpoint, e.g. https://acct.blob.core.windows.net or http://127.0.0.1:10000/devstoreaccount1 */
  accountUrl: string
  accountName?: string
  auth: AzureBlobAuth
  /** Size of the staged blocks a file is cut into (MiB). */
  blockSizeMb?: number
  /** Blocks of one file in flight at once. */
  uploadConcurrency?: number
}

/** Secret settings (sealed at rest, never shown). */
export interface AzureBlobSecrets {
  connectionString?: string
  sasToken?: string
  accountKey?: string
}

/** Azurite's documented development account (public, in every Azure SDK). */
const AZURITE_ACCOUNT = 'devstoreaccount1'

/**
 * What a connection string says about where it points, or a problem description. Keys are
 * case-insensitive; values may contain '=' (keys and SAS tokens do).
 */
export function parseConnectionString(cs: string): { accountUrl: string; accountName?: string } | { problem: string } {
  const parts = new Map<string, string>()
  for (const item of cs
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = item.indexOf('=')
    if (eq <= 0) return { problem: 'is not a connection string (expected Key=Value pairs separated by ;)' }
    parts.set(item.slice(0, eq).toLowerCase(), item.slice(eq + 1))
  }
  if (parts.get('usedevelopmentstorage')?.toLowerCase() === 'true')
    return { accountUrl: `http://127.0.0.1:10000/${AZURITE_ACCOUNT}`, accountName: AZURITE_ACCOUNT }
  const accountName = parts.get('accountname')
  if (!parts.get('accountkey') && !parts.get('sharedaccesssignature')) return { problem: 'needs AccountKey or SharedAccessSignature' }
  if (parts.get('accountkey') && !accountName) return { problem: 'has AccountKey but no AccountName' }
  const endpoint = parts.get('blobendpoint')
  let accountUrl: string
  if (endpoint) {
    if (!/^https?:\/\/[^/?#\s]+/i.test(endpoint)) return { problem: 'BlobEndpoint must be an http:// or https:// URL' }
    accountUrl = endpoint.replace(/\/+$/, '')
  } else {
    if (!accountName) return { problem: 'needs BlobEndpoint or AccountName' }
    const protocol = (parts.get('defaultendpointsprotocol') ?? 'https').toLowerCase()
    if (protocol !== 'https' && protocol !== 'http') return { problem: 'DefaultEndpointsProtocol must be http or https' }
    accountUrl = `${protocol}://${accountName}.blob.${parts.get('endpointsuffix') ?? 'core.windows.net'}`
  }
  return { accountUrl, accountName }
}

export const AZURE_DEFAULTS = { blockSizeMb: 8, uploadConcurrency: 4 }

/** The root URI of an AZURE_BLOB destination: account URL, container, prefix. */
export function azureBlobUri(s: Pick<AzureBlobSettings, 'accountUrl' | 'container' | 'prefix'>): string {
  return [s.accountUrl, s.container, s.prefix].filter(Boolean).join('/')
}

/**
 * Blob endpoint of an account in Azure's public cloud. Account names are 3–24 lowercase letters and
 * digits, so the host names exactly one account and its Data Lake (DFS) endpoint is the same name under
 * `dfs.`. Sovereign clouds, private DNS zones, custom domains and emulators are not mapped: their DFS
 * host cannot be derived from the blob host with certainty (Iceberg's own ADLSv2Location accepted only
 * `*.dfs.core.windows.net` for a long time).
 */
const PUBLIC_BLOB_HOST = /^([a-z0-9]{3,24})\.blob\.core\.windows\.net$/

/** Container names Azure accepts (3–63 of a-z, 0-9, '-', no leading, trailing or doubled '-'). */
const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9]+(?:-[a-z0-9]+)*$/

/**
 * The ADLS Gen2 root `abfss://<container>@<account>.dfs.core.windows.net` of a destination on the
 * public Azure endpoint, or null where the blob form must stay (see PUBLIC_BLOB_HOST). Spark's ABFS
 * driver, Iceberg's ADLSFileIO, Trino and PyIceberg's ADLS FileIO open this form; none of them opens
 * `https://…blob…` locations (docs/architecture.md#lake-tables).
 */
export function adlsRootOf(s: Pick<AzureBlobSettings, 'accountUrl' | 'container'>): string | null {
  let url: URL
  try {
    url = new URL(s.accountUrl)
  } catch {
    return null
  }
  if (url.protocol !== 'https:' || url.port || url.username || url.password || url.search || url.hash) return null
  if (url.pathname.replace(/\/+$/, '') !== '') return null
  const account = PUBLIC_BLOB_HOST.exec(url.hostname)?.[1]
  if (!account || !CONTAINER_NAME.test(s.container)) return null
  return `abfss://${s.container}@${account}.dfs.core.windows.net`
}
