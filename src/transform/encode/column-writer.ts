/**
 * Column chunk encoding shared by every column kind: pages, dictionary-or-plain choice, definition
 * levels, compression and the chunk's footer metadata. Subclasses (columns.ts) hold the values of the
 * row group being filled in typed storage and know how to write them PLAIN or as a dictionary.
 *
 * Layout choices (the most widely readable ones):
 * - data page v1 (levels and values compressed together), dictionary page PLAIN, data pages PLAIN or
 *   RLE_DICTIONARY; definition levels RLE/bit-packed hybrid; flat schema, no repetition levels;
 * - pages of about `pageBytes` (default PAGE_BYTES) uncompressed;
 * - chunk statistics (min/max, null count); no page index or bloom filter.
 */
import { writePageHeader } from 'hyparquet-writer/src/datapage.js'
import type { writeMetadata } from 'hyparquet-writer/src/metadata.js'
import type { SchemaElement } from 'hyparquet-writer'
import type { Column, Row } from '../../sap/fields.js'
import { ValueConversionError, nullNotAllowed } from '../convert.js'
import type { Codec } from '../compression.js'
import type { FileSink } from '../file-sink.js'
import { Bytes, bitWidth, writeHybrid } from './bytes.js'

type FileMetaData = Parameters<typeof writeMetadata>[1]
type RowGroup = FileMetaData['row_groups'][number]
export type ColumnChunk = RowGroup['columns'][number]
type ColumnMetaData = NonNullable<ColumnChunk['meta_data']>
export type Statistics = NonNullable<ColumnMetaData['statistics']>
type Encoding = ColumnMetaData['encodings'][number]
/** A chunk's bounds as hyparquet-writer's footer writer takes them (bigint for INT64 and DECIMAL). */
export type MinMax = { min_value: Statistics['min_value']; max_value: Statistics['max_value'] } | undefined

/** Default target uncompressed size of one data page. */
export const PAGE_BYTES = 1 << 20
/** A dictionary larger than this falls back to PLAIN (the usual 1 MiB dictionary page limit). */
const MAX_DICTIONARY_BYTES = 1 << 20
/** Dictionary indexes are bit-packed at ≤ 24 bits (see writeHybrid); far more than 1 MiB allows anyway. */
const MAX_DICTIONARY_ENTRIES = 1 << 20
/** From this many values on, a column whose values are mostly distinct gives up on its dictionary. */
const DICTIONARY_PROBE = 4096

/** Called when a dictionary gains an entry: true when PLAIN is the better (or only) choice. */
export function dictionaryGivesUp(dictBytes: number, entries: number, values: number): boolean {
  return dictBytes > MAX_DICTIONARY_BYTES || entries > MAX_DICTIONARY_ENTRIES || (values >= DICTIONARY_PROBE && entries > values * 0.7)
}

/** Page body scratch, shared by all columns (encoding is synchronous). */
const scratch = new Bytes(PAGE_BYTES + (PAGE_BYTES >> 1))

/** Storage starts this small and doubles up to rowGroupRows, so a small table never pays for a big group. */
const INITIAL_ROWS = 4096

export abstract class ColumnWriter {
  /** 1 where the row has a value, 0 for null; only for nullable columns. */
  protected defs: Uint8Array | null
  /** Rows the storage currently holds (grows up to `maxRows`). */
  protected size: number
  /** Rows in the current row group. */
  rows = 0
  /** Non-null values in the current row group (values are stored densely). */
  count = 0
  /** Dictionary index per non-null value, when the current chunk is dictionary-encoded. */
  protected ids: Int32Array | null = null
  /** Entries in the current chunk's dictionary; 0 = PLAIN. */
  protected dictSize = 0

  constructor(
    readonly column: Column,
    /** Position of the column in a row. */
    readonly index: number,
    readonly element: SchemaElement,
    /** Rows per row group: the most this writer ever holds. */
    protected readonly maxRows: number,
  ) {
    this.size = Math.min(maxRows, INITIAL_ROWS)
    this.defs = column.nullable ? new Uint8Array(this.size) : null
  }

