/**
 * Writers for BYTE_ARRAY values: strings (string, guid) and binary.
 */
import type { SchemaElement } from 'hyparquet-writer'
import type { Column, Row, Value } from '../../sap/fields.js'
import { toBinary } from '../convert.js'
import { Bytes, bitWidth, compareBytes, compareStrings, writePlainBytes, writePlainString } from './bytes.js'
import { ColumnWriter, dictionaryGivesUp, grown, type MinMax } from './column-writer.js'

/**
 * Strings are dictionary-encoded as they arrive (a Map from string to index) while that pays off, else
 * UTF-8 encoded straight into one byte buffer. Either way no reference to a row's string outlives the
 * write() call that brought it, except one per distinct dictionary entry: holding 100k short-lived
 * strings per column for a whole row group would push them into the old generation and make the
 * garbage collector the most expensive part of the pipeline.
 */
export class StringColumn extends ColumnWriter {
  private readonly map = new Map<string, number>()
  private readonly entries: string[] = []
  private dictActive = true
  private dictChars = 0
  /** The previous value, while the dictionary is active. */
  private last: string | null = null
  /** UTF-16 length of all values (PLAIN size estimate). */
  private chars = 0
  /** PLAIN-encoded values (4-byte length + UTF-8 each) once the dictionary is abandoned. */
  private readonly plain = new Bytes(1 << 16)
  /** Start of each value in `plain`; offsets[count] = end. */
  private offsets: Int32Array

  constructor(
    column: Column,
    index: number,
    element: SchemaElement,
    maxRows: number,
    private readonly convert: (value: Value, column: Column) => string,
  ) {
    super(column, index, element, maxRows)
    this.ids = new Int32Array(this.size)
    this.offsets = new Int32Array(this.size + 1)
  }

  protected resize(size: number): void {
    this.offsets = grown(this.offsets, size + 1)
  }

  protected appendValues(rows: readonly Row[], from: number, to: number, firstRow: number): void {
    const { defs, column, convert, index: j, map, entries, offsets } = this
    const ids = this.ids as Int32Array
    let n = this.count
    let row = this.rows
    let r = from
    try {
      for (; r < to; r++, row++) {
        const v = rows[r][j]
        if (v === null || v === undefined) {
          this.missing(v, row)
          continue
        }
        const s = convert(v, column)
        this.chars += s.length
        if (defs) defs[row] = 1
        if (this.dictActive) {
          // runs of the same value (document numbers across items, sorted keys) skip the Map
          if (s === this.last && n > 0) {
            ids[n] = ids[n - 1]
            n++
            continue
          }
          this.last = s
          let id = map.get(s)
          if (id === undefined) {
            id = entries.length
            map.set(s, id)
            entries.push(s)
            this.dictChars += s.length + 4
            ids[n++] = id
            if (dictionaryGivesUp(this.dictChars, entries.length, n)) {
              this.count = n
              this.toPlain()
            }
          } else {
            ids[n++] = id
          }
        } else {
          writePlainString(this.plain, s)
          offsets[++n] = this.plain.pos
        }
      }
    } catch (e) {
      throw this.located(e, firstRow + r - from)
    }
    this.count = n
    this.rows = row
  }

  /** Abandons the dictionary: PLAIN-encodes the values so far from their dictionary entries. */
  private toPlain(): void {
    const { entries, offsets, plain } = this
    const ids = this.ids as Int32Array
    plain.reset()
    offsets[0] = 0
    for (let i = 0; i < this.count; i++) {
      writePlainString(plain, entries[ids[i]])
      offsets[i + 1] = plain.pos
    }
    this.dictActive = false
    this.last = null
    this.map.clear()
    this.entries.length = 0
  }

  protected plan(): number {
    if (this.dictActive) {
      const indexBytes = (this.count * bitWidth(this.entries.length - 1)) / 8
      if (this.dictChars + indexBytes < this.chars + 4 * this.count) {
        this.dictSize = this.entries.length
        return indexBytes
      }
      this.toPlain()
    }
    return this.plain.pos
  }

