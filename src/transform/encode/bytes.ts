/**
 * Low-level encoders for page bodies: a growable byte buffer, UTF-8 without per-value allocation, and
 * the RLE / bit-packing hybrid used for definition levels and dictionary indexes.
 */
import os from 'node:os'

// Plain INT32/INT64/DOUBLE pages are copied straight out of typed arrays, which are in host byte order.
if (os.endianness() !== 'LE') throw new Error('the Parquet encoder needs a little-endian host')

/** A reusable, growable byte buffer. `reset()` keeps the memory for the next page. */
export class Bytes {
  buf: Uint8Array
  view: DataView
  pos = 0

  constructor(initial = 64 * 1024) {
    this.buf = new Uint8Array(initial)
    this.view = new DataView(this.buf.buffer)
  }

  reset(): void {
    this.pos = 0
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.pos + n
    if (need <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < need) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
    this.view = new DataView(next.buffer)
  }

  /** The bytes written so far (a view, valid until the next write or reset). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos)
  }

  u8(v: number): void {
    this.ensure(1)
    this.buf[this.pos++] = v
  }

  u32(v: number): void {
    this.ensure(4)
    this.view.setUint32(this.pos, v, true)
    this.pos += 4
  }

  varint(v: number): void {
    this.ensure(5)
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80
      v >>>= 7
    }
    this.buf[this.pos++] = v
  }

  append(bytes: Uint8Array): void {
    this.ensure(bytes.length)
    this.buf.set(bytes, this.pos)
    this.pos += bytes.length
  }
}

/**
 * Writes `s` as UTF-8 at `out.pos` (caller ensured 3 bytes per UTF-16 unit) and returns the byte
 * count. Lone surrogates become U+FFFD, exactly as TextEncoder does.
 */
function writeUtf8(out: Bytes, s: string): number {
  const buf = out.buf
  const start = out.pos
  let p = start
  const n = s.length
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i)
    if (c < 0x80) {
      buf[p++] = c
    } else if (c < 0x800) {
      buf[p++] = 0xc0 | (c >> 6)
      buf[p++] = 0x80 | (c & 0x3f)
    } else if (c < 0xd800 || c > 0xdfff) {
      buf[p++] = 0xe0 | (c >> 12)
      buf[p++] = 0x80 | ((c >> 6) & 0x3f)
      buf[p++] = 0x80 | (c & 0x3f)
    } else {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00)
        i++
        buf[p++] = 0xf0 | (c >> 18)
        buf[p++] = 0x80 | ((c >> 12) & 0x3f)
        buf[p++] = 0x80 | ((c >> 6) & 0x3f)
        buf[p++] = 0x80 | (c & 0x3f)
      } else {
        buf[p++] = 0xef
        buf[p++] = 0xbf
        buf[p++] = 0xbd
      }
    }
  }
  out.pos = p
  return p - start
}

/** PLAIN BYTE_ARRAY: 4-byte little-endian length, then the UTF-8 bytes. */
export function writePlainString(out: Bytes, s: string): void {
  out.ensure(4 + 3 * s.length)
  const lenAt = out.pos
  out.pos += 4
  const len = writeUtf8(out, s)
  out.view.setUint32(lenAt, len, true)
}

export function writePlainBytes(out: Bytes, b: Uint8Array): void {
  out.ensure(4 + b.length)
  out.view.setUint32(out.pos, b.length, true)
  out.buf.set(b, out.pos + 4)
  out.pos += 4 + b.length
}

/**
 * Code-point order (= UTF-8 byte order, the order Parquet statistics use for strings). JavaScript's
 * `<` compares UTF-16 units, which puts surrogate pairs before U+E000…U+FFFF; this fixes that.
 */
export function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        x = x <= 0xdfff ? x + 0x2000 : x - 0x800
        y = y <= 0xdfff ? y + 0x2000 : y - 0x800
      }
      return x - y
    }
  }
  return a.length - b.length
}

/** Unsigned lexicographic byte order (Parquet BYTE_ARRAY statistics). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return a.length - b.length
}

/** Smallest bit width that holds `max` (at least 1: some readers mishandle width 0). */
export function bitWidth(max: number): number {
  return max <= 1 ? 1 : 32 - Math.clz32(max)
}

/**
 * RLE / bit-packing hybrid (no length prefix) of `values[start..end)`, each < 2^width, width ≤ 24.
 * Runs of 8 or more equal values become RLE runs; everything else is bit-packed in groups of 8
 * (the last group padded with zeros, which readers ignore past num_values).
 */
export function writeHybrid(out: Bytes, values: ArrayLike<number>, start: number, end: number, width: number): void {
  const valueBytes = (width + 7) >> 3
  let i = start
  while (i < end) {
    const v = values[i]
    let j = i + 1
    while (j < end && values[j] === v) j++
    if (j - i >= 8) {
      // RLE run: header (count << 1), then the value in ceil(width/8) bytes
      out.varint((j - i) * 2)
      out.ensure(valueBytes)
      for (let k = 0; k < valueBytes; k++) out.buf[out.pos++] = (v >>> (8 * k)) & 0xff
      i = j
      continue
    }
    // bit-packed groups of 8 until a run of 8 starts at a group boundary (max 63 groups per header)
    let groups = 0
    let g = i
    while (g < end && groups < 63) {
      groups++
      g += 8
      if (g < end - 7) {
        const w = values[g]
        let k = 1
        while (k < 8 && values[g + k] === w) k++
        if (k === 8) break
      }
    }
    out.varint((groups << 1) | 1)
    out.ensure(groups * width)
    const buf = out.buf
    let p = out.pos
    let acc = 0
    let bits = 0
    const stop = i + groups * 8
    for (let k = i; k < stop; k++) {
      const x = k < end ? values[k] : 0
      acc |= x << bits
      bits += width
      while (bits >= 8) {
        buf[p++] = acc & 0xff
        acc >>>= 8
        bits -= 8
      }
    }
    out.pos = p
    i = stop
  }
}
