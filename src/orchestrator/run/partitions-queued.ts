/**
 * The owner's side of a partitioned FULL run or split DELTA_INIT in queue mode
 * (docs/architecture.md#partitions): the worker holding the run plans the key ranges
 * (partitions.ts), queues one job per attempt for any worker to read (partition-worker.ts), and waits. It reads the `RunPartition` rows — woken by the
 * workers' messages on Redis, polling as the fallback — queues a retryable failure again as the next
 * attempt, takes back an attempt whose heartbeat went stale (its worker died) and removes the files
 * it may have left, and, once every partition has SUCCEEDED, rebuilds each one's figures from its row
 * for the integrity check. A split DELTA_INIT is the same with the start its owner fixed stored on
 * every row (partitioned-init.ts): each accepted attempt's end is on its row, and `combined` joins
 * them into the run's position. Verification, manifest and commit are the run's, as in one process.
 */
import type { RunPartition } from '../../db/client.js'
import { partitionSlots } from '../limits/slots.js'
import { partitionJobId, type PartitionQueue } from '../partition-queue.js'
import { knownRunErrorCode, type RunError } from '../run-errors.js'
import type { RunContext } from './context.js'
import { extractedOf, openedNames, parseFailure, parseWritten, PartitionFailed } from './partition-result.js'
import { combined, PARTITION_ATTEMPTS, type Partition, type PartitionExtract, type PartitionedRead } from './partitions.js'
import type { Extracted } from './stream.js'

/** The longest the owner waits between two looks at the rows when no message arrives (Redis pub/sub keeps nothing). */
const POLL_MS = 1_000

export async function streamQueuedPartitions(ctx: RunContext, partitioned: PartitionedRead, queue: PartitionQueue): Promise<Extracted> {
  const { db } = ctx.deps
  const runId = ctx.run.id
  await ctx.tracker.setStage('EXTRACTING')
  await db.runPartition.createMany({
    data: partitioned.plan.map((p) => ({ ...rowOf(p, partitioned), runId, attempt: 1, status: 'QUEUED' as const })),
  })
  const owner = new Owner(ctx, partitioned, queue)
  let bell: (() => void) | undefined
  const stopListening = queue.listen(runId, (m) => {
    owner.counted(m.partitionId, m.rowsExtracted)
    if (m.ended) bell?.()
  })
  try {
    for (;;) {
      ctx.signal.throwIfAborted()
      const rows = await db.runPartition.findMany({ where: { runId }, orderBy: [{ index: 'asc' }, { attempt: 'asc' }] })
      if (await owner.settle(rows)) break
      await owner.dispatch(rows)
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer)
          ctx.signal.removeEventListener('abort', wake)
          resolve()
        }
        const timer = setTimeout(wake, Math.min(POLL_MS, queue.timing.heartbeatMs))
        bell = wake
        ctx.signal.addEventListener('abort', wake, { once: true })
      })
    }
  } finally {
    stopListening()
    // Nobody may start what the run no longer waits for (a claim also needs the run RUNNING; this is sooner).
    await db.runPartition
      .updateMany({
        where: { runId, status: 'QUEUED' },
        data: { status: 'FAILED', finishedAt: new Date(), result: JSON.stringify(notNeeded) },
      })
      .catch((err) => ctx.log.warn({ err }, 'could not close the queued partitions of the run'))
  }
  const parts = owner.results()
  const reread = parts.reduce((n, p) => n + p.rowsReread, 0)
  if (reread)
    await ctx.tracker.note(
      'info',
      `partitions: ${reread} row(s) read again after failed attempts; rowsExtracted counts them, rowsWritten only the rows the manifest lists`,
    )
  const workers = new Set(
    (await db.runPartition.findMany({ where: { runId, status: 'SUCCEEDED' }, select: { workerId: true } })).map((r) => r.workerId),
  )
  await ctx.tracker.note('info', `partitions: read by ${workers.size} worker(s)`)
  await ctx.tracker.setStage('UPLOADING')
  return combined(parts, partitioned)
}

