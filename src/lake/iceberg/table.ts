/**
 * Reading a table's current version and committing the next one on a Destination
 * (docs/architecture.md#lake-tables). The commit point is `metadata/v{N+1}.metadata.json`, created
 * only if absent (Destination.putTextIfAbsent), so of two writers that both start from version N
 * exactly one commits N+1; the other gets LakeCommitConflictError and nothing of it is visible.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Column } from '../../sap/fields.js'
import type { Destination } from '../../storage/destination.js'
import { commitVersion } from './commit-version.js'
import { LakeCommitConflictError, LakeTableError } from './errors.js'
import {
  addedManifest,
  decodeManifestList,
  encodeManifest,
  encodeManifestList,
  type ManifestFileRecord,
  type TableFile,
} from './manifest.js'
import { currentSchema, currentSnapshot, newSnapshotId, newTableMetadata, UNPARTITIONED, withSnapshot } from './metadata.js'
import { parquetOptionsFor, type TableParquetOptions } from './parquet-ids.js'
import { tableUris } from './locations.js'
import { evolveSchema, initialSchema, schemaHash, type SchemaDiff } from './schema.js'
import { manifestKey, manifestListKey, metadataKey, metadataKeyOfUri, versionHintKey } from './table-files.js'
import { FileContent, ManifestContent, type IcebergSchema, type Snapshot, type SnapshotOperation, type TableMetadata } from './types.js'

/** A table as read: its newest version number and that version's metadata. */
export interface LoadedTable {
  version: number
  metadata: TableMetadata
}

async function readMetadata(
  destination: Destination,
  tablePath: string,
  version: number,
  signal?: AbortSignal,
): Promise<TableMetadata | null> {
  const text = await destination.getText(metadataKey(tablePath, version), signal)
  if (text === null) return null
  let metadata: TableMetadata
  try {
    metadata = JSON.parse(text) as TableMetadata
  } catch (e) {
    throw new LakeTableError('LAKE_TABLE_INVALID', `table ${tablePath}: v${version}.metadata.json is not JSON`, { cause: e })
  }
  if (metadata['format-version'] !== 2)
    throw new LakeTableError(
      'LAKE_TABLE_INVALID',
      `table ${tablePath}: format version ${metadata['format-version']}, this writer keeps v2 tables`,
    )
  return metadata
}

/**
 * The newest version of the table, or null when there is none. The version hint is where readers
 * start, but a writer may have committed vN+1 and stopped before moving the hint: versions after the
 * hint are probed until one is missing, so the newest committed version is always found.
 */
export async function loadTable(destination: Destination, tablePath: string, signal?: AbortSignal): Promise<LoadedTable | null> {
  const hint = await destination.getText(versionHintKey(tablePath), signal)
  let version = 0
  if (hint !== null) {
    version = Number(hint.trim())
    if (!Number.isSafeInteger(version) || version < 1)
      throw new LakeTableError('LAKE_TABLE_INVALID', `table ${tablePath}: version-hint.text holds ${JSON.stringify(hint.slice(0, 40))}`)
  }
  let metadata = version ? await readMetadata(destination, tablePath, version, signal) : null
  if (version && !metadata)
    throw new LakeTableError('LAKE_TABLE_INVALID', `table ${tablePath}: the version hint names v${version}, which does not exist`)
  for (;;) {
    const next = await readMetadata(destination, tablePath, version + 1, signal)
    if (!next) break
    version++
    metadata = next
  }
  return metadata ? { version, metadata } : null
}

/** What a run needs before it writes files: the schema they belong to and the Parquet options for it. */
export interface TablePlan {
  tablePath: string
  /** The version the commit builds on (null: the commit creates the table). */
  base: LoadedTable | null
  schema: IcebergSchema
  lastColumnId: number
  /** How the columns differ from the table's schema (all empty for a new table). */
  diff: SchemaDiff
  /** For ParquetRoller: `fieldIds`, `kvMetadata` (iceberg.schema) and `timestampUnit` (MICROS). */
  parquet: TableParquetOptions
}

