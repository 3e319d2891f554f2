import { withRetry, type RetryOptions } from './retry.js'
import { redact } from '../util/redact.js'
import { socketFailureText } from '../util/socket-errors.js'
import { DestinationError } from './destination.js'
import { AZURE_BLOB_CODES, S3_CODES } from './store-error-codes.js'

/**
 * Turning Azure and AWS SDK errors into DestinationErrors: one class per cause, a message a user can
 * act on, and nothing secret in it. SDK errors carry the request (URLs with SAS tokens, signed
 * headers), so they are never attached as `cause` and their text is only used after redaction.
 */

/** Service error codes meaning "these credentials may not do this". */
const AUTH_CODES = new Set([
  'AuthenticationFailed',
  'AuthorizationFailure',
  'AuthorizationPermissionMismatch',
  'AuthorizationResourceTypeMismatch',
  'AuthorizationSourceIPMismatch',
  'AuthorizationProtocolMismatch',
  'InvalidAuthenticationInfo',
  'NoAuthenticationInformation',
  'InsufficientAccountPermissions',
  'AccountIsDisabled',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'CredentialsProviderError',
  'RequestTimeTooSkewed',
  'AllAccessDisabled',
])
/** The container or bucket (or the account) is not there. */
const NOT_FOUND_CODES = new Set(['ContainerNotFound', 'NoSuchBucket', 'ResourceNotFound', 'AccountNotFound', 'ContainerBeingDeleted'])
/** The service got different bytes than were sent. */
const INTEGRITY_CODES = new Set([
  'Md5Mismatch',
  'Crc64Mismatch',
  'BadDigest',
  'InvalidDigest',
  'XAmzContentSHA256Mismatch',
  'InvalidChecksum',
])
/** Socket-level failures and timeouts: the service may well answer the next try. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'REQUEST_SEND_ERROR',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ERR_STREAM_PREMATURE_CLOSE',
])

interface Facts {
  status?: number
  code?: string
  message: string
}

/** Reads status and error code from either SDK's error shape (and from plain Node socket errors). */
function factsOf(e: unknown): Facts {
  const x = e as {
    statusCode?: number
    code?: string
    name?: string
    message?: string
    details?: { errorCode?: string }
    $metadata?: { httpStatusCode?: number }
    Code?: string
    cause?: { code?: string }
  }
  const status = x?.statusCode ?? x?.$metadata?.httpStatusCode
  // Azure: RestError.code (service code or socket code), details.errorCode; AWS: name = error code.
  const code =
    x?.details?.errorCode ??
    (x?.code && x.code !== 'ERR_INVALID_ARG_TYPE' ? x.code : undefined) ??
    x?.Code ??
    x?.cause?.code ??
    (x?.name && x.name !== 'Error' && x.name !== 'RestError' && !/^\d+$/.test(x.name) ? x.name : undefined)
  return { status, code, message: String(x?.message ?? e) }
}

/** True for a missing object (as opposed to a missing container or bucket). */
export function isMissingObject(e: unknown): boolean {
  const f = factsOf(e)
  return f.status === 404 && !NOT_FOUND_CODES.has(f.code ?? '') && f.code !== 'NoSuchUpload'
}

/**
 * True when a conditional create found the name taken: 412 (S3 PreconditionFailed, Azure
 * ConditionNotMet) or Azure's 409 BlobAlreadyExists. S3's 409 ConditionalRequestConflict is not
 * this (isConditionalWriteInFlight).
 */
export function isAlreadyExists(e: unknown): boolean {
  const f = factsOf(e)
  return f.status === 412 || (f.status === 409 && f.code === 'BlobAlreadyExists')
}

/**
 * S3's 409 ConditionalRequestConflict: another conditional write of the same key was in flight.
 * Neither writer is known to have won yet, so the put is repeated (it then gets 200 or 412).
 */
export function isConditionalWriteInFlight(e: unknown): boolean {
  const f = factsOf(e)
  return f.status === 409 && f.code === 'ConditionalRequestConflict'
}

/** True when an operation ended because it was aborted (cancel, shutdown), which is no storage fault. */
function isAbort(e: unknown, signal?: AbortSignal): boolean {
  return !!signal?.aborted || (e as Error)?.name === 'AbortError'
}

/**
 * The DestinationError for an SDK failure. `where` names the destination without secrets (e.g.
 * `Azure Blob container "lake" at https://acct.blob.core.windows.net`).
 */
export function storageError(where: string, e: unknown, secrets: Array<string | undefined>): DestinationError {
  if (e instanceof DestinationError) return e
  const refused = outboundRefusal(e)
  if (refused) return new DestinationError('OUTBOUND_REFUSED', `${where}: ${refused.message}`, false)
  const facts = factsOf(e)
  const { status, code } = facts
  const { code: shownCode, text } = shown(e, facts)
  const tag = [status, shownCode].filter(Boolean).join(' ')
  const say = (lead: string, withText = true) =>
    redact(`${where}: ${lead}${withText && text ? `: ${text}` : ''}${tag ? ` (${tag})` : ''}`, secrets)
  if (AUTH_CODES.has(code ?? '') || status === 401 || status === 403)
    return new DestinationError(
      'DESTINATION_AUTH',
      say('access refused; check the credentials and their permission to write', false),
      false,
    )
  if (NOT_FOUND_CODES.has(code ?? ''))
    return new DestinationError('DESTINATION_NOT_FOUND', say('the container or bucket does not exist; create it first', false), false)
  if (INTEGRITY_CODES.has(code ?? '') || /content-?md5|checksum/i.test(code === 'InvalidOperation' ? facts.message : ''))
    return new DestinationError('DESTINATION_INTEGRITY', say('the service received different bytes than were sent', false), true)
  if (status === 408 || status === 429 || (status !== undefined && status >= 500) || NETWORK_CODES.has(code ?? ''))
    return new DestinationError('DESTINATION_UNAVAILABLE', say('not reachable or not answering'), true)
  if (status !== undefined && status >= 300 && status < 400)
    return new DestinationError(
      'DESTINATION_UNAVAILABLE',
      say('the endpoint redirected; redirects are not followed (configure the URL it redirects to)', false),
      false,
    )
  if (status !== undefined && status >= 400) return new DestinationError('DESTINATION_UNAVAILABLE', say('request refused'), false)
  // Anything else (a client-side configuration problem, an unexpected SDK failure): not retried.
  return new DestinationError(
    'DESTINATION_UNAVAILABLE',
    redact(`${where}: ${text ?? 'the storage client failed'}${tag ? ` (${tag})` : ''}`, secrets),
    false,
  )
}

