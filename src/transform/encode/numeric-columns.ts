/**
 * Writers for fixed-width values, held in typed arrays (no object per value):
 *
 * | writer             | kinds                                                       | storage                 |
 * |--------------------|-------------------------------------------------------------|-------------------------|
 * | NumberColumn       | int8…int32, date, decimal p≤9 (INT32); time, timestamp      | Float64Array            |
 * |                    | (MILLIS), decimal p≤15 (INT64, all below 2^53); double      | (exact ints)            |
 * | BigIntColumn       | int64, decimal 16≤p≤18, timestamp (MICROS) (INT64)          | BigInt64Array           |
 * | BooleanColumn      | boolean                                                     | Uint8Array              |
 * | FixedDecimalColumn | decimal p≥19 (FIXED_LEN_BYTE_ARRAY)                         | Float64Array; a bigint  |
 * |                    |                                                             | only beyond 15 digits   |
 */
import type { SchemaElement } from 'hyparquet-writer'
import type { Column, Row, Value } from '../../sap/fields.js'
import { parseDecimal, toBoolean } from '../convert.js'
import type { Bytes } from './bytes.js'
import { ColumnWriter, grown, type MinMax } from './column-writer.js'

const TWO_32 = 4_294_967_296

/** int32/int64/double values held as exact doubles (every INT64 kind stored here stays below 2^53). */
export class NumberColumn extends ColumnWriter {
  private vals: Float64Array
  private readonly map = new Map<number, number>()
  private readonly entries: number[] = []
  private readonly width: 4 | 8

  constructor(
    column: Column,
    index: number,
    element: SchemaElement,
    maxRows: number,
    private readonly convert: (value: Value, column: Column) => number,
  ) {
    super(column, index, element, maxRows)
    this.vals = new Float64Array(this.size)
    this.width = element.type === 'INT32' ? 4 : 8
  }

  protected resize(size: number): void {
    this.vals = grown(this.vals, size)
  }

