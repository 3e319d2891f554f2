/**
 * The slot check of a claim (architecture.md#claim): inside the transaction that turns a QUEUED run
 * RUNNING, prove that neither its connection's `maxConcurrentRuns` nor the service's
 * MAX_CONCURRENT_RUNS would be exceeded, and that no run ahead of it in the queue would take the slot.
 */
import type { Db, Prisma, Run } from '../../db/client.js'
import { mayStart, queuedBefore, readyQueued, type RunsAhead, type SlotsInUse } from './queue-order.js'

type Tx = Prisma.TransactionClient

/**
 * Makes claims take turns, across processes: every claim writes the one `RunClaimLock` row first.
 * On PostgreSQL the row lock holds a second claim until the first commits, and (READ COMMITTED, the
 * default) its next statements count what the first started; SQLite has one writer, and a
 * transaction that begins with a write reads the latest data. So two workers can never both see the
 * last free slot. Claims are short (a few indexed reads) and take no other lock first, so one lock
 * for the whole service costs little and cannot deadlock.
 */
async function lockClaims(tx: Tx): Promise<void> {
  await tx.$executeRaw`INSERT INTO "RunClaimLock" ("id") VALUES (1) ON CONFLICT ("id") DO UPDATE SET "id" = 1`
}

async function slotsInUse(db: Tx | Db, connectionId: string, globalLimit: number | null): Promise<SlotsInUse> {
  const scope = globalLimit == null ? { connectionId } : {}
  const running = await db.run.groupBy({
    by: ['connectionId'],
    // Without a global limit only this connection's runs matter.
    where: { status: 'RUNNING', ...scope },
    _count: { _all: true },
  })
  const byConnection = new Map(running.map((g) => [g.connectionId ?? '', g._count._all]))
  let total = running.reduce((n, g) => n + g._count._all, 0)
  // Queue mode: a partitioned run's partitions queued to other workers each make a request of their
  // own; the run's own slot covers one of them, every further one takes a slot (architecture.md#partitions).
  for (const [connection, extra] of await partitionsBeyondOwnSlot(db, scope)) {
    byConnection.set(connection, (byConnection.get(connection) ?? 0) + extra)
    total += extra
  }
  return { total, byConnection }
}

/** Per connection: the queued partitions in flight (QUEUED or RUNNING) of RUNNING runs, beyond one per run. */
async function partitionsBeyondOwnSlot(db: Tx | Db, scope: Prisma.RunWhereInput): Promise<Map<string, number>> {
  const inFlight = await db.runPartition.findMany({
    where: { status: { in: ['QUEUED', 'RUNNING'] }, queuedAt: { not: null }, run: { is: { status: 'RUNNING', ...scope } } },
    select: { runId: true, run: { select: { connectionId: true } } },
  })
  const perRun = new Map<string, { connection: string; n: number }>()
  for (const p of inFlight) {
    const r = perRun.get(p.runId) ?? { connection: p.run.connectionId ?? '', n: 0 }
    r.n++
    perRun.set(p.runId, r)
  }
  const extra = new Map<string, number>()
  for (const { connection, n } of perRun.values()) extra.set(connection, (extra.get(connection) ?? 0) + n - 1)
  return extra
}

/**
 * How many partitions of a RUNNING partitioned run may be in flight at once in queue mode
 * (architecture.md#partitions): its own slot, plus the slots of its connection (and of the service)
 * that are free now and that no ready QUEUED run is waiting for — runs keep their claim on slots, a
 * partition only borrows what nobody waits for. Counted under the claim lock, so a claim and a
 * partition dispatch never both take the last slot; partitions already in flight are counted as in
 * every claim. At least 1: the run's own slot is always its own. Unlimited without limits.
 */
