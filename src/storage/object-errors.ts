import { withRetry, type RetryOptions } from './retry.js'
import { redact } from '../util/redact.js'
import { DestinationError } from './destination.js'

/**
 * Turning Azure and AWS SDK errors into DestinationErrors: one class per cause, a message a user can
 * act on, and nothing secret in it. SDK errors carry the request (URLs with SAS tokens, signed
 * headers), so they are never attached as `cause` and their text is only used after redaction.
 */

/** Service error codes meaning "these credentials may not do this". */
const AUTH_CODES = new Set([
  'AuthenticationFailed', 'AuthorizationFailure', 'AuthorizationPermissionMismatch', 'AuthorizationResourceTypeMismatch',
  'AuthorizationSourceIPMismatch', 'AuthorizationProtocolMismatch', 'InvalidAuthenticationInfo', 'NoAuthenticationInformation',
  'InsufficientAccountPermissions', 'AccountIsDisabled', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied',
  'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired', 'CredentialsProviderError', 'RequestTimeTooSkewed', 'AllAccessDisabled',
])
/** The container or bucket (or the account) is not there. */
const NOT_FOUND_CODES = new Set(['ContainerNotFound', 'NoSuchBucket', 'ResourceNotFound', 'AccountNotFound', 'ContainerBeingDeleted'])
/** The service got different bytes than were sent. */
const INTEGRITY_CODES = new Set(['Md5Mismatch', 'Crc64Mismatch', 'BadDigest', 'InvalidDigest', 'XAmzContentSHA256Mismatch', 'InvalidChecksum'])
/** Socket-level failures and timeouts: the service may well answer the next try. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
  'ENETDOWN', 'EHOSTDOWN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'REQUEST_SEND_ERROR', 'TimeoutError', 'RequestTimeout',
  'RequestTimeoutException', 'ERR_STREAM_PREMATURE_CLOSE',
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

/** True when an operation ended because it was aborted (cancel, shutdown), which is no storage fault. */
export function isAbort(e: unknown, signal?: AbortSignal): boolean {
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
  const { status, code, message: raw } = factsOf(e)
  const message = serviceMessage(raw, code)
  const tag = [status, code].filter(Boolean).join(' ')
  const say = (text: string) => redact(`${where}: ${text}${tag ? ` (${tag})` : ''}`, secrets)
  if (AUTH_CODES.has(code ?? '') || status === 401 || status === 403)
    return new DestinationError('DESTINATION_AUTH', say('access refused; check the credentials and their permission to write'), false)
  if (NOT_FOUND_CODES.has(code ?? ''))
    return new DestinationError('DESTINATION_NOT_FOUND', say('the container or bucket does not exist; create it first'), false)
  if (INTEGRITY_CODES.has(code ?? '') || /content-?md5|checksum/i.test(code === 'InvalidOperation' ? message : ''))
    return new DestinationError('DESTINATION_INTEGRITY', say('the service received different bytes than were sent'), true)
  if (status === 408 || status === 429 || (status !== undefined && status >= 500) || NETWORK_CODES.has(code ?? ''))
    return new DestinationError('DESTINATION_UNAVAILABLE', say(`not reachable or not answering: ${firstLine(message)}`), true)
  if (status !== undefined && status >= 300 && status < 400)
    return new DestinationError('DESTINATION_UNAVAILABLE', say('the endpoint redirected; redirects are not followed (configure the URL it redirects to)'), false)
  if (status !== undefined && status >= 400)
    return new DestinationError('DESTINATION_UNAVAILABLE', say(`request refused: ${firstLine(message)}`), false)
  // Anything else (a client-side configuration problem, an unexpected SDK failure): not retried.
  return new DestinationError('DESTINATION_UNAVAILABLE', say(firstLine(message)), false)
}

const firstLine = (s: string) => s.split('\n')[0].slice(0, 300)

/**
 * The part of an SDK message fit to show: the storage service's own one-line message. Not shown:
 * bodies the SDK quotes when it cannot parse an answer (an endpoint may be any internal service),
 * and socket messages, which name the address a host resolved to.
 */
function serviceMessage(message: string, code: string | undefined): string {
  if (/deserializ|responseBody|<[a-z!?/]/i.test(message)) return 'the answer is not a storage service error message'
  if (code && NETWORK_CODES.has(code)) return NETWORK_TEXT[code] ?? 'the connection failed'
  return firstLine(message).replace(/\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b|\[[0-9a-f:.]+\](?::\d+)?/gi, '(address)')
}

const NETWORK_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connect timeout',
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed (temporary)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
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
  )
}

/**
 * The probe's last step. Credentials that may write but not delete (a SAS without `d`, a policy
 * without s3:DeleteObject) leave the probe object behind: the error says so and names it, so the user
 * knows what to remove and that the write itself worked.
 */
export async function deleteProbe(where: string, secrets: Array<string | undefined>, name: string, del: () => Promise<unknown>): Promise<void> {
  try {
    await del()
  } catch (e) {
    if (isMissingObject(e)) return
    const err = storageError(where, e, secrets)
    throw new DestinationError(err.code, `${err.message}; the probe object ${name} was written and read back but not deleted: delete it by hand`, err.retryable)
  }
}
