/**
 * The order QUEUED runs are claimed in, and who may take a free slot (architecture.md#claim). There
 * is no dispatcher: every worker that is offered a run asks these rules, inside the claim's
 * transaction, whether the run may start now.
 */
import type { Prisma, Run } from '../../db/client.js'

/** Queue order: oldest `queuedAt` first; runs queued in the same millisecond by id (uuid v7, time-ordered). */
export const queuedBefore = (run: Pick<Run, 'id' | 'queuedAt'>): Prisma.RunWhereInput => ({
  OR: [{ queuedAt: { lt: run.queuedAt } }, { queuedAt: run.queuedAt, id: { lt: run.id } }],
})

/** QUEUED runs that may start now: not waiting for the backoff of an automatic retry (`notBefore`). */
export const readyQueued = (now: Date): Prisma.RunWhereInput => ({
  status: 'QUEUED',
  OR: [{ notBefore: null }, { notBefore: { lte: now } }],
})

/** A run wanting a slot: the connection it reads from, and that connection's limit (null = none). */
export interface Contender {
  connectionId: string
  connectionLimit: number | null
}

/** RUNNING runs: all of them, and by the connection each pinned when it was claimed. */
export interface SlotsInUse {
  total: number
  byConnection: ReadonlyMap<string, number>
}

/**
 * Whether `run` may start now. The ready runs queued before it (`ahead`, in queue order) take free
 * slots first, as a central dispatcher walking the queue would give them out; a run whose connection
 * is full takes no slot and blocks nobody, so one busy SAP system never holds back runs of another
 * while only the global limit matters. `globalLimit` null: no limit on the whole service.
 */
export function mayStart(run: Contender, ahead: readonly Contender[], inUse: SlotsInUse, globalLimit: number | null): boolean {
  const byConnection = new Map(inUse.byConnection)
  let total = inUse.total
  const fits = (c: Contender) =>
    total < (globalLimit ?? Number.POSITIVE_INFINITY) &&
    (byConnection.get(c.connectionId) ?? 0) < (c.connectionLimit ?? Number.POSITIVE_INFINITY)
  for (const c of ahead) {
    if (!fits(c)) continue
    total++
    byConnection.set(c.connectionId, (byConnection.get(c.connectionId) ?? 0) + 1)
  }
  return fits(run)
}
