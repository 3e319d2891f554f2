import { EventEmitter } from 'node:events'
import type { RunStage, RunStatus } from '../db/client.js'

/** A run as it stands: what `runProgress` and `runUpdates` send. */
export interface RunSnapshot {
  runId: string
  pipelineId: string
  status: RunStatus
  stage: RunStage
  rowsExtracted: bigint
  rowsWritten: bigint
  filesWritten: number
  bytesWritten: bigint
  at: Date
}

/** The snapshot of a run row as stored. */
export function snapshotOf(
  run: Pick<RunSnapshot, 'pipelineId' | 'status' | 'stage' | 'rowsExtracted' | 'rowsWritten' | 'filesWritten' | 'bytesWritten'> & {
    id: string
  },
): RunSnapshot {
  const { id, pipelineId, status, stage, rowsExtracted, rowsWritten, filesWritten, bytesWritten } = run
  return { runId: id, pipelineId, status, stage, rowsExtracted, rowsWritten, filesWritten, bytesWritten, at: new Date() }
}

/**
 * A run row as of a change: status, stage and counters of the change itself (the row may already
 * be further on when it is read), everything else as read.
 */
export function asOfChange<R extends object>(run: R, e: RunSnapshot): R & Omit<RunSnapshot, 'runId' | 'pipelineId' | 'at'> {
  const { status, stage, rowsExtracted, rowsWritten, filesWritten, bytesWritten } = e
  return { ...run, status, stage, rowsExtracted, rowsWritten, filesWritten, bytesWritten }
}

/** `status` and `stage` events are never throttled; `counters` are, to about ten a second per run. */
export type ProgressKind = 'status' | 'stage' | 'counters'
export interface ProgressEvent extends RunSnapshot {
  kind: ProgressKind
}

export interface ProgressFilter {
  runId?: string
  pipelineId?: string
  kinds?: readonly ProgressKind[]
}

/**
 * The one typed progress channel every stage reports on. In one process it is an in-memory emitter;
 * a Redis-backed implementation can carry the same events across processes.
 */
export interface ProgressBus {
  publish(event: ProgressEvent): void
  /** Events matching the filter, from now on, until the signal aborts or `return()` is called. */
  subscribe(filter: ProgressFilter, signal?: AbortSignal): AsyncIterableIterator<ProgressEvent>
}

/** Counters lag behind rather than pile up: a slow subscriber keeps the newest ones. */
const MAX_BUFFERED = 1000

export class InMemoryProgressBus implements ProgressBus {
  readonly #emitter = new EventEmitter().setMaxListeners(0)

  publish(event: ProgressEvent): void {
    this.#emitter.emit('progress', event)
  }

  subscribe(filter: ProgressFilter, signal?: AbortSignal): AsyncIterableIterator<ProgressEvent> {
    const emitter = this.#emitter
    const buffer: ProgressEvent[] = []
    let wake: (() => void) | undefined
    let done = false
    const listener = (e: ProgressEvent) => {
      if (filter.runId && e.runId !== filter.runId) return
      if (filter.pipelineId && e.pipelineId !== filter.pipelineId) return
      if (filter.kinds && !filter.kinds.includes(e.kind)) return
      if (buffer.length >= MAX_BUFFERED) {
        const i = buffer.findIndex((b) => b.kind === 'counters')
        buffer.splice(i === -1 ? 0 : i, 1)
      }
      buffer.push(e)
      wake?.()
    }
    const finish = () => {
      done = true
      emitter.off('progress', listener)
      wake?.()
    }
    emitter.on('progress', listener)
    signal?.addEventListener('abort', finish, { once: true })

    const iterator: AsyncIterableIterator<ProgressEvent> = {
      [Symbol.asyncIterator]: () => iterator,
      async next() {
        while (!buffer.length && !done) await new Promise<void>((r) => (wake = r))
        wake = undefined
        if (buffer.length) return { value: buffer.shift()!, done: false }
        return { value: undefined, done: true }
      },
      async return() {
        finish()
        signal?.removeEventListener('abort', finish)
        return { value: undefined, done: true }
      },
    }
    return iterator
  }
}