/**
 * Plans a write of files with `columns` into the table: loads the newest version and evolves its
 * schema (new columns become optional fields with new ids). Incompatible type changes are refused
 * (LAKE_SCHEMA_INCOMPATIBLE, naming them); removed columns are reported in `diff.removed` for the
 * caller's schema policy to judge, and kept in the table.
 */
export async function planTableWrite(
  destination: Destination,
  tablePath: string,
  columns: readonly Column[],
  signal?: AbortSignal,
  seed?: SchemaSeed,
): Promise<TablePlan> {
  const base = await loadTable(destination, tablePath, signal)
  if (!base && seed) return planOnSchema(tablePath, null, seed.schema, seed.lastColumnId, columns)
  if (!base) {
    const { schema, lastColumnId } = initialSchema(columns)
    return {
      tablePath,
      base,
      schema,
      lastColumnId,
      diff: { added: [], removed: [], promoted: [], incompatible: [] },
      parquet: parquetOptionsFor(schema, columns),
    }
  }
  return planOnSchema(tablePath, base, currentSchema(base.metadata), base.metadata['last-column-id'], columns)
}

/**
 * The schema a table that does not exist yet starts from, instead of ids 1…n: another table's, so
 * files written for that table carry the right field ids in this one too (the current-state table
 * takes the change-log table's files as they are).
 */
export interface SchemaSeed {
  schema: IcebergSchema
  lastColumnId: number
}

function planOnSchema(
  tablePath: string,
  base: LoadedTable | null,
  current: IcebergSchema,
  lastColumnId: number,
  columns: readonly Column[],
): TablePlan {
  const evolved = evolveSchema(current, lastColumnId, columns)
  if (evolved.diff.incompatible.length)
    throw new LakeTableError(
      'LAKE_SCHEMA_INCOMPATIBLE',
      `table ${tablePath}: the columns changed in ways the table cannot take: ${evolved.diff.incompatible.join('; ')}`,
    )
  const schema = evolved.schema ?? current
  return { tablePath, base, schema, lastColumnId: evolved.lastColumnId, diff: evolved.diff, parquet: parquetOptionsFor(schema, columns) }
}

/** What the run engine records in the snapshot summary (strings in Iceberg's summary map). */
export interface RunSummary {
  runId: string
  deltaTokenIn?: string | null
  deltaTokenOut?: string | null
  /** Further `delta-extractor.*` entries. */
  extra?: Record<string, string>
}

/** Snapshot summary keys this writer adds beside Iceberg's own. */
export const SUMMARY_KEYS = {
  runId: 'delta-extractor.run-id',
  deltaTokenIn: 'delta-extractor.delta-token-in',
  deltaTokenOut: 'delta-extractor.delta-token-out',
  schemaHash: 'delta-extractor.schema-hash',
} as const

/** A file the run wrote, by destination key (the run's own files: no second copy is made). */
export interface CommitFile {
  key: string
  recordCount: number
  sizeBytes: number
  content?: FileContent
  equalityIds?: number[]
}

export interface CommitRequest {
  files: readonly CommitFile[]
  summary: RunSummary
  /** Table properties this commit sets (a new table gets them beside the defaults; an existing table's are updated). */
  properties?: Record<string, string>
  /**
   * The snapshot replaces the table's content instead of adding to it (a full load into the
   * current-state table): earlier manifests are not carried into it.
   */
  replace?: boolean
  signal?: AbortSignal
  /** Clock for snapshot and metadata timestamps (tests). */
  now?: () => number
  /**
   * Called just before the commit point: from then on a failure may hide a commit that happened, so
   * a caller that wrote files the version names (delete files) must keep them unless refused.
   */
  onCommitPoint?: () => void
}

export interface CommittedSnapshot {
  version: number
  snapshotId: number
  sequenceNumber: number
  schemaId: number
  /** Destination key of the metadata file that is the commit point. */
  metadataKey: string
}

