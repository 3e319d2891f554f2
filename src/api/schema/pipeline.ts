import { sourceOf, type CreatePipelineInput as CreateInput, type UpdatePipelineInput as UpdateInput } from '../../catalog/pipelines.js'
import { OUTPUT_DEFAULTS, outputSettingsOf, type OutputSettings } from '../../catalog/pipeline-world.js'
import { DEFAULT_PATH_TEMPLATE } from '../../storage/path-template.js'
import { builder } from '../builder.js'
import { NUMBER_DESCRIPTION } from './scalars.js'
import { PipelineModeEnum, SchemaChangePolicyEnum, SourceKindEnum, TableFormatEnum } from './enums.js'
import { Run, RunConnection } from './run.js'
import { lakeTableOf, type LakeTableView } from '../../orchestrator/lake/table-view.js'

type SourceView = ReturnType<typeof sourceOf>
const Source = builder.objectRef<SourceView>('Source').implement({
  description: 'What a pipeline reads from SAP',
  fields: (t) => ({
    kind: t.expose('kind', { type: SourceKindEnum }),
    entitySet: t.exposeString('entitySet', { nullable: true }),
    odpContext: t.exposeString('odpContext', { nullable: true }),
    odpName: t.exposeString('odpName', { nullable: true }),
    table: t.exposeString('table', { nullable: true }),
    fields: t.exposeStringList('fields', { nullable: true }),
    filter: t.exposeString('filter', { nullable: true }),
    watermarkField: t.exposeString('watermarkField', { nullable: true }),
    pageSize: t.exposeInt('pageSize', { nullable: true }),
    partitions: t.exposeInt('partitions', { nullable: true }),
  }),
})

const Output = builder.objectRef<OutputSettings>('Output').implement({
  description: 'How files are written: the effective values, defaults filled in',
  fields: (t) => ({
    pathTemplate: t.exposeString('pathTemplate'),
    compression: t.exposeString('compression'),
    rowGroupRows: t.exposeInt('rowGroupRows'),
    maxFileMb: t.exposeInt('maxFileMb'),
    successMarker: t.exposeBoolean('successMarker', { description: 'An empty _SUCCESS object follows manifest.json' }),
    table: t.expose('table', { type: TableFormatEnum }),
    currentState: t.exposeBoolean('currentState'),
    schemaChanges: t.expose('schemaChanges', { type: SchemaChangePolicyEnum }),
  }),
})

const LakeField = builder.objectRef<LakeTableView['fields'][number]>('LakeField').implement({
  description: "A column of a lake table's current schema",
  fields: (t) => ({
    id: t.exposeInt('id', { description: 'Iceberg field id' }),
    name: t.exposeString('name'),
    type: t.exposeString('type', { description: 'Iceberg type: string, long, decimal(P,S), timestamptz, …' }),
    required: t.exposeBoolean('required'),
  }),
})

const LakeTable = builder.objectRef<LakeTableView>('LakeTable').implement({
  description: "The lake table a pipeline's runs are committed to (README, Lake tables)",
  fields: (t) => ({
    format: t.expose('format', { type: TableFormatEnum }),
    path: t.exposeString('path', { description: 'The table path under the destination root' }),
    location: t.exposeString('location', { description: 'The table location as engines address it' }),
    version: t.exposeInt('version', {
      nullable: true,
      description: 'The newest metadata version (vN.metadata.json); null before the first commit',
    }),
    currentSnapshotId: t.exposeString('currentSnapshotId', { nullable: true, description: "Iceberg's snapshot id (a long, as text)" }),
    schemaId: t.exposeInt('schemaId', { nullable: true }),
    fields: t.field({ type: [LakeField], resolve: (v) => v.fields }),
  }),
})

/** id and name too: a row whose fields do not parse is named in the error. */
const SOURCE_COLUMNS = {
  id: true,
  name: true,
  sourceKind: true,
  entitySet: true,
  odpContext: true,
  odpName: true,
  table: true,
  fields: true,
  filter: true,
  watermarkField: true,
  pageSize: true,
  partitions: true,
} as const
const OUTPUT_COLUMNS = {
  pathTemplate: true,
  compression: true,
  rowGroupRows: true,
  maxFileMb: true,
  successMarker: true,
  pageSize: true,
  partitions: true,
  tableFormat: true,
  currentState: true,
  schemaChanges: true,
} as const

