/**
 * One Parquet file being written: magic, row groups (column chunks from the column writers), footer.
 * The footer is serialized by hyparquet-writer's Thrift metadata writer.
 */
import type { SchemaElement } from 'hyparquet-writer'
import { writeMetadata } from 'hyparquet-writer/src/metadata.js'
import type { Codec } from '../compression.js'
import { FileSink } from '../file-sink.js'
import type { ColumnWriter } from './column-writer.js'

type FileMetaData = Parameters<typeof writeMetadata>[1]
type RowGroup = FileMetaData['row_groups'][number]

const MAGIC = 0x31524150 // "PAR1"
/** Byte-array min/max longer than this are truncated (and flagged inexact) in the footer. */
const STATISTICS_TRUNCATE_BYTES = 64

export interface FileOptions {
  schema: SchemaElement[]
  codec: Codec
  kvMetadata: { key: string; value: string }[]
  createdBy: string
  /** Target uncompressed page size. */
  pageBytes: number
}

export class ParquetFile {
  private readonly rowGroups: RowGroup[] = []
  private rows = 0

  private constructor(
    readonly sink: FileSink,
    private readonly opts: FileOptions,
  ) {}

  static async create(path: string, opts: FileOptions): Promise<ParquetFile> {
    const sink = await FileSink.open(path)
    sink.appendUint32(MAGIC)
    return new ParquetFile(sink, opts)
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.sink.offset
  }

  /** Writes the column writers' buffered rows as one row group and flushes it to disk. */
  async writeRowGroup(writers: readonly ColumnWriter[], rows: number): Promise<void> {
    const start = this.sink.offset
    const columns = writers.map((w) => w.writeChunk(this.sink, this.opts.codec, this.opts.pageBytes))
    let uncompressed = 0n
    for (const c of columns) uncompressed += c.meta_data?.total_uncompressed_size ?? 0n
    this.rowGroups.push({
      columns,
      num_rows: BigInt(rows),
      total_byte_size: uncompressed,
      total_compressed_size: BigInt(this.sink.offset - start),
      file_offset: BigInt(start),
    })
    this.rows += rows
    await this.sink.flush()
  }

  /** Writes the footer and closes the file. */
  async close(): Promise<{ bytes: number; sha256: string }> {
    writeMetadata(
      this.sink,
      {
        version: 1,
        schema: this.opts.schema,
        num_rows: BigInt(this.rows),
        row_groups: this.rowGroups,
        key_value_metadata: this.opts.kvMetadata,
        created_by: this.opts.createdBy,
        metadata_length: 0, // not serialized
      },
      STATISTICS_TRUNCATE_BYTES,
    )
    this.sink.appendUint32(MAGIC)
    return this.sink.close()
  }

  /** Closes and deletes the partial file. */
  destroy(): Promise<void> {
    return this.sink.destroy()
  }
}
