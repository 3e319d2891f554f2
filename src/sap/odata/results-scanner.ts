/**
 * Reads an OData v2 JSON page as its bytes arrive and hands out the elements of `d.results` parsed,
 * a small group at a time, so a page (tens of MB of JSON, twice that as a two-byte JS string,
 * several times that as objects) is never held whole.
 *
 * One pass over the bytes tracks strings, escapes and nesting; its state survives chunk boundaries
 * and bytes stay in the buffer until they are parsed, so an escape or a multi-byte UTF-8 character
 * split across chunks is never decoded in halves. The bytes of consecutive complete elements are
 * contiguous, so a group of them is one `JSON.parse('[…]')`: V8's parser does the real work, and
 * validates it. Groups stay under `maxParseBytes`, so their text and objects are small and die young
 * (a string over 128 KB would be allocated straight into V8's old generation).
 *
 * Each row's own `__metadata` member (two long URLs, most of a row's bytes, never read) is cut out
 * before decoding; its content is not validated. Everything outside `results` goes to a PageEnvelope.
 */
import { BACKSLASH, BodyShapeError, COLON, COMMA, LBRACE, LBRACKET, QUOTE, RBRACE, RBRACKET, isSpace } from './json-bytes.js'
import { PageEnvelope } from './page-envelope.js'

export { BodyShapeError } from './json-bytes.js'

export interface ScannerOptions {
  /** A group handed out by take() ends after the element that reaches this many bytes (default 48 KiB). */
  maxParseBytes?: number
  /** Bytes outside `results` before the body is refused (a body that is not a page). */
  maxEnvelopeBytes?: number
}

/** `__metadata"`: the member name after its opening quote. */
const METADATA = Buffer.from('__metadata"')
const HEAD_BYTES = 120
const INITIAL_BYTES = 1 << 20
const DEFAULT_MAX_ENVELOPE = 1 << 20
/** Well under V8's 128 KB large-object threshold even as a two-byte string, but many rows per call. */
const DEFAULT_MAX_PARSE = 48 << 10

// Where the scanner is at the level of the results array.
const EXPECT_FIRST = 0 // after '[': an element or ']'
const EXPECT_NEXT = 1 // after ',': an element
const IN_ELEMENT = 2 // an element started (a scalar ends at ',' or ']')
const ELEMENT_DONE = 3 // a container or string element closed: ',' or ']' must follow

// What a byte at the array level means for the scan loop.
const GO_ON = 0
const OPENED = 1 // an object or array element began: depth 1
const STOP = 2 // a group is ready, or results ended

// Cutting out a row's `__metadata` member.
const DROP_NONE = 0
const DROP_NAME = 1 // name read, its value not yet started
const DROP_VALUE = 2 // inside the value object
const DROP_AFTER = 3 // value closed; the next ',' or '}' decides which comma goes with it

export class ResultsScanner {
  private buf = Buffer.allocUnsafe(INITIAL_BYTES)
  /** Bytes of the group being assembled for JSON.parse. */
  private out = Buffer.allocUnsafe(INITIAL_BYTES)
  private readonly decoder = new TextDecoder()
  private readonly maxParse: number
  private readonly envelope: PageEnvelope
  /** Most elements in the next group: the caller's room left in its batch. */
  maxRows = Number.POSITIVE_INFINITY
  private len = 0
  private pos = 0
  private inResults = false
  private headBytes: number[] = []

  // inside results
  private depth = 0
  private inString = false
  private state = EXPECT_FIRST
  /** The element being scanned is an object (its members have names). */
  private isObject = false
  /** The next string at depth 1 is a member name. */
  private keyPos = false
  /** The comma before the current member at depth 1; -1 after '{'. */
  private memberSep = -1
  /** This element's `__metadata` was found (only the first one is cut). */
  private dropped = false
  private drop = DROP_NONE
  /** Where the `__metadata` member starts (its name's quote), the comma before it, and its value's end. */
  private dropName = -1
  private dropSep = -1
  private dropEnd = -1
  /** [from, to) buffer ranges left out of the group. */
  private cuts: number[] = []
  private cutBytes = 0
  /** First byte of the group's first element, and the separator after its last complete one. */
  private groupStart = -1
  private groupEnd = -1
  /** Complete elements in the group. */
  private count = 0
  /** The group is complete: scanning waits until take() has parsed it. */
  private ready = false

