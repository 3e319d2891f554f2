/**
 * One interface for every place files go. Keys are `/`-separated paths relative to the destination's
 * root; the same key always names the same object, so a retried upload overwrites instead of adding
 * (docs/architecture.md#rule-2).
 */
export interface Destination {
  /** The destination's root as a URI (file:///…, s3://bucket/prefix, https://acct.blob…/container/prefix). */
  readonly uri: string
  /** The URI of one object under the root (run manifests, `Run.manifestUri`). */
  uriOf(key: string): string
  /**
   * The URI a lake table records for one object (docs/architecture.md#lake-tables): the form the
   * engines' Iceberg FileIOs open. The same as `uriOf` except on Azure's public endpoint, where it is
   * `abfss://container@account.dfs.core.windows.net/…` (ADLS Gen2) instead of the blob `https://` form.
   */
  tableUriOf(key: string): string
  /**
   * Stores a finished local file under `key`, replacing what was there; readers never see half a file.
   * With `options.sha256` the destination refuses (DESTINATION_INTEGRITY) to store bytes that hash
   * differently from what the writer computed.
   */
  putFile(key: string, localPath: string, signal?: AbortSignal, options?: PutFileOptions): Promise<{ bytes: number }>
  /** Stores a small text object (manifest, markers). */
  putText(key: string, body: string, signal?: AbortSignal): Promise<void>
  getText(key: string, signal?: AbortSignal): Promise<string | null>
  /** Reads a small binary object (a lake table's Avro manifest list); null when it does not exist. */
  getBytes(key: string, signal?: AbortSignal): Promise<Buffer | null>
  /**
   * Stores a small text object only if nothing exists under `key` yet: the commit point of a lake
   * table version (docs/architecture.md#lake-tables), so two writers can never both create version N.
   * Resolves `true` when this call created it, `false` when another object was already there. A retry
   * that finds its own earlier attempt's bytes (same body) counts as created.
   */
  putTextIfAbsent(key: string, body: string, signal?: AbortSignal): Promise<boolean>
  /**
   * Removes one object (a failed partition attempt's file, src/orchestrator/run/partitions.ts); a
   * missing object is fine.
   */
  remove(key: string, signal?: AbortSignal): Promise<void>
  /** Removes every object under a prefix (a failed run's leftovers); missing objects are fine. */
  removePrefix(prefix: string, signal?: AbortSignal): Promise<void>
  /** Writes, reads back and deletes a probe object: proves the credentials and write permission. */
  probe(signal?: AbortSignal): Promise<void>
  /** Lets go of connection pools; the destination is not used afterwards. */
  close?(): void
}

export interface PutFileOptions {
  /** Hex SHA-256 the Parquet writer computed for the file (the manifest's value). */
  sha256?: string
  /** Bytes the service has accepted so far (after each block or part), for progress and tests. */
  onProgress?(bytes: number): void
}

/**
 * Storage failure classes; they are also the run's `error.code`.
 * - DESTINATION_UNAVAILABLE: network, timeouts, 5xx, throttling (retryable)
 * - DESTINATION_AUTH: credentials refused or no permission (not retryable)
 * - DESTINATION_NOT_FOUND: container, bucket or folder missing (not retryable)
 * - DESTINATION_INTEGRITY: what the service stored differs from what was sent (retryable)
 * - OUTBOUND_REFUSED: the outbound policy refuses the endpoint's host (not retryable)
 */
export type DestinationErrorCode =
  | 'DESTINATION_UNAVAILABLE'
  | 'DESTINATION_AUTH'
  | 'DESTINATION_NOT_FOUND'
  | 'DESTINATION_INTEGRITY'
  | 'OUTBOUND_REFUSED'

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
