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

/** RUNNING runs: all of them, and by the connection each pinned when it was claimed. */
export interface SlotsInUse {
  total: number
  byConnection: ReadonlyMap<string, number>
}

/** Ready runs queued before the one asking, counted by the connection they would read from, with its limit (null = none). */
export type RunsAhead = ReadonlyMap<string, { runs: number; limit: number | null }>

/**
 * Whether a run of connection `mine` (limit `myLimit`, null = none) may start now. The ready runs
 * queued before it take free slots first, as a dispatcher walking the queue would hand them out:
 * each connection's runs ahead take at most that connection's free slots, and a run whose
 * connection is full takes none, so one busy SAP system never holds back another while only the
 * global limit matters. Which runs ahead get the slots does not change how many they get, so
 * counts per connection suffice. `globalLimit` null: no limit on the whole service.
 */
export function mayStart(mine: string, myLimit: number | null, ahead: RunsAhead, inUse: SlotsInUse, globalLimit: number | null): boolean {
  const free = (connection: string, limit: number | null) => (limit ?? Number.POSITIVE_INFINITY) - (inUse.byConnection.get(connection) ?? 0)
  if ((ahead.get(mine)?.runs ?? 0) >= free(mine, myLimit)) return false
  if (globalLimit == null) return true
  let taken = inUse.total
  for (const [connection, { runs, limit }] of ahead) taken += Math.max(0, Math.min(runs, free(connection, limit)))
  return taken < globalLimit
}
