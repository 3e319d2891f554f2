/**
 * Where QUEUED runs wait for a worker. The in-process queue serves the one-process setup; a Redis
 * queue (BullMQ) can implement the same interface for an API with many workers.
 */
export interface RunQueue {
  /** Queues a run; with `notBefore` it waits until then (the backoff of an automatic retry). */
  enqueue(runId: string, notBefore?: Date | null): Promise<void>
  /** Drops a run that has not started; false if it is already running or unknown. */
  remove(runId: string): Promise<boolean>
  /** Starts taking runs; `handler` resolves when the run has ended. */
  start(handler: (runId: string) => Promise<void>): void
  /** Stops taking runs and waits for the handlers in flight. */
  stop(): Promise<void>
}

export class InProcessQueue implements RunQueue {
  readonly #waiting: string[] = []
  readonly #delayed = new Map<string, NodeJS.Timeout>()
  readonly #running = new Set<Promise<void>>()
  #handler?: (runId: string) => Promise<void>
  #stopped = false

  constructor(private readonly concurrency: number) {}

  async enqueue(runId: string, notBefore?: Date | null): Promise<void> {
    this.clearDelay(runId)
    const wait = notBefore ? notBefore.getTime() - Date.now() : 0
    if (wait > 0) {
      const timer = setTimeout(() => {
        this.#delayed.delete(runId)
        void this.enqueue(runId)
      }, wait)
      timer.unref()
      this.#delayed.set(runId, timer)
      return
    }
    if (this.#waiting.includes(runId)) return
    this.#waiting.push(runId)
    this.pump()
  }

  async remove(runId: string): Promise<boolean> {
    const delayed = this.clearDelay(runId)
    const i = this.#waiting.indexOf(runId)
    if (i !== -1) this.#waiting.splice(i, 1)
    return delayed || i !== -1
  }

  private clearDelay(runId: string): boolean {
    const timer = this.#delayed.get(runId)
    if (timer) clearTimeout(timer)
    return this.#delayed.delete(runId)
  }

  start(handler: (runId: string) => Promise<void>): void {
    this.#handler = handler
    this.#stopped = false
    this.pump()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    for (const id of [...this.#delayed.keys()]) this.clearDelay(id)
    await Promise.allSettled([...this.#running])
  }

  private pump(): void {
    const handler = this.#handler
    while (handler && !this.#stopped && this.#running.size < this.concurrency && this.#waiting.length) {
      const runId = this.#waiting.shift()!
      const task: Promise<void> = handler(runId)
        .catch(() => {}) // the handler records its own failures on the run
        .finally(() => {
          this.#running.delete(task)
          this.pump()
        })
      this.#running.add(task)
    }
  }
}