const notNeeded = { error: { code: 'CANCELLED', message: 'the run stopped waiting for this partition', retryable: false } }

/**
 * What every attempt's row says of its partition: the key range and, for a split DELTA_INIT, the
 * start fixed before any partition read — the same for every attempt, so a retried partition reads
 * from where its first attempt did (docs/sap-protocols.md §C.7).
 */
const rowOf = (p: Partition, { init }: Pick<PartitionedRead, 'init'>) => ({
  index: p.index,
  rangeField: p.range.field,
  rangeFrom: p.range.from ?? null,
  rangeTo: p.range.to ?? null,
  initStart: init?.start ?? null,
})

const latestPerIndex = (rows: RunPartition[]) => [...new Map(rows.map((r) => [r.index, r])).values()]

/** What the owner knows of its partitions between two looks at the rows. */
class Owner {
  /** Rows each attempt has read from SAP, as far as the owner has counted them into rowsExtracted. */
  readonly #read = new Map<number, number>()
  readonly #done = new Map<number, PartitionExtract>()

  private readonly plan: Partition[]

  constructor(
    private readonly ctx: RunContext,
    private readonly partitioned: PartitionedRead,
    private readonly queue: PartitionQueue,
  ) {
    this.plan = partitioned.plan
  }

  /** A running total of one attempt: only what it adds reaches the run's counters, so they never go back. */
  counted(partitionId: number, rows: number): void {
    const before = this.#read.get(partitionId) ?? 0
    if (rows <= before) return
    this.#read.set(partitionId, rows)
    this.ctx.tracker.add({ rowsExtracted: BigInt(rows - before) })
  }

