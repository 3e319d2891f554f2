/**
 * Compaction (issue 13 point 4, docs/architecture.md#lake-maintenance): rewrites the table's small
 * data files into fewer large ones as one `replace` snapshot with the same rows — the old files
 * DELETED, the new ones ADDED — committed through the only-if-absent commit point.
 *
 * Delete files: only data files no delete file applies to are compacted (spec "Scan Planning": an
 * equality delete applies to data files of a lower data sequence number, a position delete to those
 * of a lower or equal one, unless it names another file). The new files get the new snapshot's
 * sequence number; since no delete applied to their inputs, none applies to them either, and every
 * later delete (higher sequence number) applies to them as it would have to the inputs.
 *
 * Streaming: one input file is held at a time (they are the small ones), read a row group at a time,
 * and rows go to the project's ParquetRoller, which writes row groups to a staging folder and hands
 * back finished files, uploaded at once. Files are grouped by their exact column layout and field
 * ids, so each output file has one schema.
 *
 * Timestamps: outputs are written in the table's unit (MICROS, parquet-ids.ts), whatever the inputs'
 * unit. Files of a table written before MICROS hold MILLIS; the values read back are the same instants
 * (JS Dates), so rewriting them in MICROS changes no value and brings old files to the spec's unit, and
 * MILLIS and MICROS files of one schema share output files (the unit is not part of a group's layout).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Destination } from '../../storage/destination.js'
import type { Compression } from '../../transform/compression.js'
import { ParquetRoller } from '../../transform/roller.js'
import { commitVersion } from './commit-version.js'
import { LakeCommitConflictError, LakeTableError } from './errors.js'
import { addedManifest, encodeManifest, encodeManifestList, type ManifestFileRecord, type TableFile } from './manifest.js'
import { rewriteManifest } from './manifest-rewrite.js'
import { currentSchema, currentSnapshot, newSnapshotId, UNPARTITIONED, withSnapshot } from './metadata.js'
import { tableUris } from './locations.js'
import { keyOfUri } from './owned-files.js'
import { TABLE_TIMESTAMP_UNIT } from './parquet-ids.js'
import { openDataFile, type DataFileLayout } from './parquet-rows.js'
import { readSnapshotFiles, STATUS_DELETED, type ManifestEntry } from './snapshot-files.js'
import { loadTable, putBytes, SUMMARY_KEYS } from './table.js'
import { manifestKey, manifestListKey, metadataKey } from './table-files.js'
import { schemaHash } from './schema.js'
import { FileContent, ManifestContent, type Snapshot } from './types.js'

export interface CompactOptions {
  /** Output files close once they reach about this size; inputs at least this big are left alone. */
  targetFileMb: number
  /** A group of fewer small files than this is left alone (at least 2). */
  minInputFiles: number
  /**
   * Destination key of the n-th file this compaction writes. Default `<table>/data/compact-<snapshot>-<n>.parquet`:
   * under the table, so expiry may own them (`ownedPrefixes: ['<table>/data']`).
   */
  writeFile?: (snapshotId: number, index: number) => string
  /** Rows per row group of the new files (default 100 000). */
  rowGroupRows?: number
  compression?: Compression
  signal?: AbortSignal
  now?: () => number
}

export interface CompactResult {
  /** The version committed, or null when no group had enough small files. */
  version: number | null
  snapshotId: number | null
  /** URIs of the data files the snapshot removed from the table (they stay on the destination until expiry). */
  rewritten: string[]
  /** Keys of the new data files. */
  added: string[]
  /** Small data files left alone because a delete file applies to them. */
  skippedWithDeletes: number
}

function checkOptions(o: CompactOptions): void {
  if (!(Number.isFinite(o.targetFileMb) && o.targetFileMb > 0))
    throw new LakeTableError('LAKE_INPUT', `targetFileMb ${o.targetFileMb} must be a positive number`)
  if (!Number.isSafeInteger(o.minInputFiles) || o.minInputFiles < 2)
    throw new LakeTableError('LAKE_INPUT', `minInputFiles ${o.minInputFiles} must be a whole number of at least 2`)
  if (o.rowGroupRows !== undefined && (!Number.isSafeInteger(o.rowGroupRows) || o.rowGroupRows < 1))
    throw new LakeTableError('LAKE_INPUT', `rowGroupRows ${o.rowGroupRows} must be a positive whole number`)
}

