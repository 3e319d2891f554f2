/**
 * The part of an OData v2 JSON page outside `d.results`, collected as the bytes pass: just enough JSON
 * structure (nesting, strings, member names of the top two levels) to see where `d.results` begins,
 * and a copy of every byte, so `{"d":{"results":[],"__next":…}}` is parsed at the end whatever the
 * order of its members. Syntax is left to that JSON.parse.
 */
import { BACKSLASH, BodyShapeError, COLON, COMMA, LBRACE, LBRACKET, QUOTE, RBRACE, RBRACKET, isSpace } from './json-bytes.js'

export class PageEnvelope {
  /** The body's first `{` has been seen. */
  started = false
  /** `d.results` (or, v1 style, `d`) has begun. */
  sawResults = false
  /** scan() stopped right after the `[` that opens results. */
  entered = false
  /** Index in the caller's buffer up to which bytes were copied; the caller shifts it when it compacts. */
  copied = 0

  private readonly decoder = new TextDecoder()
  private buf!: Buffer
  private env = Buffer.allocUnsafe(1024)
  private envLen = 0
  private stack: number[] = []
  /** Member names of the objects at depth 1 and 2 (the last one read at each). */
  private readonly keys: Array<string | undefined> = []
  private inString = false
  private keyNext = false
  private valueNext = false
  private readingKey = false
  private keyAt = 0

  constructor(private readonly maxBytes: number) {}

  reset(): void {
    this.started = this.sawResults = this.entered = false
    this.copied = this.envLen = 0
    this.stack = []
    this.keys.length = 0
    this.inString = this.keyNext = this.valueNext = this.readingKey = false
  }

  /** Whether the body may end here: the top-level value is complete. */
  get complete(): boolean {
    return this.started && !this.inString && this.stack.length === 0
  }

  /**
   * Scans `buf[pos, len)`, copying it into the envelope. Returns where it stopped: at `len` (one past
   * it after a backslash whose escaped byte has not arrived), or right after the `[` that opens
   * results, with `entered` set.
   */
  scan(buf: Buffer, pos: number, len: number): number {
    this.buf = buf
    let i = pos
    while (i < len) {
      const c = buf[i]
      if (this.inString) {
        i += c === BACKSLASH ? 2 : 1
        if (c === QUOTE) {
          this.inString = false
          if (this.readingKey) this.closeKey(i - 1)
        }
        continue
      }
      i++
      if (isSpace(c) || !this.start(c)) continue
      if (this.structure(c, i)) return i
    }
    this.copy(Math.min(i, len))
    return i
  }

  /** Before the body's first `{`: whether `c` is JSON to follow (false for the bytes of a BOM). */
  private start(c: number): boolean {
    if (this.started) return true
    if (c === 0xef || c === 0xbb || c === 0xbf) return false // a UTF-8 BOM; TextDecoder drops it from the envelope
    if (c !== LBRACE) throw new BodyShapeError('syntax', 'the body does not start with {')
    this.started = true
    return true
  }

  /** One structural byte outside strings, `i` just after it; true when it opened results. */
  private structure(c: number, i: number): boolean {
    const top = this.stack[this.stack.length - 1]
    switch (c) {
      case LBRACE:
      case LBRACKET:
        if (c === LBRACKET && this.valueNext && this.atResults()) {
          this.copy(i)
          this.sawResults = this.entered = true
          return true
        }
        this.stack.push(c)
        this.keyNext = c === LBRACE
        this.valueNext = false
        break
      case RBRACE:
      case RBRACKET:
        if (this.stack.pop() === undefined) throw new BodyShapeError('syntax', `unexpected ${String.fromCharCode(c)}`)
        this.keyNext = this.valueNext = false
        break
      case QUOTE:
        this.inString = true
        this.readingKey = this.keyNext && top === LBRACE
        if (this.readingKey) {
          this.copy(i)
          this.keyAt = this.envLen
        }
        this.keyNext = this.valueNext = false
        break
      case COLON:
        this.valueNext = true
        break
      case COMMA:
        this.keyNext = top === LBRACE
        this.valueNext = false
        break
      default:
        this.valueNext = false
    }
    return false
  }

  /** Results ended with the `]` at `at` in the caller's buffer: it is copied with what follows. */
  resume(at: number): void {
    this.copied = at
    this.entered = this.keyNext = this.valueNext = false
  }

  /** The envelope, parsed; throws BodyShapeError when it is not JSON or has no `d.results`. */
  finish(): unknown {
    let envelope: unknown
    try {
      envelope = JSON.parse(this.decoder.decode(this.env.subarray(0, this.envLen)))
    } catch (e) {
      throw new BodyShapeError('syntax', (e as Error).message)
    }
    if (!this.sawResults) throw new BodyShapeError('no-results', 'no d.results array')
    return envelope
  }

  /** `d` (v1: `{"d":[…]}`) or `d.results` is the array about to start. */
  private atResults(): boolean {
    const depth = this.stack.length
    if (this.keys[1] !== 'd' || this.stack[0] !== LBRACE) return false
    if (depth !== 1 && !(depth === 2 && this.stack[1] === LBRACE && this.keys[2] === 'results')) return false
    // JSON.parse would keep the last one; rows of the first would already be out
    if (this.sawResults) throw new BodyShapeError('syntax', 'the body has two results arrays')
    return true
  }

  private closeKey(quoteAt: number): void {
    this.readingKey = false
    this.copy(quoteAt)
    const depth = this.stack.length
    if (depth > 2) return
    const raw = this.env.subarray(this.keyAt, this.envLen)
    // Names with escapes (`"\u0064"` is "d") go through JSON.parse; others are decoded as they are.
    this.keys[depth] = raw.includes(BACKSLASH) ? (JSON.parse(`"${this.decoder.decode(raw)}"`) as string) : this.decoder.decode(raw)
  }

  private copy(to: number): void {
    const n = to - this.copied
    if (n <= 0) return
    if (this.envLen + n > this.maxBytes) throw new BodyShapeError('too-large', `more than ${this.maxBytes} bytes outside d.results`)
    if (this.envLen + n > this.env.length) {
      const next = Buffer.allocUnsafe(Math.max(this.env.length * 2, this.envLen + n))
      this.env.copy(next, 0, 0, this.envLen)
      this.env = next
    }
    this.buf.copy(this.env, this.envLen, this.copied, to)
    this.envLen += n
    this.copied = to
  }
}
