/**
 * The current-state table (issue 13 point 2): the SAP table as it is now, kept from the runs' own
 * files by merge-on-read, with no copy of data (docs/architecture.md#lake-tables, "Current-state
 * table"). A run's change-log files become data files of this table too; its commit adds
 * - one equality delete file on the key holding every key the run touched: at the commit's sequence
 *   number N it removes those keys' rows from every older data file (sequence < N), not the run's own;
 * - one position delete file naming every row of the run's files that is not its key's final after
 *   image (before images, superseded images, D rows): position deletes apply at sequence <= N.
 * A full load replaces the table (earlier files leave the snapshot) and deletes only rows of a key
 * the load holds twice. The run engine calls this after the change-log commit; it does not retry a
 * LakeCommitConflictError itself (the caller plans again), and removes everything it wrote when it
 * gets one.
 */
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Column, Row } from '../../sap/fields.js'
import type { Destination } from '../../storage/destination.js'
import { ParquetRoller } from '../../transform/index.js'
import { equalityDeleteLayout, POSITION_DELETE_COLUMNS, positionDeleteParquetOptions } from './deletes.js'
import { LakeCommitConflictError, LakeTableError } from './errors.js'
import { tableUris } from './locations.js'
import type { TableParquetOptions } from './parquet-ids.js'
import { deletedPositions, readRunImages } from './run-images.js'
import {
  commitSnapshot,
  planTableWrite,
  snapshotOfRun,
  type CommitFile,
  type RunSummary,
  type SchemaSeed,
  type TablePlan,
} from './table.js'
import { versionHintKey } from './table-files.js'
import { FileContent } from './types.js'

export interface CurrentStateRun {
  runId: string
  /** FULL replaces the table; DELTA applies C/U/D images by key. */
  mode: 'FULL' | 'DELTA'
  /** The run's Parquet files in delivery order (written with the table's field ids). */
  files: readonly CommitFile[]
  /** The columns of those files (with ODQ_CHANGEMODE and ODQ_ENTITYCNTR). */
  columns: readonly Column[]
  /** The SAP key, in the table's identifier-field order; checked against the table's schema. */
  keyColumns: readonly string[]
  summary?: Omit<RunSummary, 'runId'>
  properties?: Record<string, string>
  /** The schema a new table starts from (the change-log table's, whose field ids the files carry). */
  seed?: SchemaSeed
  /**
   * A FULL load whose keys the source guarantees unique (SAP delivers a keyed table's rows once) is
   * not read back: with no key twice there is nothing to delete, and reading a whole table back would
   * double the commit's traffic. Without it, a FULL load is read like a delta and a key held twice
   * keeps its later row.
   */
  fullLoadKeysUnique?: boolean
  /**
   * A DELTA continues from this run: the table's last applied run (LAST_RUN_PROPERTY) must be it,
   * else LAKE_OUT_OF_STEP and nothing is written. Checked at the commit, not only when the run was
   * planned: a table removed or changed meanwhile must not be re-created holding one delta.
   * Undefined: not checked (library callers that keep their own chain).
   */
  continuesFrom?: string | null
  signal?: AbortSignal
  now?: () => number
}

export interface CurrentStateResult {
  snapshotId: number
  sequenceNumber: number
  /** The version committed, or null when the run's snapshot was already there (rolled forward). */
  version: number | null
  keysTouched: number
  rowsDeleted: number
}

const DELETE_ROWS_PER_BATCH = 10_000

/** Table property naming the last run applied: the run engine checks a delta continues from it. */
export const LAST_RUN_PROPERTY = 'delta-extractor.last-run-id'
/** Table property holding the key the table is merged by (JSON list of column names). */
const KEY_PROPERTY = 'delta-extractor.key'

/**
 * The key a run merges by must be the one the table was merged by so far, and must hold every
 * identifier field of the schema (the required key columns): a narrower key would merge rows SAP keeps
 * apart. It may hold more (key columns OData declares nullable are not identifier fields).
 */
