import type { Prisma, RunStatus, RunTrigger } from '../../db/client.js'
import { queuePosition } from '../../orchestrator/limits/queue-position.js'
import { asOfChange, type RunSnapshot } from '../../orchestrator/progress.js'
import { committedManifestFiles, type ManifestFileEntry } from '../../orchestrator/manifest-files.js'
import { eventDataOf } from '../../orchestrator/run-event-data.js'
import { knownRunErrorCode, type RunErrorCode } from '../../orchestrator/run-errors.js'
import { builder } from '../builder.js'
import { runProgress } from '../run-progress.js'
import { runUpdates } from '../run-updates.js'
import { ExtractionModeEnum, RunErrorCodeEnum, RunStageEnum, RunStatusEnum, RunTriggerEnum } from './enums.js'

/** A stored error code as the enum; a code this release does not know (written by a newer one) reads as INTERNAL. */

interface ChangeCountsView {
  created: bigint
  updated: bigint
  deleted: bigint
}
const ChangeCounts = builder.objectRef<ChangeCountsView>('ChangeCounts').implement({
  description: 'Rows of a delta by ODQ change mode: C created, U updated (after images), D deleted',
  fields: (t) => ({
    created: t.expose('created', { type: 'BigInt' }),
    updated: t.expose('updated', { type: 'BigInt' }),
    deleted: t.expose('deleted', { type: 'BigInt' }),
  }),
})

interface RunErrorView {
  code: RunErrorCode
  message: string
  retryable: boolean
}
const RunError = builder.objectRef<RunErrorView>('RunError').implement({
  description: 'Why a run failed or was cancelled',
  fields: (t) => ({
    code: t.expose('code', { type: RunErrorCodeEnum }),
    message: t.exposeString('message'),
    retryable: t.exposeBoolean('retryable'),
  }),
})

const ManifestFile = builder.objectRef<ManifestFileEntry>('ManifestFile').implement({
  description: "A file a committed run's manifest.json lists",
  fields: (t) => ({
    path: t.exposeString('path', { description: "Relative to the manifest's folder" }),
    rows: t.field({ type: 'BigInt', resolve: (f) => BigInt(f.rows) }),
    bytes: t.field({ type: 'BigInt', resolve: (f) => BigInt(f.bytes) }),
    sha256: t.exposeString('sha256'),
    partition: t.exposeString('partition', { nullable: true }),
  }),
})

/** A page shows files; a run of thousands of files is read through its manifestUri. */
const MAX_MANIFEST_FILES = 1000