  constructor(opts: ScannerOptions = {}) {
    this.maxParse = opts.maxParseBytes ?? DEFAULT_MAX_PARSE
    this.envelope = new PageEnvelope(opts.maxEnvelopeBytes ?? DEFAULT_MAX_ENVELOPE)
  }

  /** The first bytes of the body as text, for error messages. */
  get head(): string {
    return Buffer.from(this.headBytes).toString('utf8')
  }

  /** Starts the next body; keeps the buffers unless a huge row grew them. */
  reset(): void {
    if (this.buf.length > 4 * INITIAL_BYTES) this.buf = Buffer.allocUnsafe(INITIAL_BYTES)
    if (this.out.length > 4 * INITIAL_BYTES) this.out = Buffer.allocUnsafe(INITIAL_BYTES)
    this.len = this.pos = 0
    this.inResults = false
    this.headBytes = []
    this.envelope.reset()
    this.resetResults()
    this.resetGroup()
  }

  /** Appends the next bytes of the body and scans them (up to the next complete group). */
  push(chunk: Uint8Array): void {
    if (this.headBytes.length < HEAD_BYTES) {
      for (let k = 0; k < chunk.length && this.headBytes.length < HEAD_BYTES; k++) this.headBytes.push(chunk[k])
    }
    if (this.len + chunk.length > this.buf.length) this.makeRoom(chunk.length)
    this.buf.set(chunk, this.len)
    this.len += chunk.length
    this.scan()
  }

  /**
   * The next group of elements, parsed: at most `maxRows`, about `maxParseBytes` of JSON, fewer at
   * the end of `results`; undefined until the bytes of one have arrived.
   */
  take(): unknown[] | undefined {
    if (!this.ready) return undefined
    const rows = this.parseGroup()
    this.scan()
    return rows
  }

  /**
   * After the last byte: the envelope, parsed (`results` in it is empty). Throws BodyShapeError for a
   * body that ended early, is not JSON, or has no `d.results` array. Call take() until it returns
   * undefined first.
   */
  finish(): unknown {
    if (this.inResults || !this.envelope.complete) throw new BodyShapeError('syntax', 'the body ended before its JSON did')
    if (this.ready || this.count > 0) throw new Error('ResultsScanner: take the last group before finish()')
    return this.envelope.finish()
  }

  private scan(): void {
    while (!this.ready && this.pos < this.len) {
      if (this.inResults) {
        if (!this.scanResults()) return
      } else {
        this.pos = this.envelope.scan(this.buf, this.pos, this.len)
        if (!this.envelope.entered) return
        this.inResults = true
        this.resetResults()
      }
    }
  }