builder.prismaObject('Pipeline', {
  // Only the columns the query's fields need are read (architecture.md#graphql, select mode).
  select: { id: true },
  description: 'What to extract from SAP, how, where to, and when',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    number: t.exposeInt('number', { description: NUMBER_DESCRIPTION }),
    connection: t.relation('connection'),
    destination: t.relation('destination'),
    source: t.field({ type: Source, select: SOURCE_COLUMNS, resolve: (p) => sourceOf(p) }),
    mode: t.expose('mode', { type: PipelineModeEnum }),
    schedule: t.exposeString('schedule', { nullable: true, description: 'Cron expression (5 fields, optional seconds, @daily…)' }),
    timezone: t.exposeString('timezone', { nullable: true, description: 'IANA zone of the schedule; UTC when null' }),
    nextRunAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the schedule fires next; null without a schedule, when disabled, or when no scheduler runs (SCHEDULER=false)',
      select: { nextRunAt: true },
      resolve: (p, _args, ctx) => (ctx.app.schedulesFire ? p.nextRunAt : null),
    }),
    enabled: t.exposeBoolean('enabled'),
    output: t.field({ type: Output, select: OUTPUT_COLUMNS, resolve: (p) => outputSettingsOf(p) }),
    lakeTable: t.field({
      type: LakeTable,
      nullable: true,
      description: "The pipeline's lake table, read from its destination; null when output.table is NONE",
      select: { ...OUTPUT_COLUMNS, name: true, destination: true },
      resolve: (p, _args, { app }) => lakeTableOf(app.destinations, p, outputSettingsOf(p)),
    }),
    currentStateTable: t.field({
      type: LakeTable,
      nullable: true,
      description:
        "The pipeline's current-state table (the SAP table as it is now), read from its destination; null unless output.currentState",
      select: { ...OUTPUT_COLUMNS, name: true, destination: true },
      resolve: (p, _args, { app }) => lakeTableOf(app.destinations, p, outputSettingsOf(p), 'currentState'),
    }),
    deltaState: t.relation('deltaState', { nullable: true }),
    runs: t.relatedConnection('runs', { cursor: 'id', query: { orderBy: { id: 'desc' } }, totalCount: true }, RunConnection),
    lastRun: t.field({
      type: Run,
      nullable: true,
      description: 'The newest run, loaded in the same query as the pipeline',
      select: (_, __, nested) => ({ runs: nested({ take: 1, orderBy: { id: 'desc' } }) }),
      resolve: (p) => p.runs[0] ?? null,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
})

builder.prismaObject('DeltaState', {
  description: 'Where a DELTA pipeline stands in SAP',
  fields: (t) => ({
    token: t.exposeString('token', { nullable: true, description: 'The delta token of the last committed run' }),
    initializedAt: t.expose('initializedAt', { type: 'DateTime' }),
    lastCommittedRun: t.relation('lastCommittedRun', { nullable: true }),
    recoveryPending: t.boolean({
      description: 'A delta was fetched but not committed: the next run re-reads it (RECOVERY)',
      select: { pendingRunId: true },
      resolve: (s) => s.pendingRunId != null,
    }),
    positionLost: t.boolean({
      description:
        'SAP reported the stored position gone (DELTA_POSITION_LOST): plain runs are refused until resetDelta or runPipeline(mode: DELTA_INIT)',
      select: { positionLostAt: true },
      resolve: (s) => s.positionLostAt != null,
    }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
})

const SourceInput = builder.inputType('SourceInput', {
  fields: (t) => ({
    kind: t.field({ type: SourceKindEnum, required: true }),
    entitySet: t.string({ description: 'ODP_ODATA: the entity set, e.g. EntityOfZSALES_ITEMS' }),
    odpContext: t.string({
      description: 'ODP_RFC: ODP context, e.g. ABAP_CDS or SAPI (ODP over RFC: see SAP Note 3255746; prefer ODP_ODATA)',
    }),
    odpName: t.string({ description: 'ODP_RFC: ODP name' }),
    table: t.string({ description: 'TABLE_RFC: table name' }),
    fields: t.stringList({ description: 'Fields to extract; all when omitted. Keys and ODQ fields are always included' }),
    filter: t.string({
      description:
        "Pushed down to SAP. ODP_ODATA: an OData $filter on filterable fields; TABLE_RFC: an ABAP WHERE clause (e.g. ERDAT >= '20250101'); ODP_RFC: ANDed single-field conditions in the same syntax",
    }),
    watermarkField: t.string({
      description:
        'TABLE_RFC, required for DELTA: a change date or timestamp field, or DATE+TIME fields such as AEDAT+AEZET. Deltas re-read an overlap window and skip rows already delivered unchanged; deletions are not visible to a watermark',
    }),
    pageSize: t.int({ description: `Rows per OData page (Prefer: odata.maxpagesize) or RFC package; default ${OUTPUT_DEFAULTS.pageSize}` }),
    partitions: t.int({
      description:
        'FULL loads split into this many key ranges of the first key field, read in parallel and committed as one run (1..64, default 1). Also the initial snapshot (DELTA_INIT) of a TABLE_RFC DELTA pipeline; an ODP delta initialisation is not split (README, Partitioned loads)',
    }),
  }),
})

const OutputInput = builder.inputType('OutputInput', {
  fields: (t) => ({
    pathTemplate: t.string({
      description: `Where a run's files go under the destination; placeholders {pipeline} {entity} {yyyy} {MM} {dd} {HH} {mm} {runId} {mode}; must contain {runId}. Default ${DEFAULT_PATH_TEMPLATE}`,
    }),
    compression: t.string({ description: 'SNAPPY (default), GZIP or UNCOMPRESSED' }),
    rowGroupRows: t.int({ description: `Rows per Parquet row group; default ${OUTPUT_DEFAULTS.rowGroupRows}` }),
    maxFileMb: t.int({ description: `Roll to a new file at about this size; default ${OUTPUT_DEFAULTS.maxFileMb}` }),
    successMarker: t.boolean({
      description: 'Also write an empty _SUCCESS object after manifest.json, for Spark/Databricks/Hadoop readers; default false',
    }),
    table: t.field({
      type: TableFormatEnum,
      description: 'Lake table format; default NONE. ICEBERG commits every run to the Iceberg change-log table of the pipeline',
    }),
    currentState: t.boolean({
      description: 'Also keep a current-state table (not available yet: true is refused with BAD_USER_INPUT); default false',
    }),
    schemaChanges: t.field({
      type: SchemaChangePolicyEnum,
      description: 'What a run does when SAP adds, removes or retypes a field; default ALLOW_ADDITIVE (README, Schema changes)',
    }),
  }),
})

const CreatePipelineInput = builder.inputType('CreatePipelineInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    connectionId: t.id({ required: true }),
    destinationId: t.id({ required: true }),
    source: t.field({ type: SourceInput, required: true }),
    mode: t.field({ type: PipelineModeEnum, required: true }),
    schedule: t.string({ description: 'Cron expression; no schedule = runs only on request' }),
    timezone: t.string({ description: 'IANA time zone of the schedule; default UTC' }),
    enabled: t.boolean({ description: 'Whether the schedule fires; default true' }),
    output: t.field({ type: OutputInput }),
  }),
})