export const Run = builder.prismaObject('Run', {
  // Only the columns the query's fields need are read (architecture.md#graphql, select mode).
  select: { id: true },
  description: 'One execution of a pipeline',
  fields: (t) => ({
    id: t.exposeID('id'),
    pipeline: t.relation('pipeline'),
    status: t.expose('status', { type: RunStatusEnum }),
    stage: t.expose('stage', { type: RunStageEnum }),
    extractionMode: t.expose('extractionMode', { type: ExtractionModeEnum }),
    trigger: t.expose('trigger', { type: RunTriggerEnum }),
    rowsExtracted: t.expose('rowsExtracted', { type: 'BigInt' }),
    rowsWritten: t.expose('rowsWritten', { type: 'BigInt' }),
    filesWritten: t.exposeInt('filesWritten'),
    bytesWritten: t.expose('bytesWritten', { type: 'BigInt' }),
    changeCounts: t.field({
      type: ChangeCounts,
      nullable: true,
      select: { changesCreated: true, changesUpdated: true, changesDeleted: true },
      resolve: (r) =>
        r.changesCreated == null ? null : { created: r.changesCreated, updated: r.changesUpdated ?? 0n, deleted: r.changesDeleted ?? 0n },
    }),
    deltaTokenIn: t.exposeString('deltaTokenIn', { nullable: true }),
    deltaTokenOut: t.exposeString('deltaTokenOut', { nullable: true }),
    manifestUri: t.exposeString('manifestUri', { nullable: true }),
    schemaHash: t.exposeString('schemaHash', {
      nullable: true,
      description:
        "Digest of the columns the run wrote (its manifest's schemaHash, the snapshot's delta-extractor.source-schema-hash); null until it commits",
    }),
    snapshotId: t.exposeString('snapshotId', {
      nullable: true,
      description: "The lake table snapshot that committed the run (Iceberg's long id as text); null without a lake table",
    }),
    files: t.field({
      type: [ManifestFile],
      nullable: true,
      description: `The files listed in the run's manifest.json, in its order, read from the destination the run wrote to: at most first (default 100, up to ${MAX_MANIFEST_FILES}; filesWritten counts them all). Null until the run is committed`,
      args: { first: t.arg.int({ defaultValue: 100 }) },
      select: {
        id: true,
        pinned: true,
        queuedAt: true,
        extractionMode: true,
        manifestUri: true,
        pipeline: { include: { destination: true, connection: true } },
      },
      resolve: async (r, { first }, { app }) =>
        (await committedManifestFiles(app.destinations, r, () => r.pipeline, Math.min(Math.max(first ?? 100, 0), MAX_MANIFEST_FILES))) ??
        null,
    }),
    error: t.field({
      type: RunError,
      nullable: true,
      select: { errorCode: true, errorMessage: true, errorRetryable: true },
      resolve: (r) =>
        r.errorCode ? { code: knownRunErrorCode(r.errorCode), message: r.errorMessage ?? '', retryable: !!r.errorRetryable } : null,
    }),
    cancelRequested: t.exposeBoolean('cancelRequested'),
    attempt: t.exposeInt('attempt', { description: '1 for a requested run; automatic retries of a failed run count on' }),
    notBefore: t.expose('notBefore', { type: 'DateTime', nullable: true, description: 'A queued retry waits until then (backoff)' }),
    queuePosition: t.int({
      nullable: true,
      description:
        "Null unless QUEUED. The run's place in the service's claim order, 1-based: 1 + the QUEUED runs of any connection queued before it that may start now (retries waiting for their backoff do not count). Runs are offered slots in this order; a run whose connection is at its maxConcurrentRuns takes none and is overtaken by later runs of other connections. One small count per QUEUED run read",
      select: { id: true, status: true, queuedAt: true },
      resolve: (r, _, { app }) => queuePosition(app.db, r),
    }),
    queuedAt: t.expose('queuedAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    events: t.relatedConnection(
      'events',
      { cursor: 'id', query: { orderBy: { id: 'asc' } }, totalCount: true, defaultSize: 50, maxSize: 1000 },
      RunEventConnection,
    ),
  }),
})

export const RunEvent = builder.prismaObject('RunEvent', {
  // Only the columns the query's fields need are read (architecture.md#graphql, select mode).
  select: { id: true },
  description: "A line of a run's own log",
  fields: (t) => ({
    id: t.exposeID('id'),
    at: t.expose('at', { type: 'DateTime' }),
    level: t.exposeString('level'),
    stage: t.expose('stage', { type: RunStageEnum }),
    message: t.exposeString('message'),
    data: t.field({ type: 'JSON', nullable: true, select: { id: true, data: true }, resolve: (e) => eventDataOf(e) }),
  }),
})

/** The totalCount a Prisma connection hands its connection object: a number or a loader. */
export const totalCountField = (t: { int: Function }) =>
  t.int({
    resolve: (connection: { totalCount?: number | (() => number | Promise<number>) }) =>
      typeof connection.totalCount === 'function' ? connection.totalCount() : connection.totalCount,
  })

export const RunConnection = builder.connectionObject({
  type: Run,
  name: 'RunConnection',
  fields: (t) => ({ totalCount: totalCountField(t) }),
})

export const RunEventConnection = builder.connectionObject({
  type: RunEvent,
  name: 'RunEventConnection',
  fields: (t) => ({ totalCount: totalCountField(t) }),
})

