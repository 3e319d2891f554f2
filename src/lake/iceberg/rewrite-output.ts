/**
 * The new data files of a rewrite (compaction, `rewriteWithDeletes`): rows go to one ParquetRoller
 * per input layout (exact column footer and field ids, so each output file has one schema and the
 * inputs' `iceberg.schema`), which writes row groups to a local staging folder and hands back
 * finished files; each is uploaded at once and its local copy removed. Every key uploaded is recorded
 * in `written`, so the caller can take the attempt back (docs/architecture.md#lake-maintenance).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Row } from '../../sap/fields.js'
import type { Destination } from '../../storage/destination.js'
import type { Compression } from '../../transform/compression.js'
import { ParquetRoller, type WrittenFile } from '../../transform/roller.js'
import { tableUris } from './locations.js'
import { TABLE_TIMESTAMP_UNIT } from './parquet-ids.js'
import type { TableFile } from './manifest.js'
import type { DataFileLayout } from './parquet-rows.js'
import { FileContent, type TableMetadata } from './types.js'

/** What compaction and rewriteWithDeletes take for their new files. */
export interface RewriteTableOptions {
  /** Output files close once they reach about this size. */
  targetFileMb: number
  /**
   * Destination key of the n-th new file. Default `<table>/data/compact-<snapshot>-<n>.parquet`:
   * under the table, so expiry may own them (`ownedPrefixes: ['<table>/data']`).
   */
  writeFile?: (snapshotId: number, index: number) => string
  /** Rows per row group of the new files (default 100 000). */
  rowGroupRows?: number
  compression?: Compression
  signal?: AbortSignal
}

export interface RewriteOutputOptions {
  /** Destination key of the n-th file written. */
  keyOf: (index: number) => string
  targetBytes: number
  rowGroupRows: number
  compression: Compression
  signal?: AbortSignal
  /** How the table records a key (locations.ts tableUris: one form per table). */
  uriOf: (key: string) => string
}

/** Default key of a rewrite's n-th file: under the table, so expiry may own them (`ownedPrefixes: ['<table>/data']`). */
const rewriteFileKey = (tablePath: string, snapshotId: number, n: number) =>
  `${tablePath}/data/compact-${snapshotId}-${String(n).padStart(5, '0')}.parquet`

export class RewriteOutput {
  /** Table files uploaded, in order. */
  readonly added: TableFile[] = []
  /** Their destination keys (same order). */
  readonly addedKeys: string[] = []
  private readonly rollers = new Map<string, ParquetRoller>()

  private constructor(
    private readonly destination: Destination,
    private readonly staging: string,
    /** Shared with the caller: every key this attempt put on the destination. */
    private readonly written: string[],
    private readonly options: RewriteOutputOptions,
  ) {}

  static async open(destination: Destination, written: string[], options: RewriteOutputOptions): Promise<RewriteOutput> {
    return new RewriteOutput(destination, await mkdtemp(join(tmpdir(), 'de-rewrite-')), written, options)
  }

  /**
   * The outputs of one rewrite of the table as snapshot `snapshotId`, from the options both rewrites
   * take: files of about `targetFileMb` under `writeFile` (default rewriteFileKey), recorded in the
   * table's own address form.
   */
  static forTable(
    destination: Destination,
    table: { path: string; metadata: TableMetadata },
    snapshotId: number,
    written: string[],
    options: RewriteTableOptions,
  ): Promise<RewriteOutput> {
    const keyOf = options.writeFile ?? ((id: number, n: number) => rewriteFileKey(table.path, id, n))
    return RewriteOutput.open(destination, written, {
      keyOf: (n) => keyOf(snapshotId, n),
      targetBytes: Math.round(options.targetFileMb * 1024 * 1024),
      rowGroupRows: options.rowGroupRows ?? 100_000,
      compression: options.compression ?? 'SNAPPY',
      signal: options.signal,
      uriOf: tableUris(destination, table.path, table.metadata),
    })
  }

  /** Rows written (handed back by the rollers in finished files) so far. */
  get rowsOut(): number {
    return this.added.reduce((n, f) => n + f.recordCount, 0)
  }

  /** Writes rows of an input with `layout`; files that fill up are uploaded before this returns. */
  async write(layout: DataFileLayout, rows: readonly Row[]): Promise<void> {
    if (!rows.length) return
    await this.upload(await this.rollerOf(layout).write(rows))
  }

  /** Closes every roller's last file and uploads it. */
  async finish(): Promise<void> {
    for (const roller of this.rollers.values()) await this.upload(await roller.finish())
  }

  /** Stops the rollers and removes the staging folder; uploaded files are the caller's (`written`). */
  async dispose(): Promise<void> {
    for (const roller of this.rollers.values()) await roller.abort()
    await rm(this.staging, { recursive: true, force: true })
  }

  private rollerOf(layout: DataFileLayout): ParquetRoller {
    let roller = this.rollers.get(layout.signature)
    if (!roller) {
      const group = this.rollers.size
      roller = new ParquetRoller(layout.columns, {
        dir: this.staging,
        fileName: (i) => `group-${group}-${i}.parquet`,
        compression: this.options.compression,
        rowGroupRows: this.options.rowGroupRows,
        maxFileBytes: this.options.targetBytes,
        kvMetadata: { 'iceberg.schema': layout.icebergSchema },
        fieldIds: layout.fieldIds,
        // The table's unit whatever the inputs' (MILLIS files of older tables read back as the same instants).
        timestampUnit: TABLE_TIMESTAMP_UNIT,
      })
      this.rollers.set(layout.signature, roller)
    }
    return roller
  }

  private async upload(done: readonly WrittenFile[]): Promise<void> {
    const { destination, options } = this
    for (const f of done) {
      const key = options.keyOf(this.added.length)
      this.written.push(key)
      const { bytes } = await destination.putFile(key, f.localPath, options.signal, { sha256: f.sha256 })
      await rm(f.localPath, { force: true })
      this.added.push({ content: FileContent.DATA, path: options.uriOf(key), recordCount: f.rows, sizeBytes: bytes })
      this.addedKeys.push(key)
    }
  }
}
