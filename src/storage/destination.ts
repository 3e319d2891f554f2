/**
 * One interface for every place files go. Keys are `/`-separated paths relative to the destination's
 * root; the same key always names the same object, so a retried upload overwrites instead of adding
 * (architecture rule 2).
 */
export interface Destination {
  /** The destination's root as a URI (file:///…, s3://bucket/prefix, https://acct.blob…/container/prefix). */
  readonly uri: string
  /** The URI of one object under the root. */
  uriOf(key: string): string
  /** Stores a finished local file under `key`, replacing what was there; readers never see half a file. */
  putFile(key: string, localPath: string, signal?: AbortSignal): Promise<{ bytes: number }>
  /** Stores a small text object (manifest, markers). */
  putText(key: string, body: string, signal?: AbortSignal): Promise<void>
  getText(key: string, signal?: AbortSignal): Promise<string | null>
  /** Removes every object under a prefix (a failed run's leftovers); missing objects are fine. */
  removePrefix(prefix: string, signal?: AbortSignal): Promise<void>
  /** Writes, reads back and deletes a probe object: proves the credentials and write permission. */
  probe(signal?: AbortSignal): Promise<void>
}

export type DestinationErrorCode = 'DESTINATION_UNAVAILABLE' | 'DESTINATION_AUTH' | 'DESTINATION_NOT_FOUND'

/** A storage failure the orchestrator can classify; `retryable` drives the retry policy. */
export class DestinationError extends Error {
  override readonly name = 'DestinationError'
  constructor(
    readonly code: DestinationErrorCode,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}
