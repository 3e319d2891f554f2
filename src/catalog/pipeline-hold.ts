/**
 * A hold on a pipeline: resetDelta and deletePipeline take it for their whole duration (ending the
 * SAP subscription can take a minute), and no run starts and no change lands while it is held.
 *
 * The hold is a column on the pipeline row, and everything that must not overlap with it — starting
 * a run, changing the pipeline, taking the hold — writes that row first inside its transaction. On
 * PostgreSQL the row lock orders them (the second waits for the first to commit, then re-checks);
 * SQLite runs one writer at a time anyway. So "check, then act" cannot interleave.
 */
import type { Db, Prisma } from '../db/client.js'

/** A hold older than this is void: its process died without letting go. */
const HOLD_EXPIRES_MS = 5 * 60_000

type Tx = Prisma.TransactionClient | Db

const staleBefore = () => new Date(Date.now() - HOLD_EXPIRES_MS)

/**
 * Inside a transaction that starts a run or changes the pipeline: true while nobody holds it, and
 * the pipeline row stays locked by this transaction until it ends. (The statement writes nothing
 * visible: `updatedAt` is left alone, unlike a Prisma update.)
 */
export async function lockUnheld(tx: Tx, pipelineId: string): Promise<boolean> {
  await tx.pipeline.updateMany({ where: { id: pipelineId, heldAt: { lt: staleBefore() } }, data: { heldBy: null, heldAt: null } })
  const locked = await tx.$executeRaw`UPDATE "Pipeline" SET "heldBy" = NULL WHERE "id" = ${pipelineId} AND "heldBy" IS NULL`
  return locked === 1
}

/** Takes the hold for `holder`; false when someone else has it (or the pipeline is gone). */
export async function takeHold(db: Db, pipelineId: string, holder: string): Promise<boolean> {
  return db.$transaction(async (tx) => {
    if (!(await lockUnheld(tx, pipelineId))) return false
    await tx.pipeline.updateMany({ where: { id: pipelineId }, data: { heldBy: holder, heldAt: new Date() } })
    return true
  })
}

export async function releaseHold(db: Db, pipelineId: string, holder: string): Promise<void> {
  await db.pipeline.updateMany({ where: { id: pipelineId, heldBy: holder }, data: { heldBy: null, heldAt: null } })
}

/**
 * Keeps `holder`'s hold from going void while long work goes on (a compaction can outlast
 * HOLD_EXPIRES_MS); false when it was lost meanwhile.
 */
export async function renewHold(db: Db, pipelineId: string, holder: string): Promise<boolean> {
  const renewed = await db.pipeline.updateMany({ where: { id: pipelineId, heldBy: holder }, data: { heldAt: new Date() } })
  return renewed.count === 1
}

/** How often a long holder renews its hold: well inside HOLD_EXPIRES_MS. */
export const HOLD_RENEW_MS = HOLD_EXPIRES_MS / 5
