/**
 * ParquetRoller: row batches in, finished Parquet files out, with memory bounded by one row group.
 *
 * Rows are converted into per-column buffers as they arrive; every `rowGroupRows` rows the buffers are
 * encoded as one row group and written to the current file. After a row group, a file that has
 * reached `maxFileBytes` is closed (footer written, SHA-256 known) and handed back to the caller, who
 * can upload it while extraction goes on; the next row group opens the next file. Files are opened
 * only when a row group is ready, so zero rows produce zero files and no file is ever empty.
 */
import path from 'node:path'
import type { SchemaElement } from 'hyparquet-writer'
import type { Column, Row } from '../sap/fields.js'
import { codecFor, type Codec, type Compression } from './compression.js'
import { PAGE_BYTES, type ColumnWriter } from './encode/column-writer.js'
import { createColumnWriter } from './encode/columns.js'
import { ParquetFile } from './encode/parquet-file.js'
import { FileSink } from './file-sink.js'
import { describeSchema, parquetSchema, type TimestampUnit } from './schema.js'

export interface ParquetOutputOptions {
  /** Local staging directory; must exist. */
  dir: string
  /** File name for the n-th file (0-based), e.g. `i => \`part-${String(i).padStart(5, '0')}.parquet\``. */
  fileName(index: number): string
  compression: Compression
  /** Rows per row group (e.g. 100_000). Memory use is proportional to this, not to the table. */
  rowGroupRows: number
  /** Close the current file once it has reached this many bytes (checked after each row group). */
  maxFileBytes: number
  /** Key/value pairs written into every file's footer (pipeline id, run id…). */
  kvMetadata?: Record<string, string>
  /** Target uncompressed data page size in bytes (default 1 MiB); tuning and tests only. */
  pageBytes?: number
  /**
   * Classifies each accepted row (e.g. by its change mode); every file then reports how many rows of
   * each class it holds, so totals can be checked against an independent count of the source's rows.
   */
  countBy?: (row: Row) => string | null
  /**
   * Parquet field ids, one per column, for files that are data files of an Iceberg table
   * (src/lake/iceberg/parquet-ids.ts); without them the schema carries no ids.
   */
  fieldIds?: readonly number[]
  /** Unit of TIMESTAMP columns (default MILLIS); lake tables' files use MICROS (src/lake/iceberg/parquet-ids.ts). */
  timestampUnit?: TimestampUnit
}

export interface WrittenFile {
  index: number
  fileName: string
  localPath: string
  rows: number
  bytes: number
  /** Hex SHA-256 of the whole file. */
  sha256: string
  /** Rows per class of `countBy`, when the roller was given one. */
  counts?: Record<string, number>
}

/**
 * One line of the roller's ledger: every file it ever opened, how many rows it put there, and whether
 * the file was handed to the caller. Before a run commits, the files it lists must be exactly these.
 */
export interface LedgerEntry {
  index: number
  fileName: string
  rows: number
  handedOut: boolean
}

/** Footer key under which every file carries its column descriptions (describeSchema) as JSON. */
export const COLUMNS_METADATA_KEY = 'delta-extractor.columns'
const CREATED_BY = 'delta-extractor'

interface OpenFile {
  index: number
  fileName: string
  localPath: string
  file: ParquetFile
  rows: number
  counts?: Record<string, number>
}

type State = 'open' | 'failed' | 'finished' | 'aborted'

export class ParquetRoller {
  private readonly schema: SchemaElement[]
  private readonly writers: ColumnWriter[]
  private readonly codec: Codec
  private readonly kvMetadata: { key: string; value: string }[]
  private current: OpenFile | null = null
  private nextIndex = 0
  private buffered = 0
  private written = 0
  private accepted = 0
  private readonly opened: LedgerEntry[] = []
  /** countBy tallies of the rows buffered for the next row group (they join a file with it). */
  private pendingCounts: Record<string, number> | undefined
  private state: State = 'open'
  /** The write()/finish() in progress, so abort() can wait for it to let go of the file. */
  private inFlight: Promise<unknown> | null = null
  /** Files finished by a write() that then failed: never handed out, deleted by abort(). */
  private readonly unreported: WrittenFile[] = []

