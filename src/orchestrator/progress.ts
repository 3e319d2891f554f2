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

/** The run as an event says it stands, without the event's kind. */
export const withoutKind = ({ kind: _kind, ...s }: ProgressEvent): RunSnapshot => s

/**
 * A line was added to a run's own log (`RunEvent`, id `eventId`). A doorbell, not the line: the
 * `runEvents` subscription reads the lines from the database, so a lost or late bell delays a line
 * but cannot reorder or drop it (docs/architecture.md#progress).
 */
export interface RunLogged {
  kind: 'event'
  runId: string
  pipelineId: string
  eventId: number
}

/** What is published: a run's progress, or a doorbell of its log. */
export type BusEvent = ProgressEvent | RunLogged

/**
 * Not published, and for every run: this process may have missed events (its Redis subscription
 * was down and is back; pub/sub keeps nothing), so a stream that must not miss one reads the
 * database again (docs/architecture.md#progress). Only subscribers that ask for it get it.
 */
export interface Resync {
  kind: 'resync'
  /** When this process stopped hearing (its clock): whatever was published from then on may be lost. */
  since: Date
}

export type BusKind = BusEvent['kind'] | Resync['kind']
/** What a subscription to these kinds receives: progress events, log doorbells, resyncs, or a mix. */
export type BusEventOf<K extends BusKind> = [K] extends ['event']
  ? RunLogged
  : [K] extends [ProgressKind]
    ? ProgressEvent
    : [K] extends [ProgressKind | 'resync']
      ? ProgressEvent | Resync
      : BusEvent | Resync

export interface ProgressFilter<K extends BusKind = BusKind> {
  runId?: string
  pipelineId?: string
  kinds?: readonly K[]
}

/**
 * The one typed progress channel every stage reports on. In one process it is an in-memory emitter;
 * a Redis-backed implementation can carry the same events across processes.
 */
export interface ProgressBus {
  publish(event: BusEvent): void
  /** Events matching the filter, from now on, until the signal aborts or `return()` is called. */
  subscribe<K extends BusKind = BusKind>(filter: ProgressFilter<K>, signal?: AbortSignal): AsyncIterableIterator<BusEventOf<K>>
}

/** Counters lag behind rather than pile up: a slow subscriber keeps the newest ones. */
const MAX_BUFFERED = 1000

export class InMemoryProgressBus implements ProgressBus {
  readonly #emitter = new EventEmitter().setMaxListeners(0)

  publish(event: BusEvent): void {
    this.#emitter.emit('progress', event)
  }

  /** Tells every subscriber that asked for `resync` to read the database again (see {@link Resync}). */
  resync(since: Date): void {
    this.#emitter.emit('progress', { kind: 'resync', since } satisfies Resync)
  }

  subscribe<K extends BusKind = BusKind>(filter: ProgressFilter<K>, signal?: AbortSignal): AsyncIterableIterator<BusEventOf<K>> {
    type Matching = BusEventOf<K>
    const emitter = this.#emitter
    const buffer: Matching[] = []
    let wake: (() => void) | undefined
    let done = false
    const listener = (e: BusEvent | Resync) => {
      if (e.kind !== 'resync' && filter.runId && e.runId !== filter.runId) return
      if (e.kind !== 'resync' && filter.pipelineId && e.pipelineId !== filter.pipelineId) return
      if (filter.kinds && !(filter.kinds as readonly BusKind[]).includes(e.kind)) return
      if (buffer.length >= MAX_BUFFERED) {
        const i = buffer.findIndex((b) => b.kind === 'counters')
        buffer.splice(i === -1 ? 0 : i, 1)
      }
      buffer.push(e as Matching)
      wake?.()
    }
    const finish = () => {
      done = true
      emitter.off('progress', listener)
      wake?.()
    }
    emitter.on('progress', listener)
    signal?.addEventListener('abort', finish, { once: true })

    const iterator: AsyncIterableIterator<Matching> = {
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