function checkKey(tablePath: string, plan: TablePlan, keyColumns: readonly string[]): void {
  const recorded = plan.base?.metadata.properties[KEY_PROPERTY]
  if (recorded !== undefined && recorded !== JSON.stringify(keyColumns))
    throw new LakeTableError('LAKE_INPUT', `table ${tablePath} is merged by the key ${recorded}, the run by ${JSON.stringify(keyColumns)}`)
  const identifiers = (plan.schema['identifier-field-ids'] ?? []).map((id) => plan.schema.fields.find((f) => f.id === id)?.name)
  const missing = identifiers.filter((name) => !name || !keyColumns.includes(name))
  if (missing.length)
    throw new LakeTableError('LAKE_INPUT', `key columns ${keyColumns.join(', ')} leave out the table's key field(s) ${missing.join(', ')}`)
}

/** Where the table's own delete files go: under the table, so expiry may own `<table>/data`; one name per attempt. */
const deleteFileKey = (tablePath: string, runId: string, attempt: string, kind: string, i: number) =>
  `${tablePath}/data/${encodeURIComponent(runId)}-${attempt}-${kind}-${String(i).padStart(5, '0')}.parquet`

async function writeDeleteFile(
  destination: Destination,
  key: (i: number) => string,
  columns: Column[],
  parquet: TableParquetOptions,
  rows: Iterable<Row>,
  written: string[],
  signal?: AbortSignal,
): Promise<CommitFile[]> {
  const dir = await mkdtemp(join(tmpdir(), 'de-current-'))
  try {
    const roller = new ParquetRoller(columns, {
      dir,
      fileName: (i) => `part-${i}.parquet`,
      compression: 'SNAPPY',
      rowGroupRows: 100_000,
      maxFileBytes: 512 * 1024 * 1024,
      kvMetadata: parquet.kvMetadata,
      fieldIds: parquet.fieldIds,
      timestampUnit: parquet.timestampUnit,
    })
    const done = []
    let batch: Row[] = []
    for (const row of rows) {
      batch.push(row)
      if (batch.length >= DELETE_ROWS_PER_BATCH) {
        done.push(...(await roller.write(batch)))
        batch = []
      }
    }
    done.push(...(await roller.write(batch)), ...(await roller.finish()))
    const files: CommitFile[] = []
    for (const [i, f] of done.entries()) {
      if (!f.rows) continue
      written.push(key(i))
      const { bytes } = await destination.putFile(key(i), f.localPath, signal, { sha256: f.sha256 })
      files.push({ key: key(i), recordCount: f.rows, sizeBytes: bytes })
    }
    return files
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * Commits one run to the current-state table at `tablePath`. A run whose snapshot is already there
 * (a retry after an ambiguous commit) is not applied twice: its snapshot is returned.
 */
export async function applyRunToCurrentState(
  destination: Destination,
  tablePath: string,
  run: CurrentStateRun,
): Promise<CurrentStateResult> {
  const { signal } = run
  if (run.mode !== 'FULL' && run.mode !== 'DELTA')
    throw new LakeTableError('LAKE_INPUT', `mode ${String(run.mode)} is neither FULL nor DELTA`)
  const plan = await planTableWrite(destination, tablePath, run.columns, signal, run.seed)
  const done = plan.base && snapshotOfRun(plan.base.metadata, run.runId)
  if (done) {
    // The commit happened but may have stopped before the version hint moved: readers start there.
    await destination.putText(versionHintKey(tablePath), String(plan.base?.version), signal)
    return { snapshotId: done['snapshot-id'], sequenceNumber: done['sequence-number'], version: null, keysTouched: 0, rowsDeleted: 0 }
  }

  if (run.mode === 'DELTA' && run.continuesFrom !== undefined) {
    const last = plan.base?.metadata.properties[LAST_RUN_PROPERTY] ?? null
    if (!last || last !== run.continuesFrom)
      throw new LakeTableError(
        'LAKE_OUT_OF_STEP',
        `table ${tablePath} ${last ? `ends at run ${last}` : 'does not exist'}, but run ${run.runId} continues from run ${run.continuesFrom}: applied on top, it would miss changes`,
      )
  }
  const layout = equalityDeleteLayout(plan.schema, run.columns, run.keyColumns)
  checkKey(tablePath, plan, run.keyColumns)

  const images =
    run.mode === 'FULL' && run.fullLoadKeysUnique
      ? { touchedKeys: [], kept: [], rowCounts: [], fieldIds: new Map<string, number>(), readBack: false }
      : { ...(await readRunImages(destination, run.files, run.keyColumns, signal)), readBack: true }
  // Position deletes are computed from the rows read; the manifest records the caller's counts.
  if (images.readBack)
    run.files.forEach((f, i) => {
      if (images.rowCounts[i] !== f.recordCount)
        throw new LakeTableError('LAKE_INPUT', `run file ${f.key} holds ${images.rowCounts[i]} rows, the run says ${f.recordCount}`)
    })
  // The run's files become data files of this table as they are: their field ids must be the plan's.
  run.columns.forEach((c, i) => {
    const id = images.fieldIds.get(c.name)
    if (id !== undefined && id !== plan.parquet.fieldIds[i])
      throw new LakeTableError(
        'LAKE_SCHEMA_INCOMPATIBLE',
        `table ${tablePath}: the run's files give ${c.name} field id ${id}, the table ${plan.parquet.fieldIds[i]}`,
      )
  })

  const written: string[] = []
  // This attempt's own names: a second applier of the same run (the worker and the sweep, two
  // sweeping processes) never writes, nor on a conflict removes, the files of the one that commits.
  const attempt = randomUUID().slice(0, 8)
  let attempted = false
  try {
    const deletes: CommitFile[] = []
    // A full load replaces everything: no older row is left to delete by key.
    if (run.mode === 'DELTA' && images.touchedKeys.length) {
      const eq = await writeDeleteFile(
        destination,
        (i) => deleteFileKey(tablePath, run.runId, attempt, 'eq-deletes', i),
        layout.columns,
        layout.parquet,
        images.touchedKeys,
        written,
        signal,
      )
      deletes.push(...eq.map((f) => ({ ...f, content: FileContent.EQUALITY_DELETES, equalityIds: layout.equalityIds })))
    }
    // The data files' paths exactly as commitSnapshot records them in this table.
    const uriOf = tableUris(destination, tablePath, plan.base?.metadata)
    // Position delete rows sorted by file path, then position (spec "Position Delete Files").
    const byPath = run.files.map((f, i) => ({ uri: uriOf(f.key), i })).sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0))
    let rowsDeleted = 0
    function* positions(): Generator<Row> {
      for (const { uri, i } of byPath)
        for (const pos of deletedPositions(images.rowCounts[i], images.kept[i])) {
          rowsDeleted++
          yield [uri, BigInt(pos)]
        }
    }
    const pos = !images.readBack
      ? []
      : await writeDeleteFile(
          destination,
          (i) => deleteFileKey(tablePath, run.runId, attempt, 'pos-deletes', i),
          POSITION_DELETE_COLUMNS,
          positionDeleteParquetOptions(),
          positions(),
          written,
          signal,
        )
    deletes.push(...pos.map((f) => ({ ...f, content: FileContent.POSITION_DELETES })))

    const committed = await commitSnapshot(destination, plan, {
      onCommitPoint: () => {
        attempted = true
      },
      files: [...run.files.map((f) => ({ ...f, content: FileContent.DATA })), ...deletes],
      summary: {
        runId: run.runId,
        ...run.summary,
        extra: { ...run.summary?.extra, 'delta-extractor.current-state-mode': run.mode },
      },
      properties: {
        'delta-extractor.table': 'current-state',
        [LAST_RUN_PROPERTY]: run.runId,
        [KEY_PROPERTY]: JSON.stringify(run.keyColumns),
        ...run.properties,
      },
      replace: run.mode === 'FULL',
      signal,
      now: run.now,
    })
    return {
      snapshotId: committed.snapshotId,
      sequenceNumber: committed.sequenceNumber,
      version: committed.version,
      keysTouched: images.touchedKeys.length,
      rowsDeleted,
    }
  } catch (e) {
    // Refused at the commit point, or failed before it: no version names these delete files. After
    // any other failure inside commitSnapshot they stay, as its own manifests do: the version may
    // still appear (a request the store completes after the client gave up) and name them. Unnamed,
    // they are only unreferenced objects under the table's data/.
    if (!attempted || e instanceof LakeCommitConflictError) await Promise.all(written.map((k) => destination.remove(k).catch(() => {})))
    throw e
  }
}
