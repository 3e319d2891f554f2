/**
 * The byte sink hyparquet-writer encodes into: an in-memory buffer that is written to the file and
 * fed to a streaming SHA-256 after every row group, so a file's bytes and checksum are known the
 * moment it is closed without reading it back.
 */
import { createHash, type Hash } from 'node:crypto'
import fs from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { ByteWriter } from 'hyparquet-writer'

/** Initial buffer; it grows to hold the largest encoded row group. */
const INITIAL_BYTES = 1 << 20
/**
 * A row group that encodes to more than this is spilled to the file synchronously while it is being
 * encoded, so the buffer never holds more than about this much (plus one page).
 */
const SPILL_BYTES = 32 << 20

export class FileSink extends ByteWriter {
  private readonly hash: Hash = createHash('sha256')
  private closed = false

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {
    super(INITIAL_BYTES)
  }

  /** Creates (or truncates) the file. */
  static async open(path: string): Promise<FileSink> {
    const handle = await fs.promises.open(path, 'w')
    return new FileSink(path, handle)
  }

  override ensure(size: number): void {
    if (this.index + size > this.buffer.byteLength && this.index >= SPILL_BYTES) this.flushSync()
    super.ensure(size)
  }

  private flushSync(): void {
    const chunk = new Uint8Array(this.buffer, 0, this.index)
    this.hash.update(chunk)
    let done = 0
    while (done < chunk.length) done += fs.writeSync(this.handle.fd, chunk, done, chunk.length - done)
    this.index = 0
  }

  /** Called by ParquetWriter after each row group; the next group is encoded only once this resolves. */
  async flush(): Promise<void> {
    if (this.index === 0) return
    const chunk = new Uint8Array(this.buffer, 0, this.index)
    this.hash.update(chunk)
    let done = 0
    while (done < chunk.length) {
      const { bytesWritten } = await this.handle.write(chunk, done, chunk.length - done)
      done += bytesWritten
    }
    this.index = 0
  }

  /** Called by ParquetWriter.finish() after the footer. */
  override finish(): Promise<void> {
    return this.flush()
  }

  /** Flushes, closes the file and returns its size and SHA-256 (hex). */
  async close(): Promise<{ bytes: number; sha256: string }> {
    await this.flush()
    this.closed = true
    await this.handle.close()
    return { bytes: this.offset, sha256: this.hash.digest('hex') }
  }

  /** Deletes a file if it exists. Never throws. */
  static async remove(path: string): Promise<void> {
    await fs.promises.rm(path, { force: true }).catch(() => undefined)
  }

  /** Closes (if still open) and deletes the file. Never throws. */
  async destroy(): Promise<void> {
    if (!this.closed) {
      this.closed = true
      await this.handle.close().catch(() => undefined)
    }
    await FileSink.remove(this.path)
  }
}