const RunProgress = builder.objectRef<RunSnapshot>('RunProgress').implement({
  description: 'A run as it stands: sent first as a snapshot, then on every stage change and counter update',
  fields: (t) => ({
    run: t.prismaField({
      type: 'Run',
      resolve: (query, s, _, { app }) => app.db.run.findUniqueOrThrow({ ...query, where: { id: s.runId } }),
    }),
    runId: t.exposeID('runId'),
    status: t.expose('status', { type: RunStatusEnum }),
    stage: t.expose('stage', { type: RunStageEnum }),
    rowsExtracted: t.expose('rowsExtracted', { type: 'BigInt' }),
    rowsWritten: t.expose('rowsWritten', { type: 'BigInt' }),
    filesWritten: t.exposeInt('filesWritten'),
    bytesWritten: t.expose('bytesWritten', { type: 'BigInt' }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
})

builder.queryFields((t) => ({
  runs: t.prismaConnection(
    {
      type: 'Run',
      cursor: 'id',
      description: 'Runs, newest first; the filters combine (AND)',
      args: {
        pipelineId: t.arg.id(),
        connectionId: t.arg.id({ description: "Runs of this connection's pipelines" }),
        status: t.arg({ type: RunStatusEnum }),
        statusIn: t.arg({ type: [RunStatusEnum], description: 'Runs in any of these statuses' }),
        trigger: t.arg({ type: RunTriggerEnum }),
        queuedFrom: t.arg({ type: 'DateTime', description: 'Runs queued at or after this time' }),
        queuedBefore: t.arg({ type: 'DateTime', description: 'Runs queued before this time' }),
      },
      resolve: (query, _, args, { app }) => app.db.run.findMany({ ...query, where: runFilter(args), orderBy: { id: 'desc' } }),
      totalCount: (_, args, { app }) => app.db.run.count({ where: runFilter(args) }),
    },
    RunConnection,
  ),
  run: t.prismaField({
    type: 'Run',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _, { id }, { app }) => app.db.run.findUnique({ ...query, where: { id: String(id) } }),
  }),
}))

interface RunFilterArgs {
  pipelineId?: string | number | null
  connectionId?: string | number | null
  status?: RunStatus | null
  statusIn?: RunStatus[] | null
  trigger?: RunTrigger | null
  queuedFrom?: Date | null
  queuedBefore?: Date | null
}

function runFilter(a: RunFilterArgs): Prisma.RunWhereInput {
  const conditions: Prisma.RunWhereInput[] = [
    a.pipelineId != null ? { pipelineId: String(a.pipelineId) } : {},
    // The pipeline's connection now: the one its runs used, unless the pipeline was moved since.
    a.connectionId != null ? { pipeline: { connectionId: String(a.connectionId) } } : {},
    a.status ? { status: a.status } : {},
    a.statusIn ? { status: { in: a.statusIn } } : {},
    a.trigger ? { trigger: a.trigger } : {},
    a.queuedFrom ? { queuedAt: { gte: a.queuedFrom } } : {},
    a.queuedBefore ? { queuedAt: { lt: a.queuedBefore } } : {},
  ]
  return { AND: conditions }
}

builder.mutationFields((t) => ({
  runPipeline: t.prismaField({
    type: 'Run',
    description: 'Queues a run and returns it at once (status QUEUED). mode defaults to what the pipeline needs next',
    args: {
      id: t.arg.id({ required: true }),
      mode: t.arg({ type: ExtractionModeEnum }),
      takeover: t.arg.boolean({
        description:
          "DELTA_INIT only: replace a delta subscription SAP already holds that is not this pipeline's (another deployment's with the same SAP user, or one a forced resetDelta left). Without it such a run fails with SUBSCRIPTION_IN_USE",
      }),
    },
    // The row as created: re-reading it could already show the worker's RUNNING. Nested fields
    // the query asks for are loaded by the Prisma plugin from this row.
    resolve: (_query, _, { id, mode, takeover }, { app }) =>
      app.orchestrator.requestRun(String(id), { mode, trigger: 'API', takeover: !!takeover }),
  }),
  cancelRun: t.prismaField({
    type: 'Run',
    description: 'Cancels a queued or running run; returns it once it has stopped (CANCELLED). The delta state is untouched',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _, { id }, { app }) =>
      app.db.run.findUniqueOrThrow({ ...query, where: { id: (await app.orchestrator.cancelRun(String(id))).id } }),
  }),
}))

builder.subscriptionFields((t) => ({
  runProgress: t.field({
    type: RunProgress,
    description:
      'The run now, then every stage change and counter update (about ten a second at most) until it ends. On an ended run: one snapshot, then complete',
    args: { runId: t.arg.id({ required: true }) },
    subscribe: (_, { runId }, { app }) => runProgress(app, String(runId)),
    resolve: (s) => s,
  }),
  runUpdates: t.prismaField({
    type: 'Run',
    description:
      "Every status and stage change of any run (or of one pipeline's runs). status, stage and counters are those of the change itself; other fields are read when it is sent. After a gap in this instance's view of other instances (a Redis reconnect), the runs active or ended since are sent as they stand, unless this stream already sent that state",
    args: { pipelineId: t.arg.id() },
    subscribe: (_, { pipelineId }, { app }) => runUpdates(app, pipelineId == null ? undefined : String(pipelineId)),
    resolve: async (query, e, _, { app }) => asOfChange(await app.db.run.findUniqueOrThrow({ ...query, where: { id: e.runId } }), e),
  }),
}))