  constructor(
    readonly columns: Column[],
    private readonly opts: ParquetOutputOptions,
  ) {
    if (!Number.isSafeInteger(opts.rowGroupRows) || opts.rowGroupRows < 1) {
      throw new RangeError(`rowGroupRows must be a positive integer, got ${opts.rowGroupRows}`)
    }
    if (!(opts.maxFileBytes > 0)) throw new RangeError(`maxFileBytes must be positive, got ${opts.maxFileBytes}`)
    if (opts.pageBytes !== undefined && !(opts.pageBytes > 0)) {
      throw new RangeError(`pageBytes must be positive, got ${opts.pageBytes}`)
    }
    const layout = { timestampUnit: opts.timestampUnit }
    this.schema = parquetSchema(columns, opts.fieldIds, layout)
    this.codec = codecFor(opts.compression)
    this.writers = columns.map((c, i) => createColumnWriter(c, i, this.schema[i + 1], opts.rowGroupRows))
    this.kvMetadata = [
      ...Object.entries(opts.kvMetadata ?? {}).map(([key, value]) => ({ key, value })),
      { key: COLUMNS_METADATA_KEY, value: JSON.stringify(describeSchema(columns, layout)) },
    ]
  }

  /** Rows encoded into row groups so far (on disk or in a finished file); excludes rows still buffered. */
  get rowsWritten(): number {
    return this.written
  }

  /** Rows accepted but not yet encoded (less than one row group). */
  get rowsBuffered(): number {
    return this.buffered
  }

  /** Rows handed to write() and accepted (checked for width), whether encoded yet or not. */
  get rowsAccepted(): number {
    return this.accepted
  }

  /** Every file this roller opened, in order, with its rows and whether it was handed out. */
  get ledger(): readonly Readonly<LedgerEntry>[] {
    return this.opened
  }

  /**
   * Buffers rows (values in column order); encodes and writes a row group each time `rowGroupRows`
   * are buffered. Resolves with the files this call finished (rolled), ready to upload.
   * If it rejects (e.g. a ValueConversionError), the roller is failed: call abort().
   */
  write(rows: readonly Row[]): Promise<WrittenFile[]> {
    return this.run(() => this.writeRows(rows))
  }

  /**
   * Writes the last (partial) row group and closes the current file. Resolves with the files this call
   * finished: none when no rows were ever written (no empty file is created; the manifest then lists
   * zero files), otherwise the last file.
   */
  finish(): Promise<WrittenFile[]> {
    return this.run(async () => {
      const finished: WrittenFile[] = []
      // The last row group may itself fill the file and close it: that file is handed out too.
      if (this.buffered > 0) {
        const rolled = await this.writeRowGroup()
        if (rolled) finished.push(rolled)
      }
      if (this.current) finished.push(await this.closeCurrent())
      this.state = 'finished'
      return this.handOut(finished)
    })
  }

  /**
   * Stops and deletes the partial current file (and any file finished by a call that then failed).
   * Files already returned by write()/finish() are the caller's and are left alone. Idempotent.
   */
  async abort(): Promise<void> {
    this.state = 'aborted'
    if (this.inFlight) await this.inFlight.catch(() => undefined)
    const file = this.current
    this.current = null
    if (file) await file.file.destroy()
    for (const f of this.unreported.splice(0)) await FileSink.remove(f.localPath)
    for (const w of this.writers) w.reset()
    this.buffered = 0
    this.pendingCounts = undefined
  }