  protected appendValues(rows: readonly Row[], from: number, to: number, firstRow: number): void {
    const { vals, defs, column, convert, index: j } = this
    let n = this.count
    let row = this.rows
    let r = from
    try {
      for (; r < to; r++, row++) {
        const v = rows[r][j]
        if (v === null || v === undefined) {
          this.missing(v, row)
        } else {
          vals[n++] = convert(v, column)
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
    const plain = this.count * this.width
    // DOUBLE keeps PLAIN: a Map would fold -0 into +0
    if (this.element.type !== 'DOUBLE') {
      const w = this.width
      if (this.buildDictionary(this.vals, this.map, this.entries, () => w, plain)) return this.count
    }
    return plain
  }

  protected writeDictionary(out: Bytes): void {
    this.writeNumbers(out, this.entries, 0, this.entries.length)
  }

  protected writePlain(out: Bytes, from: number, to: number): void {
    this.writeNumbers(out, this.vals, from, to)
  }

  private writeNumbers(out: Bytes, values: ArrayLike<number>, from: number, to: number): void {
    const n = to - from
    out.ensure(n * this.width)
    const view = out.view
    let p = out.pos
    if (this.element.type === 'INT32') {
      for (let i = from; i < to; i++, p += 4) view.setInt32(p, values[i], true)
    } else if (this.element.type === 'DOUBLE') {
      for (let i = from; i < to; i++, p += 8) view.setFloat64(p, values[i], true)
    } else {
      for (let i = from; i < to; i++, p += 8) {
        const v = values[i]
        const hi = Math.floor(v / TWO_32)
        view.setUint32(p, v - hi * TWO_32, true)
        view.setInt32(p + 4, hi, true)
      }
    }
    out.pos = p
  }

  protected minMax(): MinMax {
    const dict = this.dictSize > 0
    const values: ArrayLike<number> = dict ? this.entries : this.vals
    const n = dict ? this.entries.length : this.count
    let min = Infinity
    let max = -Infinity
    let seen = false
    for (let i = 0; i < n; i++) {
      const v = values[i]
      if (v !== v) continue // NaN is not ordered; the spec leaves it out of min/max
      seen = true
      if (v < min) min = v
      if (v > max) max = v
    }
    if (!seen) return undefined
    if (min === 0) min = -0 // spec: a zero min is written as -0, a zero max as +0
    if (max === 0) max = 0
    if (this.element.type === 'DOUBLE') return { min_value: min, max_value: max }
    // DECIMAL bounds and INT64 bounds go to the footer writer as bigints (unscaled for decimals)
    if (this.element.type === 'INT64' || this.element.converted_type === 'DECIMAL') {
      return { min_value: BigInt(min), max_value: BigInt(max) }
    }
    return { min_value: min, max_value: max }
  }
}

/** INT64 values that may exceed 2^53: int64, decimals of 16–18 digits, timestamps in microseconds. */
export class BigIntColumn extends ColumnWriter {
  private vals: BigInt64Array

  constructor(
    column: Column,
    index: number,
    element: SchemaElement,
    maxRows: number,
    private readonly convert: (value: Value, column: Column) => bigint | number,
  ) {
    super(column, index, element, maxRows)
    this.vals = new BigInt64Array(this.size)
  }

  protected resize(size: number): void {
    this.vals = grown(this.vals, size)
  }

  protected appendValues(rows: readonly Row[], from: number, to: number, firstRow: number): void {
    const { vals, defs, column, convert, index: j } = this
    let n = this.count
    let row = this.rows
    let r = from
    try {
      for (; r < to; r++, row++) {
        const v = rows[r][j]
        if (v === null || v === undefined) {
          this.missing(v, row)
        } else {
          const x = convert(v, column)
          vals[n++] = typeof x === 'bigint' ? x : BigInt(x)
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
    return this.count * 8
  }

  protected writeDictionary(): void {
    throw new Error('BigIntColumn has no dictionary')
  }

  protected writePlain(out: Bytes, from: number, to: number): void {
    out.append(new Uint8Array(this.vals.buffer, from * 8, (to - from) * 8))
  }

  protected minMax(): MinMax {
    const vals = this.vals
    let min = vals[0]
    let max = min
    for (let i = 1; i < this.count; i++) {
      const v = vals[i]
      if (v < min) min = v
      if (v > max) max = v
    }
    return { min_value: min, max_value: max }
  }
}

export class BooleanColumn extends ColumnWriter {
  private vals: Uint8Array

  constructor(column: Column, index: number, element: SchemaElement, maxRows: number) {
    super(column, index, element, maxRows)
    this.vals = new Uint8Array(this.size)
  }

  protected resize(size: number): void {
    this.vals = grown(this.vals, size)
  }

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
          vals[n++] = toBoolean(v, column) ? 1 : 0
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
    return Math.ceil(this.count / 8)
  }

  protected writeDictionary(): void {
    throw new Error('BooleanColumn has no dictionary')
  }

  /** PLAIN booleans: bit-packed, least significant bit first. */
  protected writePlain(out: Bytes, from: number, to: number): void {
    const bytes = Math.ceil((to - from) / 8)
    out.ensure(bytes)
    const buf = out.buf
    buf.fill(0, out.pos, out.pos + bytes)
    const vals = this.vals
    for (let i = from; i < to; i++) {
      const k = i - from
      if (vals[i]) buf[out.pos + (k >> 3)] |= 1 << (k & 7)
    }
    out.pos += bytes
  }

  protected minMax(): MinMax {
    let any = false
    let all = true
    for (let i = 0; i < this.count; i++) {
      if (this.vals[i]) any = true
      else all = false
    }
    return { min_value: all, max_value: any }
  }
}

/**
 * Decimals of 19+ digits: big-endian two's complement in FIXED_LEN_BYTE_ARRAY(type_length). Values of
 * up to 15 digits (nearly all of them: ODP's ODQ_ENTITYCNTR is DEC 37 and holds 1, 0 or -1) are kept
 * in a Float64Array and only wider ones as bigints, so a row group holds no object per value: 100,000
 * bigints kept for a whole row group would all end up in the old generation as garbage.
 */
export class FixedDecimalColumn extends ColumnWriter {
  private vals: Float64Array
  /** Values wider than 15 digits, by dense index (their slot in `vals` is unused). */
  private readonly wide = new Map<number, bigint>()
  private readonly typeLength: number

  constructor(column: Column, index: number, element: SchemaElement, maxRows: number) {
    super(column, index, element, maxRows)
    this.vals = new Float64Array(this.size)
    this.typeLength = element.type_length as number
  }

  protected resize(size: number): void {
    this.vals = grown(this.vals, size)
  }

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
          const x = parseDecimal(v, column)
          if (typeof x === 'number') vals[n] = x
          else this.wide.set(n, x)
          n++
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
    return this.count * this.typeLength
  }

  protected writeDictionary(): void {
    throw new Error('FixedDecimalColumn has no dictionary')
  }

  protected writePlain(out: Bytes, from: number, to: number): void {
    const len = this.typeLength // ≥ 9 for 19+ digits
    out.ensure((to - from) * len)
    const { buf, view } = out
    const { vals, wide } = this
    let p = out.pos
    for (let i = from; i < to; i++, p += len) {
      const w = wide.size > 0 ? wide.get(i) : undefined
      if (w === undefined) {
        // a safe integer: sign bytes, then its 64-bit two's complement big-endian
        const v = vals[i]
        buf.fill(v < 0 ? 0xff : 0, p, p + len - 8)
        const hi = Math.floor(v / TWO_32)
        view.setInt32(p + len - 8, hi, false)
        view.setUint32(p + len - 4, v - hi * TWO_32, false)
      } else {
        let x = BigInt.asUintN(8 * len, w)
        for (let k = len - 1; k >= 0; k--) {
          buf[p + k] = Number(x & 0xffn)
          x >>= 8n
        }
      }
    }
    out.pos = p
  }

  protected minMax(): MinMax {
    let min: bigint | undefined
    let max: bigint | undefined
    let lo = Infinity
    let hi = -Infinity
    for (let i = 0; i < this.count; i++) {
      const w = this.wide.size > 0 ? this.wide.get(i) : undefined
      if (w === undefined) {
        const v = this.vals[i]
        if (v < lo) lo = v
        if (v > hi) hi = v
      } else {
        if (min === undefined || w < min) min = w
        if (max === undefined || w > max) max = w
      }
    }
    if (lo <= hi) {
      if (min === undefined || BigInt(lo) < min) min = BigInt(lo)
      if (max === undefined || BigInt(hi) > max) max = BigInt(hi)
    }
    return { min_value: min, max_value: max }
  }

  protected override clear(): void {
    this.wide.clear()
  }
}