  /**
   * Inside results: finds element boundaries and the `__metadata` members to leave out. Returns false
   * when it needs more bytes, true when a group is ready or results ended. The per-byte loop keeps
   * position and depth in locals; what happens once per member or element is in methods.
   */
  private scanResults(): boolean {
    const buf = this.buf
    const len = this.len
    let i = this.pos
    let depth = this.depth
    while (i < len) {
      if (this.inString) {
        // Strings are most of the bytes: let indexOf find the closing quote, then count the
        // backslashes before it (they are still in the buffer: the element's bytes are kept).
        const q = buf.indexOf(QUOTE, i)
        if (q < 0 || q >= len) {
          i = len
          break
        }
        let k = q - 1
        while (buf[k] === BACKSLASH) k--
        i = q + 1
        if (((q - 1 - k) & 1) === 1) continue // an escaped quote
        this.inString = false
        if (depth === 0) this.state = ELEMENT_DONE
        continue
      }
      const c = buf[i++]
      if (c === QUOTE) {
        if (depth === 1 && this.keyPos && !this.dropped) {
          const next = this.metadataName(i)
          if (next < 0) {
            this.depth = depth
            this.pos = i - 1
            return false
          }
          // `__metadata`: its name is passed over, not scanned as a string
          if (next !== i) {
            i = next
            continue
          }
        } else if (depth === 1) {
          if (this.keyPos) this.keyPos = false
          else if (this.drop === DROP_NAME) this.drop = DROP_NONE // a string value: keep the member
        } else if (depth === 0) {
          if (this.state === IN_ELEMENT || this.state === ELEMENT_DONE)
            throw new BodyShapeError('syntax', 'a missing comma between elements of d.results')
          this.startElement(i - 1)
        }
        this.inString = true
      } else if (depth === 1 && c === COLON) {
        // after a member name: nothing to decide
      } else if (depth === 1 && c === COMMA) {
        if (this.drop !== DROP_NONE) this.dropBeforeComma(i)
        this.memberSep = i - 1
        this.keyPos = this.isObject
      } else if (depth > 0) {
        depth = this.nested(c, i, depth)
      } else {
        const step = this.arrayByte(c, i)
        if (step === OPENED) depth = 1
        else if (step === STOP) {
          this.depth = depth
          this.pos = i
          return true
        }
      }
    }
    this.depth = depth
    this.pos = i
    return false
  }

  /**
   * A member name opens (its quote just before `at`) while `__metadata` is not yet found. Returns
   * where scanning goes on: `at` (scan the name as a string), past the name when it is `__metadata`
   * (the member is cut out), or -1 when it might be but its end has not arrived.
   */
  private metadataName(at: number): number {
    const avail = Math.min(this.len - at, METADATA.length)
    let k = 0
    while (k < avail && this.buf[at + k] === METADATA[k]) k++
    if (k === avail && k < METADATA.length) return -1 // so far it reads `__metadata`: look again with more bytes
    this.keyPos = false
    if (k < METADATA.length) return at
    this.dropped = true
    this.drop = DROP_NAME
    this.dropName = at - 1
    this.dropSep = this.memberSep
    return at + METADATA.length
  }

  /** A byte outside strings inside an element, `at` just after it; returns the new depth. */
  private nested(c: number, at: number, depth: number): number {
    if (c === LBRACE || c === LBRACKET) {
      if (depth === 1 && this.drop === DROP_NAME) this.drop = c === LBRACE ? DROP_VALUE : DROP_NONE
      return depth + 1
    }
    if (c === RBRACE || c === RBRACKET) {
      if (depth === 2 && this.drop === DROP_VALUE) {
        this.drop = DROP_AFTER
        this.dropEnd = at
      } else if (depth === 1) {
        // the last member: the comma before it goes with it
        if (this.drop === DROP_AFTER) this.cut(this.dropSep >= 0 ? this.dropSep : this.dropName, this.dropEnd)
        this.drop = DROP_NONE
        this.state = ELEMENT_DONE
      }
      return depth - 1
    }
    if (depth === 1 && this.drop === DROP_NAME && !isSpace(c)) this.drop = DROP_NONE // a scalar value: keep the member
    return depth
  }

  /** A comma at depth 1 (`at` just after it) while a `__metadata` member is being cut. */
  private dropBeforeComma(at: number): void {
    if (this.drop === DROP_AFTER) this.cut(this.dropName, at) // the comma after it goes with it
    if (this.drop === DROP_AFTER || this.drop === DROP_NAME) this.drop = DROP_NONE
  }

