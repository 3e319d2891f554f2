import { rm } from 'node:fs/promises'
import type { Destination } from '../storage/destination.js'

export interface StagedFile {
  fileName: string
  localPath: string
  rows: number
  bytes: number
  sha256: string
}

/**
 * Uploads finished Parquet files while extraction goes on, a few at a time. The first failure is
 * kept and re-thrown by `done()` (and by the next `add()`), so the run stops instead of extracting
 * into a destination that has already failed. Each staged file is deleted once it is uploaded,
 * keeping local disk use to a few files whatever the table size.
 */
export class UploadQueue {
  readonly #active = new Set<Promise<void>>()
  readonly #waiting: StagedFile[] = []
  readonly #uploaded: StagedFile[] = []
  readonly #stop = new AbortController()
  readonly #signal: AbortSignal
  #error: unknown

  constructor(
    private readonly destination: Destination,
    private readonly prefix: string,
    private readonly concurrency: number,
    signal: AbortSignal,
    private readonly onUploaded: (file: StagedFile) => void,
  ) {
    this.#signal = AbortSignal.any([signal, this.#stop.signal])
  }

  add(file: StagedFile): void {
    this.throwIfFailed()
    this.#waiting.push(file)
    this.pump()
  }

  /** Resolves with every uploaded file in file order once all are stored. */
  async done(): Promise<StagedFile[]> {
    while (this.#active.size || this.#waiting.length) {
      this.pump()
      await Promise.race(this.#active)
    }
    this.throwIfFailed()
    return [...this.#uploaded].sort((a, b) => a.fileName.localeCompare(b.fileName))
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
      const task = this.upload(file).finally(() => this.#active.delete(task))
      this.#active.add(task)
    }
  }

  private async upload(file: StagedFile): Promise<void> {
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
