/**
 * A run's commit point on an ICEBERG pipeline: the table snapshot holding its files
 * (docs/architecture.md#lake-commit). The order, so a crash anywhere is rolled forward or cleaned
 * exactly once:
 *
 *   1. `_manifest.pending.json` — the manifest without a snapshot id, under a name no reader takes;
 *   2. the snapshot — `v{N+1}.metadata.json` created only if absent, then the version hint;
 *   3. `manifest.json` — the same manifest with the snapshot id, for readers that use manifests;
 *   4. the database commit (run SUCCEEDED, delta position moved).
 *
 * A crash (or a refused commit) before 2 leaves the table unchanged and the run is failed and its
 * prefix removed as before. A crash after 2, or a manifest.json that cannot be written, is rolled
 * forward from the snapshot: the sweep finds it with findRunSnapshot, writes manifest.json from the
 * pending copy and commits the run.
 */
import {
  commitSnapshot,
  findRunSnapshot,
  LakeCommitConflictError,
  type CommittedSnapshot,
  type RunSummary,
  type Snapshot,
} from '../../lake/iceberg/index.js'
import type { Destination } from '../../storage/destination.js'
import { parseManifest, type Manifest } from '../manifest.js'
import { RunRefused } from '../run-errors.js'
import type { StoredFile } from '../run/stream.js'
import { planFor, type RunTable } from './run-table.js'
import { OWNER_PROPERTY } from './table-owner.js'

export const PENDING_MANIFEST_FILE = '_manifest.pending.json'

/** Commits after a conflict: the pipeline hold keeps other runs off the table, so a conflict is rare (a foreign writer). */
const COMMIT_ATTEMPTS = 4

/**
 * Commits the run's files as the table's next snapshot. Another writer taking the version first is
 * met by planning again on top of it; the files keep their field ids, so the new plan must give the
 * same ones, or the run is refused with nothing committed.
 */
export async function commitRunSnapshot(
  destination: Destination,
  table: RunTable,
  prefix: string,
  files: readonly StoredFile[],
  summary: RunSummary,
  signal?: AbortSignal,
): Promise<CommittedSnapshot> {
  const commitFiles = files.map((f) => ({ key: `${prefix}/${f.fileName}`, recordCount: f.rows, sizeBytes: f.bytes }))
  let plan = table.plan
  for (let attempt = 1; ; attempt++) {
    try {
      return await commitSnapshot(destination, plan, {
        files: commitFiles,
        summary,
        signal,
        properties: { [OWNER_PROPERTY]: table.pipelineId },
      })
    } catch (e) {
      if (!(e instanceof LakeCommitConflictError) || attempt >= COMMIT_ATTEMPTS) throw e
    }
    plan = await planFor(destination, table.tablePath, table.columns, signal)
    if (plan.parquet.fieldIds.join() !== table.plan.parquet.fieldIds.join())
      throw new RunRefused(
        'SCHEMA_CHANGED',
        `table ${table.tablePath}: another writer changed the table's schema while this run wrote its files; nothing was committed`,
      )
  }
}

/** The run's snapshot and its pending manifest, as a sweep finds them; null when the table has no snapshot of the run. */
export async function findCommittedRun(
  destination: Destination,
  tablePath: string,
  prefix: string,
  runId: string,
  signal?: AbortSignal,
): Promise<{ snapshot: Snapshot; manifest: Manifest | undefined } | null> {
  const snapshot = await findRunSnapshot(destination, tablePath, runId, signal)
  if (!snapshot) return null
  const text = await destination.getText(`${prefix}/${PENDING_MANIFEST_FILE}`, signal)
  const manifest = text ? parseManifest(text) : undefined
  return { snapshot, manifest: manifest?.runId === runId ? manifest : undefined }
}

/** The manifest a committed run publishes: the pending one with the snapshot id (and the current-state table's). */
export function withSnapshotId(manifest: Manifest, snapshotId: number, currentStateSnapshotId?: number): Manifest {
  if (!manifest.table) return manifest
  const { currentState } = manifest.table
  return {
    ...manifest,
    table: {
      ...manifest.table,
      snapshotId,
      ...(currentState && currentStateSnapshotId !== undefined
        ? { currentState: { ...currentState, snapshotId: currentStateSnapshotId } }
        : {}),
    },
  }
}

/** The snapshot summary of a run in both tables: run id, tokens, source schema hash. */
export function summaryOf(manifest: Pick<Manifest, 'deltaTokenIn' | 'deltaTokenOut' | 'schemaHash'>): Omit<RunSummary, 'runId'> {
  return {
    deltaTokenIn: manifest.deltaTokenIn,
    deltaTokenOut: manifest.deltaTokenOut,
    extra: manifest.schemaHash ? { 'delta-extractor.source-schema-hash': manifest.schemaHash } : {},
  }
}
