import { rm } from 'node:fs/promises'
import type { Destination } from '../storage/destination.js'

export interface StagedFile {
  /** The file's place in the run (0-based): part-00000 is 0. Names sort as text, numbers as numbers. */
  index: number
  fileName: string
  localPath: string
  rows: number
  bytes: number
  sha256: string
}

/**
 * Uploads finished Parquet files while extraction goes on, a few at a time. The first failure is
 * kept and re-thrown by `done()` (and by `add()`), so the run stops instead of extracting into a
 * destination that has already failed. Each staged file is deleted once it is uploaded, and `add()`
 * makes the producer wait while `concurrency` files are already waiting for a free upload slot: a
 * store slower than SAP holds extraction back instead of filling the disk, so at most
 * 2 × concurrency staged files (plus the one the writer is filling) exist whatever the table size.
 */
export class UploadQueue<F extends StagedFile = StagedFile> {
  readonly #active = new Set<Promise<void>>()
  readonly #waiting: F[] = []
  readonly #uploaded: F[] = []
  readonly #stop = new AbortController()
  readonly #signal: AbortSignal
  #error: unknown

  constructor(
    private readonly destination: Destination,
    private readonly prefix: string,
    private readonly concurrency: number,
    signal: AbortSignal,
    private readonly onUploaded: (file: F) => void,
  ) {
    this.#signal = AbortSignal.any([signal, this.#stop.signal])
  }

  /** Queues a staged file; resolves once there is room for the next one (rejects on an upload failure). */
  async add(file: F): Promise<void> {
    this.throwIfFailed()
    this.#waiting.push(file)
    this.pump()
    // Uploads never reject (upload() keeps the error), and each one that ends starts the next.
    while (this.#waiting.length >= this.concurrency && this.#active.size) await Promise.race(this.#active)
    this.throwIfFailed()
  }

  /** Resolves with every uploaded file in file order (by index: part-100000 comes after part-99999) once all are stored. */
  async done(): Promise<F[]> {
    while (this.#active.size || this.#waiting.length) {
      this.pump()
      await Promise.race(this.#active)
    }
    this.throwIfFailed()
    return [...this.#uploaded].sort((a, b) => a.index - b.index)
  }

  /** Stops what is in flight and waits for it to let go, so nothing lands after a clean-up. */
  async abort(): Promise<void> {
    this.#waiting.length = 0
    this.#stop.abort(new Error('upload stopped: the run is ending'))
    await Promise.allSettled([...this.#active])
  }

  private pump(): void {
    while (!this.#error && this.#active.size < this.concurrency && this.#waiting.length) {
      const file = this.#waiting.shift()!
      const task = this.upload(file).finally(() => {
        this.#active.delete(task)
        this.pump()
      })
      this.#active.add(task)
    }
  }

  private async upload(file: F): Promise<void> {
    try {
      await this.destination.putFile(`${this.prefix}/${file.fileName}`, file.localPath, this.#signal, { sha256: file.sha256 })
      await rm(file.localPath, { force: true })
      this.#uploaded.push(file)
      this.onUploaded(file)
    } catch (e) {
      this.#error ??= e
      this.#waiting.length = 0
    }
  }

  private throwIfFailed(): void {
    if (this.#error) throw this.#error
  }
}