  private async run<T>(op: () => Promise<T>): Promise<T> {
    if (this.inFlight) throw new Error('ParquetRoller: a write() or finish() is still in progress; await it first')
    if (this.state !== 'open') throw new Error(`ParquetRoller: cannot write, the roller is ${this.state}`)
    const p = op()
    this.inFlight = p
    try {
      return await p
    } catch (e) {
      if (this.state === 'open') this.state = 'failed'
      throw e
    } finally {
      this.inFlight = null
    }
  }

  private async writeRows(rows: readonly Row[]): Promise<WrittenFile[]> {
    const finished: WrittenFile[] = []
    try {
      const width = this.writers.length
      const groupRows = this.opts.rowGroupRows
      let from = 0
      while (from < rows.length) {
        const to = Math.min(rows.length, from + groupRows - this.buffered)
        const firstRow = this.written + this.buffered
        for (let r = from; r < to; r++) {
          const row = rows[r]
          if (!Array.isArray(row) || row.length !== width) {
            throw new TypeError(
              `row ${firstRow + r - from} has ${Array.isArray(row) ? row.length : 'no'} values, the schema has ${width} columns`,
            )
          }
        }
        if (this.opts.countBy) this.tally(rows, from, to)
        for (const writer of this.writers) writer.append(rows, from, to, firstRow)
        this.buffered += to - from
        this.accepted += to - from
        from = to
        if (this.buffered === groupRows) {
          const file = await this.writeRowGroup()
          if (file) finished.push(file)
          if (this.state !== 'open') throw new Error(`ParquetRoller: ${this.state} while writing`)
        }
      }
      return this.handOut(finished)
    } catch (e) {
      this.unreported.push(...finished)
      throw e
    }
  }

  private tally(rows: readonly Row[], from: number, to: number): void {
    const counts = (this.pendingCounts ??= {})
    const classify = this.opts.countBy!
    for (let r = from; r < to; r++) {
      const k = classify(rows[r])
      if (k !== null) counts[k] = (counts[k] ?? 0) + 1
    }
  }

  private handOut(files: WrittenFile[]): WrittenFile[] {
    for (const f of files) this.opened[f.index].handedOut = true
    return files
  }

  /** Encodes the buffered rows as one row group; closes the file if it reached maxFileBytes. */
  private async writeRowGroup(): Promise<WrittenFile | undefined> {
    const open = this.current ?? (this.current = await this.openNext())
    const rows = this.buffered
    await open.file.writeRowGroup(this.writers, rows)
    for (const w of this.writers) w.reset()
    this.buffered = 0
    this.written += rows
    open.rows += rows
    if (this.pendingCounts) {
      const counts = (open.counts ??= {})
      for (const [k, n] of Object.entries(this.pendingCounts)) counts[k] = (counts[k] ?? 0) + n
      this.pendingCounts = undefined
    }
    this.opened[open.index].rows = open.rows
    if (open.file.bytes >= this.opts.maxFileBytes) return this.closeCurrent()
    return undefined
  }

  private async openNext(): Promise<OpenFile> {
    const index = this.nextIndex++
    const fileName = this.opts.fileName(index)
    const localPath = path.join(this.opts.dir, fileName)
    const file = await ParquetFile.create(localPath, {
      schema: this.schema,
      codec: this.codec,
      kvMetadata: this.kvMetadata,
      createdBy: CREATED_BY,
      pageBytes: this.opts.pageBytes ?? PAGE_BYTES,
    })
    this.opened.push({ index, fileName, rows: 0, handedOut: false })
    return { index, fileName, localPath, file, rows: 0, counts: this.opts.countBy ? {} : undefined }
  }

  private async closeCurrent(): Promise<WrittenFile> {
    const open = this.current
    if (!open) throw new Error('no open file')
    const { bytes, sha256 } = await open.file.close()
    this.current = null
    const written: WrittenFile = { index: open.index, fileName: open.fileName, localPath: open.localPath, rows: open.rows, bytes, sha256 }
    if (open.counts) written.counts = open.counts
    return written
  }
}
