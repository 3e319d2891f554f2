/**
 * What a worker did with a run it was handed: `done` (it ran, or it was not there to run: cancelled,
 * taken by another worker), or `no-slot` (still QUEUED: a concurrency limit of its connection or of
 * the whole service is reached). A `no-slot` run must be offered again later, without losing its
 * place: claims are made in queue order, so offering it again early costs one query.
 */
export type Handled = 'done' | 'no-slot'

/** How soon a run that found no free slot is offered again, at the latest. */
export const NO_SLOT_RETRY_MS = 1_000

/**
 * Where QUEUED runs wait for a worker. The in-process queue serves the one-process setup; the Redis
 * queue (BullMQ) implements the same interface for an API with many workers.
 */
export interface RunQueue {
  /**
   * Whether the queue lives outside this process (queue mode). Such a queue can lose a run's entry
   * (Redis restarted without persistence, a process died between creating the run and queueing it),
   * so the orchestrator offers QUEUED runs to it again now and then; an in-process queue cannot.
   */
  readonly shared: boolean
  /** Queues a run; with `notBefore` it waits until then (the backoff of an automatic retry). */
  enqueue(runId: string, notBefore?: Date | null): Promise<void>
  /** Drops a run that has not started; false if it is already running or unknown. */
  remove(runId: string): Promise<boolean>
  /** Starts taking runs; `handler` resolves when the run has ended or could not start (see {@link Handled}). */
  start(handler: (runId: string) => Promise<Handled>): void
  /** Stops taking runs and waits for the handlers in flight. */
  stop(): Promise<void>
}

export class InProcessQueue implements RunQueue {
  readonly shared = false
  readonly #waiting: string[] = []
  readonly #delayed = new Map<string, NodeJS.Timeout>()
  readonly #running = new Set<Promise<void>>()
  /** Runs that found no free slot and wait to be offered again. */
  readonly #noSlot = new Set<string>()
  #handler?: (runId: string) => Promise<Handled>
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
    this.#noSlot.delete(runId)
    const i = this.#waiting.indexOf(runId)
    if (i !== -1) this.#waiting.splice(i, 1)
    return delayed || i !== -1
  }

  private clearDelay(runId: string): boolean {
    const timer = this.#delayed.get(runId)
    if (timer) clearTimeout(timer)
    return this.#delayed.delete(runId)
  }

  start(handler: (runId: string) => Promise<Handled>): void {
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
      this.#noSlot.delete(runId)
      const task: Promise<void> = handler(runId)
        .then((handled) => {
          // A slot may free in another process too: offer the run again after a while, or at once
          // when a run of this process ends. Its place is kept by the claim's queue order.
          if (handled === 'no-slot') {
            this.#noSlot.add(runId)
            void this.enqueue(runId, new Date(Date.now() + NO_SLOT_RETRY_MS))
          } else for (const waiting of this.#noSlot) void this.enqueue(waiting)
        })
        .catch(() => {}) // the handler records its own failures on the run
        .finally(() => {
          this.#running.delete(task)
          this.pump()
        })
      this.#running.add(task)
    }
  }
}
