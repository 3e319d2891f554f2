/**
 * The slot check of a claim (architecture.md#claim): inside the transaction that turns a QUEUED run
 * RUNNING, prove that neither its connection's `maxConcurrentRuns` nor the service's
 * MAX_CONCURRENT_RUNS would be exceeded, and that no run ahead of it in the queue would take the slot.
 */
import type { Prisma } from '../../db/client.js'
import { type Contender, mayStart, queuedBefore, readyQueued, type SlotsInUse } from './queue-order.js'

type Tx = Prisma.TransactionClient

/**
 * Makes claims take turns, across processes: every claim writes the one `RunClaimLock` row first.
 * On PostgreSQL the row lock holds a second claim until the first commits, and it then counts what
 * the first started; SQLite has one writer, and a transaction that begins with a write reads the
 * latest data. So two workers can never both see the last free slot. Claims are short (a few
 * indexed reads), so one lock for the whole service costs little and cannot deadlock.
 */
async function lockClaims(tx: Tx): Promise<void> {
  await tx.$executeRaw`INSERT INTO "RunClaimLock" ("id") VALUES (1) ON CONFLICT ("id") DO UPDATE SET "id" = 1`
}

const CONTENDER = { pipeline: { select: { connectionId: true, connection: { select: { maxConcurrentRuns: true } } } } } as const

const contenderOf = (r: Prisma.RunGetPayload<{ select: typeof CONTENDER }>): Contender => ({
  connectionId: r.pipeline.connectionId,
  connectionLimit: r.pipeline.connection.maxConcurrentRuns,
})

/**
 * Inside the claim's transaction, before the run is taken: whether a slot is free for it (true also
 * when nothing limits it). Takes the claim lock, held until the transaction ends. Slots are counted
 * by status: a lost run (its process died, its heartbeat stale) keeps its slot until the lost-run
 * sweep fails it (architecture.md#leases), so a crash can hold a slot for up to the stale window.
 */
export async function slotFree(tx: Tx, runId: string, globalLimit: number | null): Promise<boolean> {
  await lockClaims(tx)
  const run = await tx.run.findUnique({ where: { id: runId }, select: { id: true, queuedAt: true, ...CONTENDER } })
  if (!run) return true // gone: the claim itself finds nothing to take
  const me = contenderOf(run)
  if (me.connectionLimit == null && globalLimit == null) return true
  // Without a global limit only the runs of this connection compete for its slots.
  const sameConnection = globalLimit == null ? { pipeline: { connectionId: me.connectionId } } : {}
  const ahead = await tx.run.findMany({
    where: { AND: [readyQueued(new Date()), queuedBefore(run), sameConnection] },
    orderBy: [{ queuedAt: 'asc' }, { id: 'asc' }],
    select: CONTENDER,
  })
  const running = await tx.run.groupBy({
    by: ['connectionId'],
    where: { status: 'RUNNING', ...(globalLimit == null ? { connectionId: me.connectionId } : {}) },
    _count: { _all: true },
  })
  const inUse: SlotsInUse = {
    total: running.reduce((n, g) => n + g._count._all, 0),
    byConnection: new Map(running.map((g) => [g.connectionId ?? '', g._count._all])),
  }
  return mayStart(me, ahead.map(contenderOf), inUse, globalLimit)
}
