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

async function slotsInUse(db: Tx, connectionId: string, globalLimit: number | null): Promise<SlotsInUse> {
  const running = await db.run.groupBy({
    by: ['connectionId'],
    // Without a global limit only this connection's runs matter.
    where: { status: 'RUNNING', ...(globalLimit == null ? { connectionId } : {}) },
    _count: { _all: true },
  })
  return {
    total: running.reduce((n, g) => n + g._count._all, 0),
    byConnection: new Map(running.map((g) => [g.connectionId ?? '', g._count._all])),
  }
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