  /** A byte at the level of the results array, `at` just after it: between and around elements. */
  private arrayByte(c: number, at: number): number {
    if (isSpace(c)) return GO_ON
    if (c === COMMA) {
      if (this.state !== IN_ELEMENT && this.state !== ELEMENT_DONE)
        throw new BodyShapeError('syntax', 'a comma without an element in d.results')
      this.completeElement(at - 1)
      this.state = EXPECT_NEXT
      return this.ready ? STOP : GO_ON
    }
    if (c === RBRACKET) {
      if (this.state === EXPECT_NEXT) throw new BodyShapeError('syntax', 'a trailing comma in d.results')
      if (this.state !== EXPECT_FIRST) this.completeElement(at - 1)
      this.ready = this.count > 0
      // back outside: the ']' is copied into the envelope
      this.inResults = false
      this.envelope.resume(at - 1)
      return STOP
    }
    if (c === RBRACE) throw new BodyShapeError('syntax', 'unexpected } in d.results')
    const opens = c === LBRACE || c === LBRACKET
    if (this.state === ELEMENT_DONE || (this.state === IN_ELEMENT && opens))
      throw new BodyShapeError('syntax', 'a missing comma between elements of d.results')
    if (this.state !== IN_ELEMENT) this.startElement(at - 1)
    if (!opens) return GO_ON
    this.isObject = c === LBRACE
    this.keyPos = this.isObject
    this.memberSep = -1
    this.dropped = false
    return OPENED
  }

  private startElement(at: number): void {
    if (this.groupStart < 0) this.groupStart = at
    this.state = IN_ELEMENT
  }

  private completeElement(separator: number): void {
    this.count++
    this.groupEnd = separator
    if (this.count >= this.maxRows || separator - this.groupStart - this.cutBytes >= this.maxParse) this.ready = true
  }

  private cut(from: number, to: number): void {
    this.cuts.push(from, to)
    this.cutBytes += to - from
  }

  private resetResults(): void {
    this.depth = 0
    this.inString = false
    this.state = EXPECT_FIRST
    this.keyPos = false
    this.memberSep = -1
    this.dropped = false
    this.drop = DROP_NONE
  }

  private resetGroup(): void {
    this.groupStart = this.groupEnd = -1
    this.count = 0
    this.cuts.length = 0
    this.cutBytes = 0
    this.ready = false
  }

  /** `[` + the group's element bytes without the cut ranges + `]`, decoded and parsed. */
  private parseGroup(): unknown[] {
    const { buf, cuts } = this
    const end = this.groupEnd
    if (this.out.length < end - this.groupStart + 2) this.out = Buffer.allocUnsafe(Math.max(this.out.length * 2, end - this.groupStart + 2))
    const out = this.out
    out[0] = LBRACKET
    let n = 1
    let from = this.groupStart
    for (let k = 0; k < cuts.length; k += 2) {
      n += buf.copy(out, n, from, cuts[k])
      from = cuts[k + 1]
    }
    n += buf.copy(out, n, from, end)
    out[n++] = RBRACKET
    this.resetGroup()
    try {
      return JSON.parse(this.decoder.decode(out.subarray(0, n))) as unknown[]
    } catch (e) {
      throw new BodyShapeError('syntax', (e as Error).message)
    }
  }

  /**
   * Room for `n` more bytes: drops what is no longer needed (parsed elements, bytes copied into the
   * envelope) by moving the rest to the front, and grows the buffer only when that is not enough.
   */
  private makeRoom(n: number): void {
    let keep = this.inResults ? this.pos : Math.min(this.envelope.copied, this.pos)
    if (this.groupStart >= 0) keep = Math.min(keep, this.groupStart)
    keep = Math.min(keep, this.len)
    const size = this.len - keep
    let target = this.buf
    if (size + n > this.buf.length) target = Buffer.allocUnsafe(Math.max(this.buf.length * 2, size + n))
    this.buf.copy(target, 0, keep, this.len)
    this.buf = target
    const shift = (p: number) => (p >= 0 ? p - keep : p)
    this.len = size
    this.pos -= keep
    this.envelope.copied = Math.max(0, this.envelope.copied - keep)
    this.groupStart = shift(this.groupStart)
    this.groupEnd = shift(this.groupEnd)
    this.memberSep = shift(this.memberSep)
    this.dropName = shift(this.dropName)
    this.dropSep = shift(this.dropSep)
    this.dropEnd = shift(this.dropEnd)
    for (let k = 0; k < this.cuts.length; k++) this.cuts[k] -= keep
  }
}
