import type { Db, Run } from '../../db/client.js'
import { queuedBefore, readyQueued } from './queue-order.js'

/**
 * A QUEUED run's place in the claim order of the whole service (architecture.md#claim): 1 + the
 * ready QUEUED runs queued before it, of any connection. Null for a run that is not QUEUED. One
 * count; a run whose connection is full may be overtaken by later runs of other connections.
 */
export async function queuePosition(db: Db, run: Pick<Run, 'id' | 'status' | 'queuedAt'>): Promise<number | null> {
  if (run.status !== 'QUEUED') return null
  return 1 + (await db.run.count({ where: { AND: [readyQueued(new Date()), queuedBefore(run)] } }))
}
