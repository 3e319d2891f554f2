import { randomUUID } from 'node:crypto'
import type { Logger } from '../util/logger.js'
import {
  type BusEvent,
  type BusEventOf,
  type BusKind,
  InMemoryProgressBus,
  type ProgressBus,
  type ProgressEvent,
  type ProgressFilter,
} from './progress.js'
import type { RedisChannels } from './redis-channels.js'

/**
 * An event on the wire, with the process that sent it: a progress event with its bigints as decimal
 * strings and its time as ISO text, or a log doorbell as it is (numbers and strings only).
 */
interface WireMessage {
  from: string
  event: Record<string, string | number>
}

/**
 * The progress bus of a deployment with several processes (docs/architecture.md#progress): every
 * event is one PUBLISH on `<prefix>:progress`, and each process's one subscription fans it out to
 * its local subscribers through an in-memory bus, so 200 subscribers on an instance cost one Redis
 * message per event.
 *
 * Order: a process delivers its own events to its local subscribers at once, in the order it
 * publishes them, and drops their echo from Redis (so each is delivered once, even while Redis is
 * away). Events of other processes arrive in the order each process published them: Redis keeps the
 * order of one connection's PUBLISHes on one channel. A run's events come from the one worker that
 * holds it, so a run's events reach every subscriber in order; runProgress never sends a subscriber
 * backwards from its snapshot in any case. It listens as long as its channels are open; after a
 * drop of the subscription it tells the subscribers that asked for it to re-read (`resync`).
 */
export class RedisProgressBus implements ProgressBus {
  readonly #local = new InMemoryProgressBus()
  readonly #from = randomUUID()

  constructor(
    private readonly channels: RedisChannels,
    log: Logger,
  ) {
    channels.listen('progress', (text) => {
      let event: BusEvent | undefined
      try {
        const message = JSON.parse(text) as WireMessage
        if (message.from !== this.#from) event = decode(message.event)
      } catch (err) {
        log.warn({ err }, 'unreadable progress message on Redis ignored')
      }
      if (event) this.#local.publish(event)
    })
    channels.onResync((since) => {
      log.info({ since }, 'progress subscription back after a Redis drop: streams re-read their runs from the database')
      this.#local.resync(since)
    })
  }

  publish(event: BusEvent): void {
    this.#local.publish(event)
    this.channels.publish('progress', JSON.stringify({ from: this.#from, event: encode(event) } satisfies WireMessage))
  }

  subscribe<K extends BusKind = BusKind>(filter: ProgressFilter<K>, signal?: AbortSignal): AsyncIterableIterator<BusEventOf<K>> {
    return this.#local.subscribe(filter, signal)
  }
}

const encode = (e: BusEvent): WireMessage['event'] => (e.kind === 'event' ? { ...e } : encodeProgress(e))

const decode = (e: WireMessage['event']): BusEvent =>
  e.kind === 'event'
    ? { kind: 'event', runId: String(e.runId), pipelineId: String(e.pipelineId), eventId: Number(e.eventId) }
    : decodeProgress(e)

const encodeProgress = (e: ProgressEvent): WireMessage['event'] => ({
  ...e,
  rowsExtracted: String(e.rowsExtracted),
  rowsWritten: String(e.rowsWritten),
  bytesWritten: String(e.bytesWritten),
  at: e.at.toISOString(),
})

const decodeProgress = (e: WireMessage['event']): ProgressEvent => ({
  kind: e.kind as ProgressEvent['kind'],
  runId: String(e.runId),
  pipelineId: String(e.pipelineId),
  status: e.status as ProgressEvent['status'],
  stage: e.stage as ProgressEvent['stage'],
  rowsExtracted: BigInt(e.rowsExtracted),
  rowsWritten: BigInt(e.rowsWritten),
  filesWritten: Number(e.filesWritten),
  bytesWritten: BigInt(e.bytesWritten),
  at: new Date(e.at),
})
