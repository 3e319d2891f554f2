/**
 * Raw rows of RODPS_REPL_ODP_FETCH `ET_DATA` (docs/sap-protocols.md §B.4, [CODE — empirical]):
 *
 * - each line has one RAW field `DATA` of 250 bytes; a row starts on a line boundary and spans as many
 *   consecutive lines as its bytes need; the tail of its last line is padded with 0x00;
 * - the row is the delivered fields in `ET_FIELDS` order, each `OUTPUTLENG` *characters* wide, in
 *   UTF-8 — so a multi-byte character can straddle two lines, and byte offsets differ from
 *   character offsets: we walk bytes and count characters, as the JCo parser does.
 *
 * "Character" here is an ABAP character, i.e. a UTF-16 code unit (ABAP on Unicode systems stores
 * UTF-16; a character outside the BMP takes two). That is also what a JS string index counts, so a
 * decoded row is sliced by plain string offsets.
 */
import { SourceError } from '../errors.js'

/** Bytes per `ET_DATA-DATA` line (§B.4). */
export const FRAGMENT_BYTES = 250

function protocol(msg: string): SourceError {
  return new SourceError('SOURCE_PROTOCOL', `ODP raw row decoding: ${msg}`)
}

/** One `ET_DATA` line as SAP or the driver hands it over. */
export type RawLine = Uint8Array | { DATA?: unknown }

function lineBytes(line: RawLine, index: number): Uint8Array {
  const v = line instanceof Uint8Array ? line : line.DATA
  if (v instanceof Uint8Array) return v
  // A driver configured to return RAW as hex text (not node-rfc's default Buffer) still decodes.
  if (typeof v === 'string' && /^(?:[0-9A-Fa-f]{2})*$/.test(v)) return Buffer.from(v, 'hex')
  throw protocol(`ET_DATA line ${index + 1} has no binary DATA field`)
}

/**
 * Splits the raw lines of one package into rows of field texts (blank-padded slots, `widths[i]`
 * characters each). A row that ends early (NUL before its last field is complete) is padded with
 * blanks: SAP pads with 0x00, and trailing blanks of the last field carry no information.
 */
export class RawRowDecoder {
  private readonly total: number
  /** Character offset of each field inside a row. */
  readonly offsets: number[]

  constructor(
    readonly widths: readonly number[],
    private readonly lineLength = FRAGMENT_BYTES,
  ) {
    if (widths.length === 0) throw protocol('no fields to decode')
    this.offsets = []
    let o = 0
    for (const w of widths) {
      this.offsets.push(o)
      o += w
    }
    this.total = o
  }

  /** Characters per row (sum of the field widths). */
  get rowWidth(): number {
    return this.total
  }

  /** Rows of field texts. */
  decode(lines: readonly RawLine[]): string[][] {
    return this.decodeRows(lines).map((row) => this.fields(row))
  }

  /** Rows as text of exactly `rowWidth` characters; fields sit at `offsets`. */
  decodeRows(lines: readonly RawLine[]): string[] {
    if (lines.length === 0) return []
    const L = this.lineLength
    const buf = Buffer.alloc(lines.length * L)
    for (let i = 0; i < lines.length; i++) {
      const b = lineBytes(lines[i], i)
      if (b.length > L) throw protocol(`ET_DATA line ${i + 1} has ${b.length} bytes; lines hold ${L}`)
      buf.set(b, i * L) // a shorter line (a driver that trims trailing 0x00) is padded back
    }
    const rows: string[] = []
    let start = 0
    while (start < buf.length) {
      if (buf[start] === 0) {
        // Only padding may follow the last row of a package.
        for (let p = start; p < buf.length; p++)
          if (buf[p] !== 0) throw protocol(`line ${Math.floor(p / L) + 1} starts with 0x00 padding but carries data`)
        break
      }
      const end = this.rowEnd(buf, start, rows.length)
      const text = buf.toString('utf8', start, end)
      rows.push(text.length < this.total ? text.padEnd(this.total, ' ') : text)
      const next = Math.max(start + L, Math.ceil(end / L) * L)
      for (let p = end; p < next && p < buf.length; p++) {
        if (buf[p] !== 0)
          throw protocol(
            `row ${rows.length} is longer than its ${this.total} characters (byte ${p - start} is not 0x00 padding); the field layout does not match ET_FIELDS`,
          )
      }
      start = next
    }
    return rows
  }

  /** Byte offset after the row that starts at `start`: walk UTF-8 counting UTF-16 units. */
  private rowEnd(buf: Buffer, start: number, rowIndex: number): number {
    let p = start
    let units = 0
    const n = buf.length
    while (units < this.total && p < n) {
      const b = buf[p]
      if (b < 0x80) {
        if (b === 0) break
        p++
        units++
      } else if (b >= 0xf0 && b < 0xf5) {
        if (!continues(buf, p, 3)) throw notUtf8(rowIndex, p - start)
        p += 4
        units += 2
      } else if (b >= 0xe0 && b < 0xf0) {
        if (!continues(buf, p, 2)) throw notUtf8(rowIndex, p - start)
        p += 3
        units++
      } else if (b >= 0xc2 && b < 0xe0) {
        if (!continues(buf, p, 1)) throw notUtf8(rowIndex, p - start)
        p += 2
        units++
      } else {
        throw protocol(`row ${rowIndex + 1}: byte 0x${b.toString(16)} at offset ${p - start} is not the start of a UTF-8 character`)
      }
    }
    if (p > n) throw protocol(`row ${rowIndex + 1} ends inside a multi-byte character at the end of the package`)
    if (units > this.total)
      throw protocol(`row ${rowIndex + 1}: a character straddles the end of the row (${units} > ${this.total} characters)`)
    return p
  }

  private fields(row: string): string[] {
    const out = new Array<string>(this.widths.length)
    for (let i = 0; i < this.widths.length; i++) out[i] = row.substr(this.offsets[i], this.widths[i])
    return out
  }
}

/** Whether the `count` bytes after the lead byte at `p` are 10xxxxxx (past the end: rowEnd reports it). */
function continues(buf: Buffer, p: number, count: number): boolean {
  for (let k = 1; k <= count; k++) if (p + k < buf.length && (buf[p + k] & 0xc0) !== 0x80) return false
  return true
}

function notUtf8(rowIndex: number, offset: number): SourceError {
  return protocol(`row ${rowIndex + 1} is not valid UTF-8 at byte ${offset}`)
}