  protected writeDictionary(out: Bytes): void {
    for (const s of this.entries) writePlainString(out, s)
  }

  protected writePlain(out: Bytes, from: number, to: number): void {
    out.append(this.plain.buf.subarray(this.offsets[from], this.offsets[to]))
  }

  protected minMax(): MinMax {
    if (this.dictSize > 0) {
      const values = this.entries
      let min = values[0]
      let max = min
      for (let i = 1; i < values.length; i++) {
        const v = values[i]
        if (compareStrings(v, min) < 0) min = v
        else if (compareStrings(v, max) > 0) max = v
      }
      return { min_value: min, max_value: max }
    }
    // PLAIN: compare the UTF-8 bytes in place (byte order = code point order)
    const { offsets } = this
    const buf = this.plain.buf
    let min = 0
    let max = 0
    for (let i = 1; i < this.count; i++) {
      if (compareEncoded(buf, offsets[i], offsets[min]) < 0) min = i
      else if (compareEncoded(buf, offsets[i], offsets[max]) > 0) max = i
    }
    const text = (i: number) => utf8.decode(buf.subarray(offsets[i] + 4, offsets[i + 1]))
    return { min_value: text(min), max_value: text(max) }
  }

  protected override clear(): void {
    this.map.clear()
    this.entries.length = 0
    this.dictActive = true
    this.last = null
    this.dictChars = 0
    this.chars = 0
    this.plain.reset()
    this.offsets[0] = 0
  }
}

const utf8 = new TextDecoder()

/** Compares two PLAIN byte-array values (4-byte length + bytes) stored in `buf` at offsets a and b. */
function compareEncoded(buf: Uint8Array, a: number, b: number): number {
  const la = buf[a] | (buf[a + 1] << 8) | (buf[a + 2] << 16) | (buf[a + 3] << 24)
  const lb = buf[b] | (buf[b + 1] << 8) | (buf[b + 2] << 16) | (buf[b + 3] << 24)
  const n = Math.min(la, lb)
  a += 4
  b += 4
  for (let i = 0; i < n; i++) {
    const d = buf[a + i] - buf[b + i]
    if (d !== 0) return d
  }
  return la - lb
}

export class BinaryColumn extends ColumnWriter {
  /** A plain array grows by itself as values are appended in order. */
  private readonly vals: Uint8Array[] = []

  protected resize(): void {}

  protected appendValues(rows: readonly Row[], from: number, to: number, firstRow: number): void {
    const { vals, defs, column, index: j } = this
    let n = this.count
    let row = this.rows
    let r = from
    try {
      for (; r < to; r++, row++) {
        const v = rows[r][j]
        if (v === null || v === undefined) {
          this.missing(v, row)
        } else {
          vals[n++] = toBinary(v, column)
          if (defs) defs[row] = 1
        }
      }
    } catch (e) {
      throw this.located(e, firstRow + r - from)
    }
    this.count = n
    this.rows = row
  }

  protected plan(): number {
    let bytes = 0
    for (let i = 0; i < this.count; i++) bytes += 4 + this.vals[i].length
    return bytes
  }

  protected writeDictionary(): void {
    throw new Error('BinaryColumn has no dictionary')
  }

  protected writePlain(out: Bytes, from: number, to: number): void {
    for (let i = from; i < to; i++) writePlainBytes(out, this.vals[i])
  }

  protected minMax(): MinMax {
    let min = this.vals[0]
    let max = min
    for (let i = 1; i < this.count; i++) {
      const v = this.vals[i]
      if (compareBytes(v, min) < 0) min = v
      else if (compareBytes(v, max) > 0) max = v
    }
    return { min_value: min, max_value: max }
  }

  protected override clear(): void {
    this.vals.fill(undefined as unknown as Uint8Array, 0, this.count)
  }
}
