import { AuditLog, CLI_ACTOR } from '../auth/audit.js'
import type { Config } from '../config.js'
import { DomainError } from '../errors.js'
import { LakeTableError } from '../lake/iceberg/index.js'
import {
  compactPipeline,
  DEFAULT_MIN_INPUT_FILES,
  DEFAULT_TARGET_FILE_MB,
  type TableCompaction,
} from '../orchestrator/lake/compact-pipeline.js'
import { expiryLine, lakeMaintenanceOf } from '../orchestrator/lake/maintain.js'
import { openCatalogSession } from './catalog-session.js'
import { printJson } from './table.js'
import { UsageError } from './usage-error.js'

/**
 * `compact <pipeline> [--target-file-mb 128] [--min-input-files 5] [--json]`: compacts the pipeline's
 * lake tables on the database and destination directly, as the other catalogue commands work, under
 * the pipeline's hold (orchestrator/lake/compact-pipeline.ts). Exit 0 done (or nothing to do), 2 bad
 * input (unknown pipeline, no table) with nothing changed, 1 refused for now (a run is active, the
 * pipeline is held, another writer kept committing).
 */
export async function compactCommand(
  config: Config,
  ref: string,
  opts: { json: boolean; 'target-file-mb'?: string; 'min-input-files'?: string },
): Promise<number> {
  const targetFileMb = numberOption('--target-file-mb', opts['target-file-mb'], DEFAULT_TARGET_FILE_MB)
  const minInputFiles = numberOption('--min-input-files', opts['min-input-files'], DEFAULT_MIN_INPUT_FILES)
  const catalog = await openCatalogSession(config)
  // Ctrl-C stops the compaction cleanly: before its commit, the files it wrote are removed and the hold let go.
  const stop = new AbortController()
  const onSignal = () => stop.abort(new Error('stopped by a signal; nothing was committed'))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    const result = await compactPipeline(catalog, ref, {
      targetFileMb,
      minInputFiles,
      maintenance: lakeMaintenanceOf(config.LAKE_SNAPSHOT_RETENTION_DAYS),
      signal: stop.signal,
    })
    await new AuditLog(catalog.db, catalog.log).record({
      actor: CLI_ACTOR,
      action: 'compactPipeline',
      objectType: 'Pipeline',
      objectId: result.pipelineId,
    })
    if (opts.json) printJson(result)
    else for (const t of result.tables) console.log(tableLine(t))
    return 0
  } catch (e) {
    if (e instanceof LakeTableError) {
      // The table refused (unreadable metadata, a missing file): said plainly, the table as it was.
      console.error(`compact: ${e.code}: ${e.message}`)
      return 1
    }
    if (!(e instanceof DomainError)) throw e
    console.error(`compact: ${e.message}`)
    return e.code === 'CONFLICT' ? 1 : 2
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await catalog.close()
  }
}

function numberOption(name: string, value: string | undefined, byDefault: number): number {
  if (value === undefined) return byDefault
  const n = Number(value)
  if (!value.trim() || !Number.isFinite(n)) throw new UsageError(`${name} must be a number`)
  return n
}

function tableLine(t: TableCompaction): string {
  const expiry = t.expiryRefused ? `table ${t.tablePath}: snapshots not expired: ${t.expiryRefused}` : expiryLine(t.expiry)
  const compacted =
    t.snapshotId === null
      ? `table ${t.tablePath}: nothing to compact (${t.filesBefore} data file(s), ${t.rows} rows; no group of enough small files${t.skippedWithDeletes ? `, ${t.skippedWithDeletes} small file(s) have deletes` : ''})`
      : `table ${t.tablePath}: ${t.filesBefore} → ${t.filesAfter} data file(s) (${t.rewrittenFiles} rewritten into ${t.addedFiles}${t.removedDeleteFiles ? `, ${t.removedDeleteFiles} delete file(s) applied` : ''}), ${t.rows} rows, snapshot ${t.snapshotId}`
  return expiry ? `${compacted}\n${expiry}` : compacted
}
