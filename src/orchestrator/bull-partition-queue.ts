import { type Job, Queue, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import type { Logger } from '../util/logger.js'
import type { PartitionJob, PartitionMessage, PartitionQueue, PartitionTiming } from './partition-queue.js'
import type { RedisChannels } from './redis-channels.js'

/** The BullMQ queue of partition attempts (docs/architecture.md#partitions), beside the run queue `runs`. */
const PARTITION_QUEUE_NAME = 'partitions'

export interface BullPartitionQueueOptions {
  redisUrl: string
  prefix: string
  /** Partitions this process reads at the same time (PARTITION_CONCURRENCY). */
  concurrency: number
  timing: PartitionTiming
  channels: RedisChannels
  log: Logger
}

/**
 * Partition jobs over BullMQ. Like the run queue, BullMQ only delivers: a job is never retried by
 * BullMQ (the run's owner queues a failed or stale attempt again as the next attempt, a new job),
 * and a job delivered twice is harmless, because the partition worker's claim (QUEUED → RUNNING) is
 * conditional. The job lock lasts the partition's stale window, the same clock the owner uses.
 */
export class BullPartitionQueue implements PartitionQueue {
  readonly #connection: Redis
  readonly #queue: Queue<PartitionJob>
  #worker?: Worker<PartitionJob>

  constructor(private readonly opts: BullPartitionQueueOptions) {
    this.#connection = new Redis(opts.redisUrl, { maxRetriesPerRequest: null })
    this.#connection.on('error', (err) => opts.log.warn({ err: { message: err.message } }, 'redis connection error'))
    this.#queue = new Queue<PartitionJob>(PARTITION_QUEUE_NAME, { connection: this.#connection, prefix: opts.prefix })
    this.#queue.on('error', (err) => opts.log.warn({ err }, 'partition queue error'))
  }

  get timing(): PartitionTiming {
    return this.opts.timing
  }

  async enqueue(jobId: string, job: PartitionJob): Promise<void> {
    // Same id while the job exists: BullMQ adds nothing (an owner offering a QUEUED row again).
    await this.#queue.add('partition', job, { jobId, attempts: 1, removeOnComplete: true, removeOnFail: true })
  }

  start(handler: (job: PartitionJob) => Promise<void>): void {
    if (this.#worker) return
    const { concurrency, prefix, timing, log } = this.opts
    this.#worker = new Worker<PartitionJob>(PARTITION_QUEUE_NAME, (job: Job<PartitionJob>) => handler(job.data), {
      connection: this.#connection,
      prefix,
      concurrency,
      lockDuration: timing.staleAfterMs,
      stalledInterval: Math.max(1_000, Math.floor(timing.staleAfterMs / 2)),
      maxStalledCount: 3,
      removeOnComplete: { count: 0 },
      removeOnFail: { count: 0 },
    })
    this.#worker.on('error', (err) => log.warn({ err }, 'partition queue worker error'))
  }

  publish(message: PartitionMessage): void {
    this.opts.channels.publish('partition', JSON.stringify(message))
  }

  listen(runId: string, listener: (message: PartitionMessage) => void): () => void {
    return this.opts.channels.listen('partition', (text) => {
      const m = parseMessage(text)
      if (m?.runId === runId) listener(m)
    })
  }

  async stop(): Promise<void> {
    await this.#worker?.close()
    await this.#queue.close()
    await this.#connection.quit().catch(() => this.#connection.disconnect())
  }
}

/** A message another process sent; anything else on the channel is ignored (the rows are the truth). */
function parseMessage(text: string): PartitionMessage | undefined {
  try {
    const m = JSON.parse(text) as Partial<PartitionMessage>
    return typeof m.runId === 'string' && typeof m.partitionId === 'number' && typeof m.rowsExtracted === 'number'
      ? { runId: m.runId, partitionId: m.partitionId, rowsExtracted: m.rowsExtracted, ended: m.ended === true }
      : undefined
  } catch {
    return undefined
  }
}
