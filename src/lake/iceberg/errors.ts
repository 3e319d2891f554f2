/**
 * Lake table failure classes; like DestinationError they carry a `code` (the run's `error.code` once
 * the run engine commits to tables) and `retryable`.
 * - LAKE_COMMIT_CONFLICT: another writer committed the table version this one meant to write; nothing
 *   of this commit is visible. Retryable: a new attempt starts from the newer version.
 * - LAKE_TABLE_INVALID: what is under the table path is not an Iceberg v2 table this writer can
 *   extend (unreadable or foreign metadata, a version hint pointing nowhere). Not retryable.
 * - LAKE_SCHEMA_INCOMPATIBLE: the columns cannot be written into the table's schema (a type changed,
 *   a required column is missing). Not retryable.
 * - LAKE_INPUT: the caller passed something no table can hold (a file without rows, a bad column). Not retryable.
 */
export type LakeErrorCode = 'LAKE_COMMIT_CONFLICT' | 'LAKE_TABLE_INVALID' | 'LAKE_SCHEMA_INCOMPATIBLE' | 'LAKE_INPUT' | 'LAKE_OUT_OF_STEP'

const RETRYABLE: Record<LakeErrorCode, boolean> = {
  LAKE_COMMIT_CONFLICT: true,
  LAKE_TABLE_INVALID: false,
  LAKE_SCHEMA_INCOMPATIBLE: false,
  LAKE_INPUT: false,
  LAKE_OUT_OF_STEP: false,
}

export class LakeTableError extends Error {
  override readonly name = 'LakeTableError'
  readonly retryable: boolean
  constructor(
    readonly code: LakeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.retryable = RETRYABLE[code]
  }
}

/** Thrown when version `version` of the table was created by another writer first. */
export class LakeCommitConflictError extends LakeTableError {
  constructor(
    readonly tablePath: string,
    readonly version: number,
  ) {
    super(
      'LAKE_COMMIT_CONFLICT',
      `table ${tablePath}: version ${version} was committed by another writer first; nothing of this commit is visible`,
    )
  }
}