const firstLine = (s: string) => s.split('\n')[0].slice(0, 300)

const FOREIGN = 'the answer is not a storage service error message'

/**
 * What of a failure may be shown. An HTTP answer came from whatever the endpoint points at, which
 * may be any internal service: its message is shown only when the answer is an error document in
 * the store's own format carrying one of the store's codes (store-error-codes.ts), and its code
 * only when it is one of those; otherwise the status alone, and a note that the answer was not a
 * storage error. Without an HTTP answer the text is the SDK's or the socket's own, shown without
 * the address a host resolved to.
 */
function shown(e: unknown, f: Facts): { code?: string; text?: string } {
  if (f.status === undefined) return { code: f.code, text: localMessage(f.message, f.code) }
  const x = e as { name?: string; $metadata?: unknown; Code?: unknown; $responseBodyText?: unknown; response?: { bodyAsText?: string } }
  const azure = x?.name === 'RestError'
  const codes = azure ? AZURE_BLOB_CODES : x?.$metadata ? S3_CODES : undefined
  const code = f.code && (codes?.has(f.code) || NETWORK_CODES.has(f.code)) ? f.code : undefined
  const said = f.message.trim() !== '' && f.message !== 'UnknownError' // the AWS SDK's word for "no body"
  if (!code || !codes?.has(code) || !said) return { code, text: said ? FOREIGN : undefined }
  const own = azure ? azureErrorCode(x.response?.bodyAsText) === code : x.Code === code && x.$responseBodyText === undefined
  return { code, text: own ? firstLine(f.message).replace(ADDRESS, '(address)') : FOREIGN }
}

/** The <Code> of an Azure Storage error document (`<Error><Code>…</Code><Message>…</Message>…</Error>`), or undefined for anything else. */
function azureErrorCode(body: string | undefined): string | undefined {
  return body
    ? /^\s*(?:<\?xml[^>]*\?>\s*)?<Error>\s*<Code>([A-Za-z0-9]+)<\/Code>\s*<Message>[^<]*<\/Message>[\s\S]*<\/Error>\s*$/.exec(body)?.[1]
    : undefined
}

const ADDRESS = /\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b|\[[0-9a-f:.]+\](?::\d+)?/gi

/**
 * The SDK's or the socket's own message, for failures without an HTTP answer. Not shown: a body the
 * SDK quotes when it cannot parse an answer, and socket messages, which name the address a host
 * resolved to.
 */
function localMessage(message: string, code: string | undefined): string {
  if (/deserializ|response ?body|<[a-z!?/]/i.test(message)) return FOREIGN
  if (code && NETWORK_CODES.has(code)) return socketFailureText(code) ?? 'the connection failed'
  return firstLine(message).replace(ADDRESS, '(address)')
}

/** The policy's refusal, wherever the SDK put it (cause chain, wrapped request errors). */
function outboundRefusal(e: unknown): Error | undefined {
  for (let c: unknown = e, depth = 0; c && depth < 5; c = (c as { cause?: unknown }).cause, depth++) {
    if ((c as { code?: unknown }).code === 'E_OUTBOUND_REFUSED' || (c as { name?: unknown }).name === 'OutboundRefused') return c as Error
    const m = /the outbound policy refuses [^\n]*/.exec(String((c as { message?: unknown }).message ?? ''))
    if (m) return new Error(m[0])
  }
  return undefined
}

/**
 * Runs a storage operation with the destination's retry policy, turning SDK errors into
 * DestinationErrors whose messages hold no secrets; an abort passes through as the signal's reason.
 */
export function retryingStorageOp<T>(
  where: string,
  secrets: Array<string | undefined>,
  op: () => Promise<T>,
  retry: RetryOptions,
  signal?: AbortSignal,
  onRetry?: () => void,
): Promise<T> {
  return withRetry(
    async () => {
      try {
        return await op()
      } catch (e) {
        if (isAbort(e, signal)) throw signal?.reason ?? e
        throw storageError(where, e, secrets)
      }
    },
    retry,
    signal,
    onRetry,
  )
}

/**
 * The probe's last step. Credentials that may write but not delete (a SAS without `d`, a policy
 * without s3:DeleteObject) leave the probe object behind: the error says so and names it, so the user
 * knows what to remove and that the write itself worked.
 */
export async function deleteProbe(
  where: string,
  secrets: Array<string | undefined>,
  name: string,
  del: () => Promise<unknown>,
): Promise<void> {
  try {
    await del()
  } catch (e) {
    if (isMissingObject(e)) return
    const err = storageError(where, e, secrets)
    throw new DestinationError(
      err.code,
      `${err.message}; the probe object ${name} was written and read back but not deleted: delete it by hand`,
      err.retryable,
    )
  }
}