export async function partitionSlots(tx: Tx, runId: string, globalLimit: number | null): Promise<number> {
  await lockClaims(tx)
  const run = await tx.run.findUnique({ where: { id: runId }, select: { connectionId: true } })
  const connectionId = run?.connectionId
  const connection = connectionId
    ? await tx.connection.findUnique({ where: { id: connectionId }, select: { maxConcurrentRuns: true } })
    : null
  const limit = connection?.maxConcurrentRuns ?? null
  if (!connectionId || (limit == null && globalLimit == null)) return Number.POSITIVE_INFINITY
  const inUse = await slotsInUse(tx, connectionId, globalLimit)
  const now = new Date()
  const waiting = async (where: Prisma.RunWhereInput) => tx.run.count({ where: { ...readyQueued(now), ...where } })
  // This run's own in-flight partitions beyond its slot are in inUse: give them back to find its share.
  const own = await tx.runPartition.count({ where: { runId, status: { in: ['QUEUED', 'RUNNING'] }, queuedAt: { not: null } } })
  const mineBeyond = Math.max(0, own - 1)
  let free = Number.POSITIVE_INFINITY
  if (limit != null)
    free = Math.min(
      free,
      limit - ((inUse.byConnection.get(connectionId) ?? 0) - mineBeyond) - (await waiting({ pipeline: { connectionId } })),
    )
  if (globalLimit != null) free = Math.min(free, globalLimit - (inUse.total - mineBeyond) - (await waiting({})))
  return 1 + Math.max(0, free)
}

/**
 * The ready runs queued before `run`, by connection. A pipeline has at most one QUEUED or RUNNING
 * run (`Run.activeKey`), so counting pipelines that have such a run counts the runs, one row per
 * connection however long the queue.
 */
async function runsAhead(tx: Tx, run: Pick<Run, 'id' | 'queuedAt'>, connectionId: string, globalLimit: number | null): Promise<RunsAhead> {
  const groups = await tx.pipeline.groupBy({
    by: ['connectionId'],
    where: {
      runs: { some: { AND: [readyQueued(new Date()), queuedBefore(run)] } },
      ...(globalLimit == null ? { connectionId } : {}),
    },
    _count: { _all: true },
  })
  const limits = await tx.connection.findMany({
    where: { id: { in: groups.map((g) => g.connectionId) } },
    select: { id: true, maxConcurrentRuns: true },
  })
  const limitOf = new Map(limits.map((c) => [c.id, c.maxConcurrentRuns]))
  return new Map(groups.map((g) => [g.connectionId, { runs: g._count._all, limit: limitOf.get(g.connectionId) ?? null }]))
}

const CLAIMANT = {
  id: true,
  queuedAt: true,
  pipeline: { select: { connectionId: true, connection: { select: { maxConcurrentRuns: true } } } },
} as const

/**
 * Before the claim's transaction, without the lock: false when the run's connection or the whole
 * service is already full, so most runs offered again while every slot is taken are turned away
 * without queueing for the lock. Refusing is always safe (the run stays QUEUED and keeps its
 * place); a true here is only decided by {@link slotFree}.
 */
export async function slotsFullAtAGlance(db: Db, runId: string, globalLimit: number | null): Promise<boolean> {
  const run = await db.run.findUnique({ where: { id: runId }, select: CLAIMANT })
  if (!run) return false
  const { connectionId, connection } = run.pipeline
  if (connection.maxConcurrentRuns == null && globalLimit == null) return false
  return !mayStart(connectionId, connection.maxConcurrentRuns, new Map(), await slotsInUse(db, connectionId, globalLimit), globalLimit)
}

/**
 * Inside the claim's transaction, before the run is taken: whether a slot is free for it (true also
 * when nothing limits it, or when the run is gone and the claim will find nothing to take). Takes
 * the claim lock, held until the transaction ends. Slots are counted by status: a lost run (its
 * process died, its heartbeat stale) keeps its slot until the lost-run sweep fails it
 * (architecture.md#leases), so a crash can hold a slot for up to the stale window.
 */
export async function slotFree(tx: Tx, runId: string, globalLimit: number | null): Promise<boolean> {
  await lockClaims(tx)
  const run = await tx.run.findUnique({ where: { id: runId }, select: CLAIMANT })
  if (!run) return true
  const { connectionId, connection } = run.pipeline
  const limit = connection.maxConcurrentRuns
  if (limit == null && globalLimit == null) return true
  const inUse = await slotsInUse(tx, connectionId, globalLimit)
  if (!mayStart(connectionId, limit, new Map(), inUse, globalLimit)) return false
  return mayStart(connectionId, limit, await runsAhead(tx, run, connectionId, globalLimit), inUse, globalLimit)
}
