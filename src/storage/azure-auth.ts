import type { Agent as HttpAgent } from 'node:http'
import type { Agent as HttpsAgent } from 'node:https'
import {
  AnonymousCredential,
  BlobServiceClient,
  newPipeline,
  StorageSharedKeyCredential,
  type RequestPolicy,
  type RequestPolicyFactory,
  type StoragePipelineOptions,
  type WebResource,
} from '@azure/storage-blob'
import type { AzureBlobSecrets, AzureBlobSettings } from './azure-settings.js'
import { redact } from '../util/redact.js'

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
    const secrets = cs
      .split(';')
      .filter((item) => /^\s*(?:AccountKey|SharedAccessSignature)\s*=/i.test(item))
      .map((item) => item.slice(item.indexOf('=') + 1))
    return `is not accepted by the Azure SDK: ${redact(String((e as Error).message), secrets)}`
  }
}

/**
 * The SDK client for one destination's account, signed the way its settings say, sending through
 * `agents` (which check every connection against the outbound policy). The SDK does not follow
 * redirects to another origin.
 */
export function blobServiceClient(
  s: AzureBlobSettings,
  secrets: AzureBlobSecrets,
  options: StoragePipelineOptions,
  agents: { http: HttpAgent; https: HttpsAgent },
): BlobServiceClient {
  // Only for its parsing: a connection string is turned into a URL and a credential.
  const plain = (() => {
    switch (s.auth) {
      case 'CONNECTION_STRING':
        return BlobServiceClient.fromConnectionString(required(secrets.connectionString, 'connection string'))
      case 'SAS':
        return new BlobServiceClient(
          `${s.accountUrl}?${required(secrets.sasToken, 'SAS token').replace(/^\?/, '')}`,
          new AnonymousCredential(),
        )
      case 'ACCOUNT_KEY':
        return new BlobServiceClient(
          s.accountUrl,
          new StorageSharedKeyCredential(required(s.accountName, 'account name'), required(secrets.accountKey, 'account key')),
        )
    }
  })()
  // newPipeline keeps the credential on the pipeline itself (signing is added from it later): add to
  // its factories rather than building a new Pipeline, which would lose it.
  const pipeline = newPipeline(plain.credential, options)
  pipeline.factories.push(agentPolicy(agents))
  return new BlobServiceClient(plain.url, pipeline)
}

/** Sets the agent of every request (the SDK's default HTTP client honours `request.agent`). */
function agentPolicy(agents: { http: HttpAgent; https: HttpsAgent }): RequestPolicyFactory {
  return {
    create: (next: RequestPolicy): RequestPolicy => ({
      sendRequest: (request: WebResource) => {
        request.agent = request.url.startsWith('https:') ? agents.https : agents.http
        return next.sendRequest(request)
      },
    }),
  }
}

function required(v: string | undefined, what: string): string {
  if (!v) throw new Error(`the destination has no ${what} stored; set it with updateDestination`)
  return v
}