  /** Converts and appends `rows[from..to)`; `firstRow` is the overall index of `rows[from]`, for errors. */
  append(rows: readonly Row[], from: number, to: number, firstRow: number): void {
    const need = this.rows + (to - from)
    if (need > this.size) {
      if (need > this.maxRows) throw new Error(`column ${this.column.name}: more than ${this.maxRows} rows in a row group`)
      const size = Math.min(this.maxRows, Math.max(need, this.size * 2))
      if (this.defs) this.defs = grown(this.defs, size)
      if (this.ids) this.ids = grown(this.ids, size)
      this.resize(size)
      this.size = size
    }
    this.appendValues(rows, from, to, firstRow)
  }

  protected abstract appendValues(rows: readonly Row[], from: number, to: number, firstRow: number): void
  /** Grows the subclass's value storage to hold `size` values, keeping the current ones. */
  protected abstract resize(size: number): void

  /**
   * Builds the chunk's dictionary (setting `ids` and `dictSize`) if it pays off, else leaves dictSize 0.
   * Returns the estimated uncompressed size of the data pages' values.
   */
  protected abstract plan(): number
  /** PLAIN-encodes the dictionary entries. */
  protected abstract writeDictionary(out: Bytes): void
  /** PLAIN-encodes values [from, to) (dense, non-null indexes). */
  protected abstract writePlain(out: Bytes, from: number, to: number): void
  /** min/max of the chunk's values, in the form hyparquet-writer's footer writer expects. */
  protected abstract minMax(): MinMax
  /** Drops references held for the finished row group. */
  protected clear(): void {}

  /** Handles a null or undefined cell at row `row` of the group: records the null or throws. */
  protected missing(v: null | undefined, row: number): void {
    if (v === undefined) {
      throw new ValueConversionError(this.column.name, undefined, 'is missing (the row is shorter than the column list)')
    }
    if (!this.defs) throw nullNotAllowed(this.column)
    this.defs[row] = 0
  }

  protected located(e: unknown, row: number): unknown {
    return e instanceof ValueConversionError ? e.atRow(row) : e
  }

  /** Builds a string/number dictionary into `ids`; returns false (PLAIN) when it does not pay off. */
  protected buildDictionary<T>(
    values: ArrayLike<T>,
    map: Map<T, number>,
    entries: T[],
    entryBytes: (v: T) => number,
    valueBytes: number,
  ): boolean {
    const n = this.count
    const ids = this.ids ?? (this.ids = new Int32Array(this.size))
    map.clear()
    entries.length = 0
    let dictBytes = 0
    for (let i = 0; i < n; i++) {
      const v = values[i]
      let id = map.get(v)
      if (id === undefined) {
        id = entries.length
        map.set(v, id)
        entries.push(v)
        dictBytes += entryBytes(v)
        if (dictionaryGivesUp(dictBytes, entries.length, i + 1)) return this.noDictionary(map, entries)
      }
      ids[i] = id
    }
    // keep it only if dictionary + bit-packed indexes beat PLAIN
    const indexBytes = (n * bitWidth(entries.length - 1)) / 8
    if (dictBytes + indexBytes >= valueBytes) return this.noDictionary(map, entries)
    this.dictSize = entries.length
    return true
  }

  private noDictionary(map: Map<unknown, number>, entries: unknown[]): false {
    map.clear()
    entries.length = 0
    this.dictSize = 0
    return false
  }

