/**
 * Committing a table version that maintenance built (expiry, compaction): the same commit point as a
 * run's snapshot (docs/architecture.md#lake-tables), `metadata/v{N+1}.metadata.json` created only if
 * absent, so maintenance and a run that both start from version N never both commit N+1.
 */
import type { Destination } from '../../storage/destination.js'
import { LakeCommitConflictError } from './errors.js'
import { metadataKey, versionHintKey } from './table-files.js'
import type { TableMetadata } from './types.js'

/**
 * Creates version `version` or throws LakeCommitConflictError (nothing of it visible). Returns whether
 * the version hint was moved too: a caller about to remove old metadata files must know readers that
 * start at the hint will not be sent to one of them.
 */
export async function commitVersion(
  destination: Destination,
  tablePath: string,
  version: number,
  metadata: TableMetadata,
  signal?: AbortSignal,
): Promise<{ hintMoved: boolean }> {
  if (!(await destination.putTextIfAbsent(metadataKey(tablePath, version), `${JSON.stringify(metadata, null, 2)}\n`, signal)))
    throw new LakeCommitConflictError(tablePath, version)
  try {
    await destination.putText(versionHintKey(tablePath), String(version), signal)
    return { hintMoved: true }
  } catch {
    // Committed all the same: loadTable probes past a stale hint.
    return { hintMoved: false }
  }
}