  results(): PartitionExtract[] {
    return this.plan.map((p) => this.#done.get(p.index)!)
  }

  /** Takes in what the rows say; true when every partition has SUCCEEDED. */
  async settle(rows: RunPartition[]): Promise<boolean> {
    const staleBefore = new Date(Date.now() - this.queue.timing.staleAfterMs)
    for (const row of latestPerIndex(rows)) {
      if (row.status === 'SUCCEEDED' && !this.#done.has(row.index)) this.succeeded(row, rows)
      else if (row.status === 'FAILED') {
        const { error, opened = [], rowsRead = 0 } = parseFailure(row.id, row.result)
        this.counted(row.id, rowsRead)
        await this.again(row, { ...error, code: knownRunErrorCode(error.code) }, opened)
      } else if (row.status === 'RUNNING' && row.heartbeatAt < staleBefore) await this.takeBack(row)
    }
    return this.#done.size === this.plan.length
  }

  private succeeded(row: RunPartition, rows: RunPartition[]): void {
    const written = parseWritten(row.id, row.result)
    this.counted(row.id, written.rowsFromSource)
    const extracted = extractedOf(written)
    const earlier = rows.filter((r) => r.index === row.index && r.attempt < row.attempt)
    const rowsReread = earlier.reduce((n, r) => n + (this.#read.get(r.id) ?? 0), 0)
    this.#done.set(row.index, { partition: this.plan[row.index], attempts: row.attempt, extracted, rowsReread })
    const sum = (f: (x: (typeof extracted.files)[number]) => number) => extracted.files.reduce((n, x) => n + f(x), 0)
    this.ctx.tracker.add({
      rowsWritten: BigInt(sum((f) => f.rows)),
      filesWritten: extracted.files.length,
      bytesWritten: BigInt(sum((f) => f.bytes)),
    })
  }

  /**
   * A RUNNING attempt whose worker stopped renewing it (killed, cut off): failed as WORKER_LOST by a
   * conditional update on the row as seen (heartbeat and the file names it recorded), so a worker that
   * renews it or records another name meanwhile keeps it: the names removed are then all it may have
   * stored. Its worker, if alive, finds the row no longer its own and removes its files itself.
   */
  private async takeBack(row: RunPartition): Promise<void> {
    const error: RunError = {
      code: 'WORKER_LOST',
      message: `the worker reading partition ${this.plan[row.index].id} (attempt ${row.attempt}) stopped renewing it`,
      retryable: true,
    }
    const taken = await this.ctx.deps.db.runPartition.updateMany({
      where: { id: row.id, status: 'RUNNING', heartbeatAt: row.heartbeatAt, result: row.result },
      data: { status: 'FAILED', finishedAt: new Date(), result: JSON.stringify({ error, opened: openedNames(row.result) }) },
    })
    if (taken.count !== 1) return // it renewed or ended meanwhile: the next look sees how
    this.ctx.log.warn({ partition: this.plan[row.index].id, attempt: row.attempt, workerId: row.workerId }, 'partition worker lost')
    await this.again(row, error, openedNames(row.result))
  }

  /** A failed attempt: read again as the next attempt when worth it, else the run fails with its error. */
  private async again(row: RunPartition, error: RunError, opened: string[]): Promise<void> {
    const p = this.plan[row.index]
    // A run being cancelled or shut down ends for that reason, not for the partition it stopped.
    if (this.ctx.signal.aborted) throw this.ctx.signal.reason
    if (!error.retryable || row.attempt >= PARTITION_ATTEMPTS)
      throw new PartitionFailed(error.code, `partition ${p.id}: ${error.message}`, error.retryable)
    // Whatever the attempt may have stored goes before the next one starts (its worker removes them
    // too when it can): the run's prefix holds only what the manifest lists.
    for (const key of opened) await this.ctx.destination!.remove(`${this.ctx.prefix}/${key}`, this.ctx.signal)
    await this.ctx.deps.db.runPartition.create({
      data: { ...rowOf(p, this.partitioned), runId: this.ctx.run.id, attempt: row.attempt + 1, status: 'QUEUED' },
    })
    this.ctx.log.warn({ partition: p.id, attempt: row.attempt, code: error.code }, 'partition failed; queueing it again alone')
    await this.ctx.tracker.note(
      'warn',
      `partition ${p.id} failed (${error.message}); its ${opened.length} file(s) removed, reading it again alone (attempt ${row.attempt + 1})`,
    )
  }

  /**
   * Queues the attempts not yet queued, as many as the run's share of its connection's slots allows
   * (`partitionSlots`), and offers again those queued longer than a stale window (a job Redis lost;
   * queueing one whose job exists adds nothing).
   */
  async dispatch(rows: RunPartition[]): Promise<void> {
    const { db, maxConcurrentRuns } = this.ctx.deps
    const runId = this.ctx.run.id
    const latest = latestPerIndex(rows)
    const waiting = latest.filter((r) => r.status === 'QUEUED' && !r.queuedAt)
    const granted = !waiting.length
      ? []
      : await db.$transaction(async (tx) => {
          const cap = await partitionSlots(tx, runId, maxConcurrentRuns)
          const inFlight = await tx.runPartition.count({ where: { runId, status: { in: ['QUEUED', 'RUNNING'] }, queuedAt: { not: null } } })
          const picked = waiting.slice(0, Math.max(0, Math.min(waiting.length, cap - inFlight)))
          if (picked.length)
            await tx.runPartition.updateMany({
              where: { id: { in: picked.map((r) => r.id) }, status: 'QUEUED' },
              data: { queuedAt: new Date() },
            })
          return picked
        })
    const lostBefore = new Date(Date.now() - this.queue.timing.staleAfterMs)
    const again = latest.filter((r) => r.status === 'QUEUED' && r.queuedAt && r.queuedAt < lostBefore)
    for (const r of [...granted, ...again])
      await this.queue.enqueue(partitionJobId(runId, r.index, r.attempt), { runId, partitionId: r.id })
  }
}
