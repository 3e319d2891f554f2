import type { Db, ExtractionMode, Prisma } from '../db/client.js'
import type { ChangeCounts } from '../sap/fields.js'
import type { RunLine } from './run-log.js'
import type { RecordedSchema } from './schema/describe.js'
import { writeRunLine } from './run-log.js'
import type { Counters } from './run-tracker.js'

/** What a committed run records: where its manifest is, where the delta stands now, what it wrote. */
export interface CommitRecord {
  manifestUri: string
  /** The lake table snapshot that committed the run (ICEBERG pipelines), recorded in its last log line. */
  snapshotId?: number
  /** The position the next delta starts from; absent for FULL reads, which leave the delta alone. */
  positionOut?: string | null
  deltaTokenOut: string | null
  /** The selection the run read with: the delta state belongs to it from now on. */
  selectionHash?: string
  changeCounts: ChangeCounts | null
  counters: Partial<Counters>
  /** The columns the run wrote: the next delta's schema check compares with them. */
  schema: RecordedSchema
}

/**
 * The commit point in the database: the run becomes SUCCEEDED and, for delta reads, the new delta
 * position is stored, in one transaction. `holder` narrows the update to the run as the committer
 * last saw it (its worker, or the heartbeat a sweeper found stale), so a run that changed hands
 * meanwhile cannot move the delta. Returns false, changing nothing, when the run was not held.
 * `endLine` is the run's last log line, written in the same transaction.
 */
export async function commitRun(
  db: Db,
  run: { id: string; pipelineId: string; extractionMode: ExtractionMode },
  holder: Prisma.RunWhereInput,
  out: CommitRecord,
  endLine: Pick<RunLine, 'level' | 'message'> = { level: 'info', message: 'run committed' },
): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const done = await tx.run.updateMany({
      where: { ...holder, id: run.id, status: 'RUNNING' },
      data: {
        status: 'SUCCEEDED',
        stage: 'DONE',
        activeKey: null,
        finishedAt: new Date(),
        manifestUri: out.manifestUri,
        schemaHash: out.schema.hash,
        ...(out.snapshotId !== undefined ? { snapshotId: String(out.snapshotId) } : {}),
        uncommittedPrefix: null,
        deltaTokenOut: out.deltaTokenOut,
        changesCreated: out.changeCounts ? BigInt(out.changeCounts.created) : null,
        changesUpdated: out.changeCounts ? BigInt(out.changeCounts.updated) : null,
        changesDeleted: out.changeCounts ? BigInt(out.changeCounts.deleted) : null,
        ...out.counters,
      },
    })
    if (done.count !== 1) return false
    await writeRunLine(tx, run, {
      ...endLine,
      stage: 'DONE',
      data: { manifestUri: out.manifestUri, ...(out.snapshotId !== undefined ? { snapshotId: out.snapshotId } : {}) },
    })
    if (out.positionOut) {
      const position = {
        deltaLink: out.positionOut,
        token: out.deltaTokenOut,
        lastCommittedRunId: run.id,
        pendingRunId: null,
        positionLostAt: null,
        schemaColumns: out.schema.columns,
        schemaHash: out.schema.hash,
        ...(out.selectionHash ? { selectionHash: out.selectionHash } : {}),
      }
      await tx.deltaState.upsert({
        where: { pipelineId: run.pipelineId },
        create: { pipelineId: run.pipelineId, ...position },
        update: { ...position, ...(run.extractionMode === 'DELTA_INIT' ? { initializedAt: new Date() } : {}) },
      })
    }
    return true
  })
}
