import type { Config } from '../config.js'
import type { Db, Prisma, Run, RunStatus } from '../db/client.js'
import { openServiceDb } from './catalog-session.js'
import { humanBytes } from './progress-bar.js'
import { printJson, printTable } from './table.js'
import { UsageError } from './usage-error.js'

const STATUSES: readonly RunStatus[] = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED']

/** A run with the field names of the GraphQL Run type (counts as strings of digits, as its BigInt). */
function runView(r: Run & { pipeline: { name: string } }) {
  return {
    id: r.id,
    pipeline: r.pipeline.name,
    pipelineId: r.pipelineId,
    status: r.status,
    stage: r.stage,
    extractionMode: r.extractionMode,
    trigger: r.trigger,
    attempt: r.attempt,
    rowsExtracted: r.rowsExtracted,
    rowsWritten: r.rowsWritten,
    filesWritten: r.filesWritten,
    bytesWritten: r.bytesWritten,
    changeCounts:
      r.changesCreated == null ? null : { created: r.changesCreated, updated: r.changesUpdated ?? 0n, deleted: r.changesDeleted ?? 0n },
    deltaTokenIn: r.deltaTokenIn,
    deltaTokenOut: r.deltaTokenOut,
    manifestUri: r.manifestUri,
    error: r.errorCode ? { code: r.errorCode, message: r.errorMessage ?? '', retryable: !!r.errorRetryable } : null,
    cancelRequested: r.cancelRequested,
    queuedAt: r.queuedAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
  }
}

/** `runs list [--pipeline NAME|ID] [--status S] [--limit N] [--json]`: newest first. */
export async function runsList(
  config: Config,
  opts: { pipeline?: string; status?: string; limit: string; json: boolean },
): Promise<number> {
  const status = opts.status?.toUpperCase() as RunStatus | undefined
  if (status && !STATUSES.includes(status)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`)
  const limit = Number(opts.limit)
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError('--limit must be a whole number from 1 to 1000')
  const db = await openServiceDb(config)
  try {
    const where: Prisma.RunWhereInput = {
      ...(status ? { status } : {}),
      ...(opts.pipeline ? { pipeline: { OR: [{ id: opts.pipeline }, { name: opts.pipeline }] } } : {}),
    }
    // UUIDv7 ids sort by creation (docs/architecture.md#retention).
    const runs = (
      await db.run.findMany({ where, orderBy: { id: 'desc' }, take: limit, include: { pipeline: { select: { name: true } } } })
    ).map(runView)
    if (opts.json) printJson(runs)
    else
      printTable(
        ['id', 'pipeline', 'mode', 'status', 'stage', 'rows', 'size', 'queued', 'error'],
        runs.map((r) => [
          r.id,
          r.pipeline,
          r.extractionMode,
          r.status,
          r.stage,
          Number(r.rowsWritten || r.rowsExtracted).toLocaleString('en'),
          humanBytes(Number(r.bytesWritten)),
          r.queuedAt,
          r.error?.code,
        ]),
        'no runs',
      )
    return 0
  } finally {
    await db.$disconnect()
  }
}

/** `runs show <id> [--json]`: one run, every field. */
export async function runsShow(config: Config, id: string, opts: { json: boolean }): Promise<number> {
  const db = await openServiceDb(config)
  try {
    const run = await findRun(db, id)
    if (!run) {
      console.error(`no run with id "${id}"`)
      return 1
    }
    const view = runView(run)
    if (opts.json) printJson(view)
    else
      for (const [key, value] of Object.entries(view))
        console.log(
          `${`${key}:`.padEnd(16)}${value && typeof value === 'object' && !(value instanceof Date) ? JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? String(v) : v)) : value instanceof Date ? value.toISOString() : (value ?? '-')}`,
        )
    return 0
  } finally {
    await db.$disconnect()
  }
}

export const findRun = (db: Db, id: string) => db.run.findUnique({ where: { id }, include: { pipeline: { select: { name: true } } } })