function totals(previous: Snapshot | null, files: readonly TableFile[], replace: boolean): Record<string, string> {
  const prev = (key: string) => (previous && !replace ? Number(previous.summary[key] ?? 0) : 0)
  const sum = (pick: (f: TableFile) => boolean, value: (f: TableFile) => number) => files.filter(pick).reduce((n, f) => n + value(f), 0)
  const data = (f: TableFile) => f.content === FileContent.DATA
  const eq = (f: TableFile) => f.content === FileContent.EQUALITY_DELETES
  const pos = (f: TableFile) => f.content === FileContent.POSITION_DELETES
  const deletes = (f: TableFile) => !data(f)
  const count = () => 1
  const added = {
    'added-data-files': sum(data, count),
    'added-records': sum(data, (f) => f.recordCount),
    'added-files-size': sum(
      () => true,
      (f) => f.sizeBytes,
    ),
    'added-delete-files': sum(deletes, count),
    'added-equality-deletes': sum(eq, (f) => f.recordCount),
    'added-position-deletes': sum(pos, (f) => f.recordCount),
  }
  return Object.fromEntries(
    Object.entries({
      ...added,
      'total-data-files': prev('total-data-files') + added['added-data-files'],
      'total-records': prev('total-records') + added['added-records'],
      'total-files-size': prev('total-files-size') + added['added-files-size'],
      'total-delete-files': prev('total-delete-files') + added['added-delete-files'],
      'total-equality-deletes': prev('total-equality-deletes') + added['added-equality-deletes'],
      'total-position-deletes': prev('total-position-deletes') + added['added-position-deletes'],
    }).map(([k, v]) => [k, String(v)]),
  )
}

function operationOf(files: readonly TableFile[], replace: boolean): SnapshotOperation {
  if (replace) return 'overwrite'
  const deletes = files.some((f) => f.content !== FileContent.DATA)
  const data = files.some((f) => f.content === FileContent.DATA)
  return deletes ? (data ? 'overwrite' : 'delete') : 'append'
}

/**
 * Commits one snapshot with the run's files on top of `plan.base`: writes its manifests and manifest
 * list, then creates `v{N+1}.metadata.json` if absent, then moves the version hint. When the table has
 * moved past the plan's version (another writer committed first), throws LakeCommitConflictError,
 * removes what this attempt wrote, and the caller plans again. Files keep the field ids the plan gave
 * them, so a retry must plan again before it writes new files; these files stay valid as long as
 * the new plan assigns them the same ids.
 */
