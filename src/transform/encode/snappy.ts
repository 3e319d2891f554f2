/**
 * Snappy compression (raw block format, as Parquet's SNAPPY codec uses it), written for throughput:
 * the output goes straight into one reusable buffer instead of growing a writer byte by byte.
 *
 * The algorithm is the one of snappyjs (MIT, Copyright (c) 2016 Zhipeng Jia), which hyparquet-writer
 * also ships; output is standard Snappy that every Parquet reader decodes.
 */

const MAX_HASH_TABLE_BITS = 14
const MAX_OFFSET = 0xffff
const INPUT_MARGIN = 15
const hashTables: Uint32Array[] = []

let out = new Uint8Array(1 << 20)

/** Worst case from the Snappy reference implementation. */
function maxCompressedLength(n: number): number {
  return 32 + n + Math.floor(n / 6)
}

/**
 * Compresses `input`. Returns a view of an internal buffer that is valid until the next call: copy it
 * (or write it out) before compressing anything else.
 */
export function snappyCompress(input: Uint8Array): Uint8Array {
  const n = input.length
  const max = maxCompressedLength(n)
  if (out.length < max) out = new Uint8Array(Math.max(max, out.length * 2))
  const o = out
  // preamble: uncompressed length as a varint
  let op = 0
  let len = n
  while (len > 0x7f) {
    o[op++] = (len & 0x7f) | 0x80
    len >>>= 7
  }
  o[op++] = len

  let nextEmit = 0
  if (n >= INPUT_MARGIN) {
    let bits = 1
    while (1 << bits <= n && bits <= MAX_HASH_TABLE_BITS) bits++
    bits--
    const shift = 32 - bits
    const table = hashTables[bits] ?? (hashTables[bits] = new Uint32Array(1 << bits))
    table.fill(0)

    const ipLimit = n - INPUT_MARGIN
    let ip = 1
    let nextHash = Math.imul(load32(input, ip), 0x1e35a7bd) >>> shift
    outer: for (;;) {
      let skip = 32
      let nextIp = ip
      let candidate = 0
      // find a 4-byte match
      for (;;) {
        ip = nextIp
        const hash = nextHash
        nextIp = ip + (skip++ >>> 5)
        if (ip > ipLimit) break outer
        // past the limit the next round stops before using the hash: do not read beyond the input
        nextHash = nextIp <= ipLimit ? Math.imul(load32(input, nextIp), 0x1e35a7bd) >>> shift : 0
        candidate = table[hash]
        table[hash] = ip
        if (
          ip - candidate <= MAX_OFFSET &&
          input[ip] === input[candidate] &&
          input[ip + 1] === input[candidate + 1] &&
          input[ip + 2] === input[candidate + 2] &&
          input[ip + 3] === input[candidate + 3]
        ) {
          break
        }
      }
      op = emitLiteral(o, op, input, nextEmit, ip - nextEmit)
      // emit copies while the data keeps matching
      for (;;) {
        const base = ip
        let matched = 4
        while (ip + matched < n && input[ip + matched] === input[candidate + matched]) matched++
        ip += matched
        op = emitCopy(o, op, base - candidate, matched)
        nextEmit = ip
        if (ip >= ipLimit) break outer
        table[Math.imul(load32(input, ip - 1), 0x1e35a7bd) >>> shift] = ip - 1
        const cur = Math.imul(load32(input, ip), 0x1e35a7bd) >>> shift
        candidate = table[cur]
        table[cur] = ip
        if (
          !(
            ip - candidate <= MAX_OFFSET &&
            input[ip] === input[candidate] &&
            input[ip + 1] === input[candidate + 1] &&
            input[ip + 2] === input[candidate + 2] &&
            input[ip + 3] === input[candidate + 3]
          )
        ) {
          break
        }
      }
      ip++
      nextHash = Math.imul(load32(input, ip), 0x1e35a7bd) >>> shift
    }
  }
  if (nextEmit < n) op = emitLiteral(o, op, input, nextEmit, n - nextEmit)
  return o.subarray(0, op)
}

function load32(a: Uint8Array, i: number): number {
  return a[i] | (a[i + 1] << 8) | (a[i + 2] << 16) | (a[i + 3] << 24)
}

function emitLiteral(o: Uint8Array, op: number, input: Uint8Array, from: number, len: number): number {
  if (len <= 60) {
    o[op++] = (len - 1) << 2
  } else {
    const v = len - 1
    const bytes = v < 0x100 ? 1 : v < 0x10000 ? 2 : v < 0x1000000 ? 3 : 4
    o[op++] = (59 + bytes) << 2
    for (let i = 0; i < bytes; i++) o[op++] = (v >>> (8 * i)) & 0xff
  }
  if (len < 32) {
    for (let i = 0; i < len; i++) o[op + i] = input[from + i]
  } else {
    o.set(input.subarray(from, from + len), op)
  }
  return op + len
}

function emitCopy(o: Uint8Array, op: number, offset: number, len: number): number {
  while (len >= 68) {
    op = emitCopyUpTo64(o, op, offset, 64)
    len -= 64
  }
  if (len > 64) {
    op = emitCopyUpTo64(o, op, offset, 60)
    len -= 60
  }
  return emitCopyUpTo64(o, op, offset, len)
}

function emitCopyUpTo64(o: Uint8Array, op: number, offset: number, len: number): number {
  if (len < 12 && offset < 2048) {
    o[op++] = 1 + ((len - 4) << 2) + ((offset >>> 8) << 5)
    o[op++] = offset & 0xff
  } else {
    o[op++] = 2 + ((len - 1) << 2)
    o[op++] = offset & 0xff
    o[op++] = offset >>> 8
  }
  return op
}