/** Whether any delete file may apply to the data file (spec "Scan Planning"; tables are unpartitioned). */
function deletesApply(data: ManifestEntry, deletes: readonly ManifestEntry[]): boolean {
  return deletes.some((d) =>
    d.content === FileContent.EQUALITY_DELETES
      ? d.sequenceNumber > data.sequenceNumber
      : d.sequenceNumber >= data.sequenceNumber && (d.referencedDataFile === null || d.referencedDataFile === data.path),
  )
}

async function readInput(destination: Destination, entry: ManifestEntry, signal?: AbortSignal) {
  const key = keyOfUri(destination, entry.path)
  if (!key) throw new LakeTableError('LAKE_TABLE_INVALID', `data file ${entry.path} is not on this destination`)
  const bytes = await destination.getBytes(key, signal)
  if (!bytes) throw new LakeTableError('LAKE_TABLE_INVALID', `data file ${entry.path} is missing`)
  return openDataFile(bytes, entry.path)
}

/** Compacts the current snapshot's small data files. Throws LakeCommitConflictError when a run committed meanwhile; nothing of the compaction stays then. */
export async function compact(destination: Destination, tablePath: string, options: CompactOptions): Promise<CompactResult> {
  checkOptions(options)
  const { signal } = options
  const targetBytes = Math.round(options.targetFileMb * 1024 * 1024)
  const table = await loadTable(destination, tablePath, signal)
  const current = table ? currentSnapshot(table.metadata) : null
  if (!table || !current) throw new LakeTableError('LAKE_INPUT', `table ${tablePath} does not exist or has no snapshot`)
  const files = await readSnapshotFiles(destination, tablePath, current, signal)
  const live = files.manifests.flatMap((m) => m.entries.filter((e) => e.status !== STATUS_DELETED))
  const deletes = live.filter((e) => e.content !== FileContent.DATA)
  const small = live.filter((e) => e.content === FileContent.DATA && e.sizeBytes < targetBytes)
  const eligible = small.filter((e) => !deletesApply(e, deletes))
  const nothing = { version: null, snapshotId: null, rewritten: [], added: [], skippedWithDeletes: small.length - eligible.length }

  // Group by layout: read footers one file at a time (the bytes are dropped after the footer is read).
  const groups = new Map<string, { layout: DataFileLayout; entries: ManifestEntry[] }>()
  for (const e of eligible) {
    const { layout } = await readInput(destination, e, signal)
    const g = groups.get(layout.signature) ?? { layout, entries: [] }
    g.entries.push(e)
    groups.set(layout.signature, g)
  }
  const chosen = [...groups.values()].filter((g) => g.entries.length >= options.minInputFiles)
  if (!chosen.length) return nothing

  const uriOf = tableUris(destination, tablePath, table.metadata)
  const snapshotId = newSnapshotId()
  const sequenceNumber = table.metadata['last-sequence-number'] + 1
  const keyOf = options.writeFile ?? ((id: number, n: number) => `${tablePath}/data/compact-${id}-${String(n).padStart(5, '0')}.parquet`)
  const written: string[] = []
  const added: TableFile[] = []
  const addedKeys: string[] = []
  let attempted = false
  const staging = await mkdtemp(join(tmpdir(), 'de-compact-'))
  try {
    for (const [groupIndex, group] of chosen.entries()) {
      const roller = new ParquetRoller(group.layout.columns, {
        dir: staging,
        fileName: (i) => `group-${groupIndex}-${i}.parquet`,
        compression: options.compression ?? 'SNAPPY',
        rowGroupRows: options.rowGroupRows ?? 100_000,
        maxFileBytes: targetBytes,
        kvMetadata: { 'iceberg.schema': group.layout.icebergSchema },
        fieldIds: group.layout.fieldIds,
        timestampUnit: TABLE_TIMESTAMP_UNIT,
      })
      const upload = async (done: Awaited<ReturnType<ParquetRoller['finish']>>) => {
        for (const f of done) {
          const key = keyOf(snapshotId, added.length)
          written.push(key)
          const { bytes } = await destination.putFile(key, f.localPath, signal, { sha256: f.sha256 })
          await rm(f.localPath, { force: true })
          added.push({ content: FileContent.DATA, path: uriOf(key), recordCount: f.rows, sizeBytes: bytes })
          addedKeys.push(key)
        }
      }
      try {
        for (const entry of group.entries) {
          const input = await readInput(destination, entry, signal)
          let rows = 0
          for (let g = 0; g < input.rowGroups; g++) {
            const batch = await input.readRowGroup(g)
            rows += batch.length
            await upload(await roller.write(batch))
          }
          // The manifest's record count is the promise the rewrite keeps: every row, once.
          if (rows !== entry.recordCount)
            throw new LakeTableError('LAKE_TABLE_INVALID', `${entry.path}: read ${rows} rows, the manifest lists ${entry.recordCount}`)
        }
        await upload(await roller.finish())
      } catch (e) {
        await roller.abort()
        throw e
      }
    }
    const rewritten = new Set(chosen.flatMap((g) => g.entries.map((e) => e.path)))
    const rowsIn = chosen.flatMap((g) => g.entries).reduce((n, e) => n + e.recordCount, 0)
    const rowsOut = added.reduce((n, f) => n + f.recordCount, 0)
    if (rowsIn !== rowsOut) throw new LakeTableError('LAKE_TABLE_INVALID', `compaction read ${rowsIn} rows but wrote ${rowsOut}`)

    const schema = currentSchema(table.metadata)
    const manifests: ManifestFileRecord[] = []
    let n = 0
    for (const m of files.manifests) {
      if (!m.entries.some((e) => e.status !== STATUS_DELETED && rewritten.has(e.path))) {
        manifests.push(m.record)
        continue
      }
      const key = manifestKey(tablePath, snapshotId, n++)
      const { bytes, record } = await rewriteManifest(m, rewritten, snapshotId, sequenceNumber, schema, UNPARTITIONED, uriOf(key))
      written.push(key)
      await putBytes(destination, key, bytes, signal)
      manifests.push(record)
    }
    const addedKey = manifestKey(tablePath, snapshotId, n)
    const addedBytes = await encodeManifest(added, ManifestContent.DATA, schema, UNPARTITIONED)
    written.push(addedKey)
    await putBytes(destination, addedKey, addedBytes, signal)
    manifests.push(addedManifest(uriOf(addedKey), addedBytes.length, ManifestContent.DATA, added, snapshotId, sequenceNumber, 0))
    const listKey = manifestListKey(tablePath, snapshotId)
    written.push(listKey)
    await putBytes(
      destination,
      listKey,
      await encodeManifestList(manifests, { snapshotId, parentSnapshotId: current['snapshot-id'], sequenceNumber }),
      signal,
    )

    const now = options.now?.() ?? Date.now()
    const next = withSnapshot(table.metadata, {
      snapshotId,
      manifestList: uriOf(listKey),
      summary: {
        operation: 'replace',
        ...replaceTotals(
          current,
          chosen.flatMap((g) => g.entries),
          added,
        ),
        [SUMMARY_KEYS.schemaHash]: schemaHash(schema),
      },
      schema,
      lastColumnId: table.metadata['last-column-id'],
      previousMetadataFile: uriOf(metadataKey(tablePath, table.version)),
      now,
    })
    attempted = true
    await commitVersion(destination, tablePath, table.version + 1, next, signal)
    return {
      version: table.version + 1,
      snapshotId,
      rewritten: [...rewritten],
      added: addedKeys,
      skippedWithDeletes: nothing.skippedWithDeletes,
    }
  } catch (e) {
    // Before the commit point, or refused at it, nothing names what this compaction wrote: remove it.
    // After an ambiguous failure at the commit point it stays (the version may exist and name it).
    if (!attempted || e instanceof LakeCommitConflictError) await Promise.all(written.map((k) => destination.remove(k).catch(() => {})))
    throw e
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}

/** Iceberg's summary counters of a rewrite: files move, rows and delete files stay. */
function replaceTotals(previous: Snapshot, removed: readonly ManifestEntry[], added: readonly TableFile[]): Record<string, string> {
  const prev = (key: string) => Number(previous.summary[key] ?? 0)
  const size = (list: readonly { sizeBytes: number }[]) => list.reduce((n, f) => n + f.sizeBytes, 0)
  const rows = (list: readonly { recordCount: number }[]) => list.reduce((n, f) => n + f.recordCount, 0)
  const out: Record<string, number> = {
    'added-data-files': added.length,
    'deleted-data-files': removed.length,
    'added-records': rows(added),
    'deleted-records': rows(removed),
    'added-files-size': size(added),
    'removed-files-size': size(removed),
    'total-data-files': prev('total-data-files') - removed.length + added.length,
    'total-records': prev('total-records'),
    'total-files-size': prev('total-files-size') - size(removed) + size(added),
    'total-delete-files': prev('total-delete-files'),
    'total-equality-deletes': prev('total-equality-deletes'),
    'total-position-deletes': prev('total-position-deletes'),
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, String(v)]))
}
