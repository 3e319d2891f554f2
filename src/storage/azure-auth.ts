import { AnonymousCredential, BlobServiceClient, StorageSharedKeyCredential, type StoragePipelineOptions } from '@azure/storage-blob'
import type { AzureBlobSecrets, AzureBlobSettings } from './azure-settings.js'
import { redact } from './object-errors.js'

export type { AzureBlobAuth, AzureBlobSecrets, AzureBlobSettings } from './azure-settings.js'

/**
 * The SDK has its own, stricter reading of a connection string (key encoding, SAS shape): what it
 * would refuse at run time is refused when the destination is saved. Undefined when it accepts.
 */
export function sdkConnectionStringProblem(cs: string): string | undefined {
  try {
    BlobServiceClient.fromConnectionString(cs)
    return undefined
  } catch (e) {
    // Only the secret parts are blanked: the account name and endpoint help the user find the mistake.
    const secrets = cs.split(';').filter((item) => /^\s*(?:AccountKey|SharedAccessSignature)\s*=/i.test(item)).map((item) => item.slice(item.indexOf('=') + 1))
    return `is not accepted by the Azure SDK: ${redact(String((e as Error).message), secrets)}`
  }
}

/** The SDK client for one destination's account, signed the way its settings say. */
export function blobServiceClient(s: AzureBlobSettings, secrets: AzureBlobSecrets, options: StoragePipelineOptions): BlobServiceClient {
  switch (s.auth) {
    case 'CONNECTION_STRING':
      return BlobServiceClient.fromConnectionString(required(secrets.connectionString, 'connection string'), options)
    case 'SAS':
      return new BlobServiceClient(`${s.accountUrl}?${required(secrets.sasToken, 'SAS token').replace(/^\?/, '')}`, new AnonymousCredential(), options)
    case 'ACCOUNT_KEY':
      return new BlobServiceClient(s.accountUrl, new StorageSharedKeyCredential(required(s.accountName, 'account name'), required(secrets.accountKey, 'account key')), options)
  }
}

function required(v: string | undefined, what: string): string {
  if (!v) throw new Error(`the destination has no ${what} stored; set it with updateDestination`)
  return v
}