const UpdatePipelineInput = builder.inputType('UpdatePipelineInput', {
  description:
    'Fields left out keep their value. Changing the connection, source or mode of an initialised DELTA pipeline needs resetDelta first',
  fields: (t) => ({
    name: t.string(),
    connectionId: t.id(),
    destinationId: t.id(),
    source: t.field({ type: SourceInput }),
    mode: t.field({ type: PipelineModeEnum }),
    schedule: t.string({ description: 'Empty string removes the schedule' }),
    timezone: t.string(),
    enabled: t.boolean(),
    output: t.field({ type: OutputInput }),
  }),
})

const ids = <T extends { connectionId?: string | number | null; destinationId?: string | number | null }>(i: T) => ({
  ...i,
  connectionId: i.connectionId == null ? i.connectionId : String(i.connectionId),
  destinationId: i.destinationId == null ? i.destinationId : String(i.destinationId),
})

builder.queryFields((t) => ({
  pipelines: t.prismaField({
    type: ['Pipeline'],
    resolve: (query, _, __, { app }) => app.db.pipeline.findMany({ ...query, orderBy: { name: 'asc' } }),
  }),
  pipeline: t.prismaField({
    type: 'Pipeline',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _, { id }, { app }) => app.db.pipeline.findUnique({ ...query, where: { id: String(id) } }),
  }),
}))

builder.mutationFields((t) => ({
  createPipeline: t.prismaField({
    type: 'Pipeline',
    args: { input: t.arg({ type: CreatePipelineInput, required: true }) },
    resolve: async (query, _, { input }, { app }) =>
      app.db.pipeline.findUniqueOrThrow({ ...query, where: { id: (await app.pipelines.create(ids(input) as CreateInput)).id } }),
  }),
  updatePipeline: t.prismaField({
    type: 'Pipeline',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdatePipelineInput, required: true }) },
    resolve: async (query, _, { id, input }, { app }) =>
      app.db.pipeline.findUniqueOrThrow({
        ...query,
        where: { id: (await app.pipelines.update(String(id), ids(input) as UpdateInput)).id },
      }),
  }),
  deletePipeline: t.id({
    description:
      "Deletes the pipeline and its run history. A DELTA pipeline's SAP subscription is terminated first (set force to delete even when SAP cannot be reached)",
    args: { id: t.arg.id({ required: true }), force: t.arg.boolean() },
    resolve: (_, { id, force }, { app }) => app.orchestrator.deletePipeline(String(id), { force: !!force }),
  }),
  resetDelta: t.prismaField({
    type: 'Pipeline',
    description:
      "Terminates the pipeline's SAP delta subscription and forgets its token; the next run is a DELTA_INIT. force: forget it even when SAP cannot be reached",
    args: { pipelineId: t.arg.id({ required: true }), force: t.arg.boolean() },
    resolve: async (query, _, { pipelineId, force }, { app }) =>
      app.db.pipeline.findUniqueOrThrow({
        ...query,
        where: { id: await app.orchestrator.resetDelta(String(pipelineId), { force: !!force }) },
      }),
  }),
}))