  /** Writes this row group's column chunk to the file and returns its footer metadata. */
  writeChunk(sink: FileSink, codec: Codec, pageBytes = PAGE_BYTES): ColumnChunk {
    const chunkStart = sink.offset
    this.dictSize = 0
    const valueBytes = this.count === 0 ? 0 : this.plan()
    const dictionary = this.dictSize > 0
    let uncompressed = 0
    let dictionaryOffset: bigint | undefined
    if (dictionary) {
      dictionaryOffset = BigInt(sink.offset)
      scratch.reset()
      this.writeDictionary(scratch)
      uncompressed += emitPage(sink, codec, scratch.bytes(), {
        type: 'DICTIONARY_PAGE',
        dictionary_page_header: { num_values: this.dictSize, encoding: 'PLAIN' },
      })
    }
    const encoding: Encoding = dictionary ? 'RLE_DICTIONARY' : 'PLAIN'
    const width = dictionary ? bitWidth(this.dictSize - 1) : 0
    const dataOffset = BigInt(sink.offset)
    const rows = this.rows
    const rowBytes = (valueBytes + (this.defs ? rows / 8 : 0)) / Math.max(1, rows)
    const pageRows = Math.max(1, Math.ceil(rows / Math.max(1, Math.ceil((rowBytes * rows) / pageBytes))))
    let pages = 0
    let v = 0
    for (let start = 0; start < rows || pages === 0; start += pageRows) {
      const end = Math.min(rows, start + pageRows)
      const vFrom = v
      scratch.reset()
      if (this.defs) {
        const defs = this.defs
        for (let r = start; r < end; r++) v += defs[r]
        const lenAt = scratch.pos
        scratch.u32(0)
        writeHybrid(scratch, defs, start, end, 1)
        scratch.view.setUint32(lenAt, scratch.pos - lenAt - 4, true)
      } else {
        v += end - start
      }
      if (dictionary) {
        // the bit width byte is written even for a page of nulls only
        scratch.u8(width)
        writeHybrid(scratch, this.ids as Int32Array, vFrom, v, width)
      } else {
        this.writePlain(scratch, vFrom, v)
      }
      uncompressed += emitPage(sink, codec, scratch.bytes(), {
        type: 'DATA_PAGE',
        data_page_header: {
          num_values: end - start,
          encoding,
          definition_level_encoding: 'RLE',
          repetition_level_encoding: 'RLE',
        },
      })
      pages++
    }

    const statistics: Statistics = { null_count: BigInt(rows - this.count) }
    const mm = this.count > 0 ? this.minMax() : undefined
    if (mm) Object.assign(statistics, mm)
    const encodings: Encoding[] = dictionary ? ['PLAIN', 'RLE', 'RLE_DICTIONARY'] : ['PLAIN', 'RLE']
    const meta: ColumnMetaData = {
      type: this.element.type as ColumnMetaData['type'],
      encodings,
      path_in_schema: [this.column.name],
      codec: codec.name,
      num_values: BigInt(rows),
      total_uncompressed_size: BigInt(uncompressed),
      total_compressed_size: BigInt(sink.offset - chunkStart),
      data_page_offset: dataOffset,
      dictionary_page_offset: dictionaryOffset,
      statistics,
      encoding_stats: [
        ...(dictionary ? [{ page_type: 'DICTIONARY_PAGE' as const, encoding: 'PLAIN' as const, count: 1 }] : []),
        { page_type: 'DATA_PAGE' as const, encoding, count: pages },
      ],
    }
    return { file_offset: BigInt(chunkStart), meta_data: meta }
  }

  /** Starts the next row group. */
  reset(): void {
    this.rows = 0
    this.count = 0
    this.dictSize = 0
    this.clear()
  }
}

/** A copy of `a` with room for `size` elements. */
export function grown<T extends Uint8Array | Int32Array | Float64Array | BigInt64Array>(a: T, size: number): T {
  const b = new (a.constructor as new (n: number) => T)(size)
  b.set(a as never)
  return b
}

type PageHeader = Parameters<typeof writePageHeader>[1]

/** Compresses `body`, writes the page header and the page; returns the uncompressed size incl. header. */
function emitPage(
  sink: FileSink,
  codec: Codec,
  body: Uint8Array,
  header: Omit<PageHeader, 'uncompressed_page_size' | 'compressed_page_size'>,
): number {
  const compressed = codec.compress(body)
  const headerStart = sink.offset
  writePageHeader(sink, { ...header, uncompressed_page_size: body.length, compressed_page_size: compressed.length })
  const headerBytes = sink.offset - headerStart
  sink.appendBytes(compressed)
  return headerBytes + body.length
}
