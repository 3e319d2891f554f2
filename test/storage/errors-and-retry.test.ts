import { describe, expect, it } from 'vitest'
import { DestinationError } from '../../src/storage/destination.js'
import { isMissingObject, storageError } from '../../src/storage/object-errors.js'
import { redact } from '../../src/util/redact.js'
import { backoffDelay, withRetry } from '../../src/storage/retry.js'

const azure = (statusCode: number | undefined, code: string, message = 'x') =>
  Object.assign(new Error(message), { name: 'RestError', statusCode, code })
const aws = (httpStatusCode: number, name: string) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode } })
const socket = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code })

describe('storageError', () => {
  it.each([
    [azure(403, 'AuthenticationFailed'), 'DESTINATION_AUTH', false],
    [azure(403, 'AuthorizationPermissionMismatch'), 'DESTINATION_AUTH', false],
    [aws(403, 'InvalidAccessKeyId'), 'DESTINATION_AUTH', false],
    [aws(403, 'SignatureDoesNotMatch'), 'DESTINATION_AUTH', false],
    [aws(401, 'Unauthorized'), 'DESTINATION_AUTH', false],
    [azure(404, 'ContainerNotFound'), 'DESTINATION_NOT_FOUND', false],
    [aws(404, 'NoSuchBucket'), 'DESTINATION_NOT_FOUND', false],
    [azure(400, 'Md5Mismatch'), 'DESTINATION_INTEGRITY', true],
    [azure(400, 'InvalidOperation', "Provided contentMD5 doesn't match."), 'DESTINATION_INTEGRITY', true],
    [aws(400, 'BadDigest'), 'DESTINATION_INTEGRITY', true],
    [socket('ECONNREFUSED'), 'DESTINATION_UNAVAILABLE', true],
    [socket('ECONNRESET'), 'DESTINATION_UNAVAILABLE', true],
    [azure(undefined, 'REQUEST_SEND_ERROR'), 'DESTINATION_UNAVAILABLE', true],
    [Object.assign(new Error('timed out'), { name: 'TimeoutError' }), 'DESTINATION_UNAVAILABLE', true],
    [aws(503, 'SlowDown'), 'DESTINATION_UNAVAILABLE', true],
    [azure(500, 'InternalError'), 'DESTINATION_UNAVAILABLE', true],
    [aws(429, 'TooManyRequests'), 'DESTINATION_UNAVAILABLE', true],
    [aws(400, 'InvalidArgument'), 'DESTINATION_UNAVAILABLE', false],
    [new Error('Region is missing'), 'DESTINATION_UNAVAILABLE', false],
  ])('%s → %s (retryable %s)', (e, code, retryable) => {
    expect(storageError('store', e, [])).toMatchObject({ code, retryable })
  })

  it('tells a missing object from a missing container', () => {
    expect(isMissingObject(azure(404, 'BlobNotFound'))).toBe(true)
    expect(isMissingObject(aws(404, 'NoSuchKey'))).toBe(true)
    expect(isMissingObject(azure(404, 'ContainerNotFound'))).toBe(false)
    expect(isMissingObject(aws(404, 'NoSuchBucket'))).toBe(false)
  })

  it('keeps secrets out of messages', () => {
    const e = new Error('GET https://a.blob.core.windows.net/c?sv=2024&sig=SECRETSIG&se=1 failed; AccountKey=KEYKEYKEY; key hunter2hunter2')
    const msg = storageError('store', e, ['hunter2hunter2']).message
    expect(msg).not.toMatch(/SECRETSIG|KEYKEYKEY|hunter2hunter2/)
    expect(redact('Authorization: SharedKey acct:abcdef==', [])).toBe('Authorization: SharedKey ***')
  })
})

describe('withRetry', () => {
  const fast = { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 }

  it('repeats retryable failures up to the attempts, then gives up with the last error', async () => {
    let calls = 0
    const err = await withRetry(async () => {
      calls++
      throw new DestinationError('DESTINATION_UNAVAILABLE', `try ${calls}`, true)
    }, fast).catch((e) => e)
    expect(calls).toBe(3)
    expect(err.message).toBe('try 3')
  })

  it('succeeds on a later try and does not repeat permanent failures', async () => {
    let calls = 0
    expect(
      await withRetry(async () => (++calls < 2 ? Promise.reject(new DestinationError('DESTINATION_UNAVAILABLE', 'x', true)) : 'ok'), fast),
    ).toBe('ok')
    calls = 0
    await withRetry(async () => {
      calls++
      throw new DestinationError('DESTINATION_AUTH', 'no', false)
    }, fast).catch(() => {})
    expect(calls).toBe(1)
  })

  it('stops waiting at once when aborted, with the abort reason', async () => {
    const ac = new AbortController()
    const reason = new Error('cancelled')
    const p = withRetry(
      async () => {
        setImmediate(() => ac.abort(reason))
        throw new DestinationError('DESTINATION_UNAVAILABLE', 'x', true)
      },
      { attempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 },
      ac.signal,
    )
    await expect(p).rejects.toBe(reason)
  })

  it('backs off exponentially with jitter, capped', () => {
    const o = { attempts: 9, baseDelayMs: 100, maxDelayMs: 1000 }
    expect(backoffDelay(1, o, () => 0.5)).toBe(100)
    expect(backoffDelay(3, o, () => 0.5)).toBe(400)
    expect(backoffDelay(8, o, () => 0.5)).toBe(1000)
    expect(backoffDelay(1, o, () => 0)).toBe(75)
  })
})