export async function commitSnapshot(destination: Destination, plan: TablePlan, request: CommitRequest): Promise<CommittedSnapshot> {
  const { tablePath } = plan
  const signal = request.signal
  const now = request.now?.() ?? Date.now()
  const replace = request.replace ?? false
  const uriOf = tableUris(destination, tablePath, plan.base?.metadata)
  const files: TableFile[] = request.files.map((f) => ({
    content: f.content ?? FileContent.DATA,
    path: uriOf(f.key),
    recordCount: f.recordCount,
    sizeBytes: f.sizeBytes,
    ...(f.equalityIds ? { equalityIds: f.equalityIds } : {}),
  }))
  const base = plan.base?.metadata ?? newTableMetadata(uriOf(tablePath), plan.schema, plan.lastColumnId, request.properties ?? {}, now)
  const version = (plan.base?.version ?? 0) + 1
  const previous = plan.base ? currentSnapshot(plan.base.metadata) : null
  const snapshotId = newSnapshotId()
  const sequenceNumber = base['last-sequence-number'] + 1

  const written: string[] = []
  /** Set once the commit point is attempted: from then on a failure may hide a commit that happened. */
  let attempted = false
  const put = async (key: string, bytes: Buffer) => {
    written.push(key)
    await putBytes(destination, key, bytes, signal)
  }
  try {
    const manifests: ManifestFileRecord[] = []
    if (previous && !replace) {
      const key = metadataKeyOfUri(tablePath, previous['manifest-list'])
      const bytes = await destination.getBytes(key, signal)
      if (!bytes)
        throw new LakeTableError('LAKE_TABLE_INVALID', `table ${tablePath}: the current snapshot's manifest list ${key} is missing`)
      manifests.push(...(await decodeManifestList(bytes, key)))
    }
    const groups = [
      { content: ManifestContent.DATA, files: files.filter((f) => f.content === FileContent.DATA) },
      { content: ManifestContent.DELETES, files: files.filter((f) => f.content !== FileContent.DATA) },
    ]
    for (const [n, group] of groups.entries()) {
      if (!group.files.length) continue
      const key = manifestKey(tablePath, snapshotId, n)
      const bytes = await encodeManifest(group.files, group.content, plan.schema, UNPARTITIONED)
      await put(key, bytes)
      manifests.push(
        addedManifest(uriOf(key), bytes.length, group.content, group.files, snapshotId, sequenceNumber, UNPARTITIONED['spec-id']),
      )
    }
    const listKey = manifestListKey(tablePath, snapshotId)
    await put(listKey, await encodeManifestList(manifests, { snapshotId, parentSnapshotId: previous?.['snapshot-id'], sequenceNumber }))

    const summary = {
      operation: operationOf(files, replace),
      ...totals(previous, files, replace),
      ...request.summary.extra,
      [SUMMARY_KEYS.runId]: request.summary.runId,
      ...(request.summary.deltaTokenIn != null ? { [SUMMARY_KEYS.deltaTokenIn]: request.summary.deltaTokenIn } : {}),
      ...(request.summary.deltaTokenOut != null ? { [SUMMARY_KEYS.deltaTokenOut]: request.summary.deltaTokenOut } : {}),
      [SUMMARY_KEYS.schemaHash]: schemaHash(plan.schema),
    }
    const next = withSnapshot(request.properties ? { ...base, properties: { ...base.properties, ...request.properties } } : base, {
      snapshotId,
      manifestList: uriOf(listKey),
      summary,
      schema: plan.schema,
      lastColumnId: plan.lastColumnId,
      previousMetadataFile: plan.base ? uriOf(metadataKey(tablePath, plan.base.version)) : undefined,
      now,
    })
    attempted = true
    request.onCommitPoint?.()
    // The hint only speeds readers up; loadTable probes past a stale one, so commitVersion does not
    // report a failure to move it as a failed commit.
    await commitVersion(destination, tablePath, version, next, signal)
  } catch (e) {
    // Before the commit point, or refused at it, nothing names these objects: remove them, best
    // effort. After an ambiguous failure at the commit point they stay: the version may exist and
    // name them (the caller finds out with findRunSnapshot).
    if (!attempted || e instanceof LakeCommitConflictError) await Promise.all(written.map((k) => destination.remove(k).catch(() => {})))
    throw e
  }
  return { version, snapshotId, sequenceNumber, schemaId: plan.schema['schema-id'], metadataKey: metadataKey(tablePath, version) }
}

/**
 * Plans and commits in one call, for a caller whose files do not depend on the plan (e.g. written
 * with field ids already known to match). Throws LakeCommitConflictError like commitSnapshot.
 */
export async function appendSnapshot(
  destination: Destination,
  tablePath: string,
  columns: readonly Column[],
  request: CommitRequest,
): Promise<CommittedSnapshot> {
  const plan = await planTableWrite(destination, tablePath, columns, request.signal)
  return commitSnapshot(destination, plan, request)
}

/** The snapshot a run committed, if any: how a run found lost after its commit is rolled forward. */
export async function findRunSnapshot(
  destination: Destination,
  tablePath: string,
  runId: string,
  signal?: AbortSignal,
): Promise<Snapshot | null> {
  const table = await loadTable(destination, tablePath, signal)
  return table ? snapshotOfRun(table.metadata, runId) : null
}

/** The snapshot whose summary names the run, in metadata already read. */
export const snapshotOfRun = (metadata: TableMetadata, runId: string): Snapshot | null =>
  metadata.snapshots.find((s) => s.summary[SUMMARY_KEYS.runId] === runId) ?? null

/** Small binary objects go through a scratch file: Destination stores files and text, and Avro is neither. */
export async function putBytes(destination: Destination, key: string, bytes: Buffer, signal?: AbortSignal): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'de-iceberg-'))
  try {
    const path = join(dir, 'object')
    await writeFile(path, bytes)
    await destination.putFile(key, path, signal)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
