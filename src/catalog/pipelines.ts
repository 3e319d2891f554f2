import { z } from 'zod'
import type { Connection, Db, Pipeline, Prisma } from '../db/client.js'
import { badInput, conflict, notFound } from '../errors.js'
import { checkWhereSyntax } from '../sap/rfc/index.js'
import { checkPathTemplate } from '../storage/path-template.js'
import { SUPPORTED_COMPRESSIONS } from '../transform/compression.js'
import { odataSettingsOf } from './connection-config.js'
import { lockUnheld } from './pipeline-hold.js'
import { lakeTablePathList, lakeTemplateProblem, SCHEMA_CHANGE_POLICIES, TABLE_FORMATS } from './lake-output.js'
import { fieldsOf } from './pipeline-world.js'
import { isUniqueViolation } from './prisma-errors.js'
import { checkSchedule, checkTimezone, nextFireTime } from './schedule.js'
import { sourceCheckWrite, type SourceChecker } from './source-check.js'
import { nameSchema, parseInput } from './validate.js'

export type SourceKind = 'ODP_ODATA' | 'ODP_RFC' | 'TABLE_RFC'
export type PipelineMode = 'FULL' | 'DELTA'

const identifier = z
  .string()
  .trim()
  .regex(/^[A-Za-z_/][A-Za-z0-9_/]{0,127}$/, 'must be an SAP name (letters, digits, _ and /)')

const sapName = (max: number, what: string) =>
  z
    .string()
    .trim()
    .transform((v) => v.toUpperCase())
    .pipe(z.string().regex(new RegExp(`^[A-Z0-9_/]{1,${max}}$`), `must be ${what} (letters, digits, _ and /, at most ${max})`))

/** What each source kind takes; everything else must be left out, so a typo is not ignored. */
const SOURCE_FIELDS: Record<SourceKind, ReadonlyArray<'entitySet' | 'odpContext' | 'odpName' | 'table' | 'watermarkField'>> = {
  ODP_ODATA: ['entitySet'],
  ODP_RFC: ['odpContext', 'odpName'],
  TABLE_RFC: ['table', 'watermarkField'],
}

export const sourceSchema = z
  .object({
    kind: z.enum(['ODP_ODATA', 'ODP_RFC', 'TABLE_RFC']),
    entitySet: identifier.nullish(),
    odpContext: z
      .string()
      .trim()
      .transform((v) => v.toUpperCase())
      .pipe(z.string().regex(/^[A-Z0-9_~]{1,20}$/, 'must be an ODP context such as ABAP_CDS, SAPI or SLT~ALIAS'))
      .nullish(),
    odpName: sapName(40, 'an ODP name').nullish(),
    table: sapName(30, 'a table name').nullish(),
    fields: z
      .array(identifier)
      .max(1000)
      .nullish()
      .refine((f) => !f || new Set(f).size === f.length, 'must not repeat a field'),
    filter: z.string().trim().max(4000).nullish(),
    watermarkField: z
      .string()
      .trim()
      .transform((v) => v.toUpperCase())
      .pipe(
        z
          .string()
          .regex(/^[A-Z0-9_/]{1,30}(\+[A-Z0-9_/]{1,30})?$/, 'must be a date or timestamp field, or DATE+TIME fields such as AEDAT+AEZET'),
      )
      .nullish(),
    pageSize: z.number().int().min(1).max(1_000_000).nullish(),
    partitions: z.number().int().min(1).max(64).nullish(),
  })
  .superRefine((s, ctx) => {
    const wanted = SOURCE_FIELDS[s.kind]
    for (const f of ['entitySet', 'odpContext', 'odpName', 'table', 'watermarkField'] as const)
      if (s[f] && !wanted.includes(f)) ctx.addIssue({ code: 'custom', message: `does not apply to a ${s.kind} source`, path: [f] })
    for (const f of wanted)
      if (!s[f] && f !== 'watermarkField') ctx.addIssue({ code: 'custom', message: `is required for a ${s.kind} source`, path: [f] })
    // RFC sources take an ABAP WHERE clause: checked here, before it reaches SAP in 72-character lines.
    if (s.kind !== 'ODP_ODATA' && s.filter) {
      try {
        checkWhereSyntax(s.filter)
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message, path: ['filter'] })
      }
    }
    if (s.kind === 'TABLE_RFC' && s.pageSize && s.pageSize > 50_000)
      ctx.addIssue({
        code: 'custom',
        message: 'RFC_READ_TABLE packages above 50,000 rows exhaust SAP work process memory',
        path: ['pageSize'],
      })
  })

export const outputSchema = z.object({
  pathTemplate: z
    .string()
    .nullish()
    .superRefine((t, ctx) => {
      const problem = t == null ? null : checkPathTemplate(t)
      if (problem) ctx.addIssue({ code: 'custom', message: problem })
    }),
  compression: z
    .string()
    .trim()
    .transform((c) => c.toUpperCase())
    // The codecs this process can write, so a pipeline is refused now rather than at its first run.
    .refine((c) => (SUPPORTED_COMPRESSIONS as readonly string[]).includes(c), `must be one of ${SUPPORTED_COMPRESSIONS.join(', ')}`)
    .nullish(),
  rowGroupRows: z.number().int().min(1_000).max(10_000_000).nullish(),
  maxFileMb: z.number().int().min(1).max(10_240).nullish(),
  successMarker: z.boolean().nullish(),
  table: z.enum(TABLE_FORMATS).nullish(),
  currentState: z.boolean().nullish(),
  schemaChanges: z.enum(SCHEMA_CHANGE_POLICIES).nullish(),
})

/** The current-state table is kept from the change-log table's files: it needs one. */
function checkLakeTables(table: string | null, currentState: boolean | null): void {
  if (currentState && table !== 'ICEBERG')
    throw badInput(
      'output.currentState: the current-state table is kept from the change-log table, so it needs output.table: ICEBERG; nothing was changed',
      'output.currentState',
    )
}

export type SourceInput = z.input<typeof sourceSchema>
export type OutputInput = z.input<typeof outputSchema>

export interface CreatePipelineInput {
  name: string
  connectionId: string
  destinationId: string
  source: SourceInput
  mode: PipelineMode
  schedule?: string | null
  timezone?: string | null
  enabled?: boolean | null
  output?: OutputInput | null
}
export type UpdatePipelineInput = { [K in keyof CreatePipelineInput]?: CreatePipelineInput[K] | null }

/** Fields that make up the SAP subscription's selection: changing them invalidates a delta. */
const SELECTION = [
  'connectionId',
  'sourceKind',
  'entitySet',
  'odpContext',
  'odpName',
  'table',
  'fields',
  'filter',
  'watermarkField',
  'mode',
] as const

export class PipelineCatalog {
  constructor(
    private readonly db: Db,
    /** Checks an ODP_ODATA source against SAP's metadata (source-check.ts); absent: not checked. */
    private readonly checkSource?: SourceChecker,
  ) {}

  async create(input: CreatePipelineInput, now = new Date()): Promise<Pipeline> {
    const data = await this.validate(input, undefined, now)
    const checked = await this.checkSource?.(data)
    try {
      return await this.db.pipeline.create({ data: { ...data, ...sourceCheckWrite(checked, 'create') } })
    } catch (e) {
      throw this.uniqueConflict(e, data.name)
    }
  }

  /**
   * Changes a pipeline. The selection (connection, source, fields, filter, mode) of a DELTA pipeline
   * is what its SAP subscription is made of, so it cannot change while a run is active (that run
   * would commit the old subscription under the new selection), nor once a subscription exists
   * (SAP would refuse it: "Illegal change in selection parameters"); resetDelta ends it first.
   * A pipeline held by resetDelta or deletePipeline cannot change at all meanwhile.
   */
  async update(id: string, input: UpdatePipelineInput, now = new Date()): Promise<Pipeline> {
    const current = await this.get(id)
    const data = await this.validate(input, current, now)
    const selectionChanges = SELECTION.some((k) => data[k] !== current[k])
    // Asked before the transaction: SAP's answer may take a moment, the row lock must not.
    const checked = await this.checkSource?.(data, current)
    try {
      return await this.db.$transaction(async (tx) => {
        // Locks the pipeline row: no run starts and no reset begins while this change is checked and made.
        if (!(await lockUnheld(tx, id))) throw conflict(`pipeline "${current.name}" is being reset or deleted; try again in a moment`)
        const locked = await tx.pipeline.findUniqueOrThrow({ where: { id }, include: { deltaState: { select: { pipelineId: true } } } })
        // The change was merged onto the pipeline as read before the lock: if another change landed
        // since, writing it would silently undo that one.
        // (nextRunAt moves when the scheduler claims a tick: that is its bookkeeping, not a change.)
        const moved = (Object.keys(data) as Array<keyof typeof data>).filter(
          (k) => k !== 'nextRunAt' && k in locked && String(locked[k as keyof Pipeline]) !== String(current[k as keyof Pipeline]),
        )
        if (moved.length)
          throw conflict(
            `pipeline "${current.name}" was changed by another request meanwhile (${moved.join(', ')}); read it again and retry`,
          )
        if (selectionChanges && (locked.mode === 'DELTA' || data.mode === 'DELTA')) await this.refuseSelectionChange(tx, locked)
        if (data.name !== locked.name || data.destinationId !== locked.destinationId) await this.refuseTableMove(tx, locked)
        return tx.pipeline.update({ where: { id }, data: { ...data, ...sourceCheckWrite(checked, 'update') } })
      })
    } catch (e) {
      throw this.uniqueConflict(e, data.name)
    }
  }

  private async refuseSelectionChange(tx: Prisma.TransactionClient, p: Pipeline & { deltaState: unknown }): Promise<void> {
    const active = await tx.run.findUnique({ where: { activeKey: p.id }, select: { id: true, status: true } })
    if (active)
      throw conflict(
        `pipeline "${p.name}" has an active run (${active.id}, ${active.status}); its selection (connection, source, fields, filter or mode) cannot change until that run has ended, or the run would commit one selection under another`,
        { field: 'source', runId: active.id },
      )
    if (p.deltaState || p.subscribedAt)
      throw conflict(
        `pipeline "${p.name}" has a delta subscription in SAP; changing its connection, source, fields, filter or mode would break it ("Illegal change in selection parameters"). Call resetDelta first`,
        { field: 'source' },
      )
  }

  /**
   * An ICEBERG pipeline's table lives at its name under its destination (lake/run-table.ts): renamed or
   * moved once a run committed to it, the next run would start a new table holding only its own rows.
   */
  private async refuseTableMove(tx: Prisma.TransactionClient, p: Pipeline): Promise<void> {
    if (p.tableFormat !== 'ICEBERG') return
    const committed = await tx.run.findFirst({ where: { pipelineId: p.id, snapshotId: { not: null } }, select: { id: true } })
    if (committed)
      throw conflict(
        `pipeline "${p.name}" has committed runs to its Iceberg table at "${p.name}" on its destination; a new name or destination would start a new table without them. Create another pipeline instead`,
        { field: 'name' },
      )
  }

  /**
   * Two pipelines writing one table would each commit runs the other's readers take as their own, and
   * names differing only in what the path-safe form replaces ("a b", "a_b"), or "orders" beside
   * "orders_current", would share a location. So no table of this pipeline may be another ICEBERG
   * pipeline's table on the same destination.
   */
  private async refuseSharedTables(
    id: string | undefined,
    name: string,
    destinationId: string,
    table: string | null,
    currentState: boolean | null,
  ): Promise<void> {
    const own = lakeTablePathList(name, { table, currentState })
    if (!own.length) return
    const others = await this.db.pipeline.findMany({
      where: { destinationId, tableFormat: 'ICEBERG', ...(id ? { id: { not: id } } : {}) },
      select: { name: true, tableFormat: true, currentState: true },
    })
    for (const other of others) {
      const theirs = lakeTablePathList(other.name, { table: other.tableFormat, currentState: other.currentState })
      const shared = own.find((p) => theirs.includes(p))
      if (shared)
        throw conflict(
          `pipeline "${other.name}" already writes the table at "${shared}" on this destination; choose another name or destination. Nothing was changed`,
          { field: 'name' },
        )
    }
  }

  async get(id: string): Promise<Pipeline> {
    const p = await this.db.pipeline.findUnique({ where: { id } })
    if (!p) throw notFound('pipeline', id)
    return p
  }

  private uniqueConflict(e: unknown, name: string) {
    if (isUniqueViolation(e, 'subscriptionKey'))
      return conflict(
        "another DELTA pipeline already uses this SAP subscription (same service, SAP user, sap-client and entity set). SAP keeps one delta subscription per user × service × entity set, so a second pipeline would take the first one's deltas away. Use another SAP user, or one pipeline",
        { field: 'source.entitySet' },
      )
    if (isUniqueViolation(e)) return conflict(`a pipeline named "${name}" already exists`, { field: 'name' })
    return e
  }

  /** Merges input over the current pipeline (if any), validates the whole, and returns the row data. */
  private async validate(input: UpdatePipelineInput, current: Pipeline | undefined, now: Date) {
    const name = input.name == null ? current?.name : parseInput(nameSchema, input.name, 'name')
    if (!name) throw badInput('name is required', 'name')
    const mode = input.mode == null ? current?.mode : parseInput(z.enum(['FULL', 'DELTA']), input.mode, 'mode')
    if (!mode) throw badInput('mode is required', 'mode')

    const connectionId = input.connectionId ?? current?.connectionId
    const destinationId = input.destinationId ?? current?.destinationId
    if (!connectionId) throw badInput('connectionId is required', 'connectionId')
    if (!destinationId) throw badInput('destinationId is required', 'destinationId')
    const [connection, destination] = await Promise.all([
      this.db.connection.findUnique({ where: { id: connectionId } }),
      this.db.destination.findUnique({ where: { id: destinationId } }),
    ])
    if (!connection) throw notFound('connection', connectionId)
    if (!destination) throw notFound('destination', destinationId)

    const source = input.source != null ? parseInput(sourceSchema, input.source, 'source') : current ? sourceOf(current) : undefined
    if (!source) throw badInput('source is required', 'source')
    const protocol = source.kind === 'ODP_ODATA' ? 'ODATA' : 'RFC'
    if (connection.protocol !== protocol)
      throw badInput(
        `a ${source.kind} source needs an ${protocol} connection; "${connection.name}" is ${connection.protocol}`,
        'source.kind',
      )
    if (source.kind === 'TABLE_RFC' && mode === 'DELTA' && !source.watermarkField)
      throw badInput(
        'a DELTA pipeline on a table needs a watermarkField (a change date or timestamp); RFC_READ_TABLE has no delta of its own',
        'source.watermarkField',
      )
    if (mode === 'DELTA' && source.kind !== 'TABLE_RFC' && source.partitions && source.partitions > 1)
      throw badInput(
        'partitions split FULL loads and the initial snapshot of TABLE_RFC delta pipelines only: an ODP delta initialisation is one request in SAP (its subscription starts with it); use mode FULL, or leave partitions at 1 (README, Partitioned loads)',
        'source.partitions',
      )

    const timezone = input.timezone === undefined ? (current?.timezone ?? undefined) : input.timezone || undefined
    if (timezone) {
      const problem = checkTimezone(timezone)
      if (problem) throw badInput(`timezone: ${problem}`, 'timezone')
    }
    const schedule = input.schedule === undefined ? (current?.schedule ?? undefined) : input.schedule?.trim() || undefined
    if (schedule) {
      const problem = checkSchedule(schedule, timezone)
      if (problem) throw badInput(`schedule: "${schedule}" is not a valid cron expression: ${problem}`, 'schedule')
    }
    const enabled = input.enabled ?? current?.enabled ?? true
    // The next fire time moves only when what it is made of changes: rewriting it on any edit would
    // put back a time the scheduler has already claimed (a second run of that tick) or skip a due one.
    const timingChanges =
      !current ||
      schedule !== (current.schedule ?? undefined) ||
      timezone !== (current.timezone ?? undefined) ||
      enabled !== current.enabled
    const output: z.output<typeof outputSchema> = input.output != null ? parseInput(outputSchema, input.output, 'output') : {}
    // Field by field: left out (undefined) keeps the stored value, null goes back to the default.
    const outputField = <K extends Exclude<keyof typeof output, 'table'>>(k: K) =>
      output[k] === undefined ? (current?.[k] ?? null) : (output[k] ?? null)
    const tableFormat = output.table === undefined ? (current?.tableFormat ?? null) : (output.table ?? null)
    const currentState = outputField('currentState')
    checkLakeTables(tableFormat, currentState)
    const tablePaths = lakeTablePathList(name, { table: tableFormat, currentState })
    const entity = source.entitySet ?? source.odpName ?? source.table ?? 'data'
    const templateProblem = tablePaths.length
      ? lakeTemplateProblem(outputField('pathTemplate'), { pipeline: name, entity }, tablePaths)
      : null
    if (templateProblem) throw badInput(`output.pathTemplate ${templateProblem}; nothing was changed`, 'output.pathTemplate')
    await this.refuseSharedTables(current?.id, name, destinationId, tableFormat, currentState)

    return {
      name,
      mode,
      connectionId,
      destinationId,
      sourceKind: source.kind,
      entitySet: source.entitySet ?? null,
      odpContext: source.odpContext ?? null,
      odpName: source.odpName ?? null,
      table: source.table ?? null,
      fields: source.fields?.length ? JSON.stringify(source.fields) : null,
      filter: source.filter || null,
      watermarkField: source.watermarkField ?? null,
      pageSize: source.pageSize ?? null,
      partitions: source.partitions ?? null,
      schedule: schedule ?? null,
      timezone: timezone ?? null,
      enabled,
      pathTemplate: outputField('pathTemplate'),
      compression: outputField('compression'),
      rowGroupRows: outputField('rowGroupRows'),
      maxFileMb: outputField('maxFileMb'),
      successMarker: outputField('successMarker'),
      tableFormat,
      currentState,
      schemaChanges: outputField('schemaChanges'),
      // ODP over RFC subscribes with a process name derived from the pipeline id, so pipelines never
      // share one; RFC_READ_TABLE has no subscription at all.
      subscriptionKey: mode === 'DELTA' && source.kind === 'ODP_ODATA' ? subscriptionKey(connection, source.entitySet ?? '') : null,
      ...(timingChanges ? { nextRunAt: schedule && enabled ? nextFireTime(schedule, timezone, now) : null } : {}),
    }
  }
}

/** The source columns of a pipeline row. */
export type SourceColumns = Pick<
  Pipeline,
  | 'id'
  | 'name'
  | 'sourceKind'
  | 'entitySet'
  | 'odpContext'
  | 'odpName'
  | 'table'
  | 'fields'
  | 'filter'
  | 'watermarkField'
  | 'pageSize'
  | 'partitions'
>

/** The source settings of a stored pipeline, in input shape. */
export function sourceOf(p: SourceColumns): z.output<typeof sourceSchema> {
  return {
    kind: p.sourceKind,
    entitySet: p.entitySet,
    odpContext: p.odpContext,
    odpName: p.odpName,
    table: p.table,
    fields: fieldsOf(p),
    filter: p.filter,
    watermarkField: p.watermarkField,
    pageSize: p.pageSize,
    partitions: p.partitions,
  }
}

/**
 * SAP's identity of an ODP subscription over OData: user × service × entity set (docs/sap-protocols.md
 * A.6.6), within one system and client. `c` is an ODATA connection (ODP_ODATA sources need one).
 */
export function subscriptionKey(c: Pick<Connection, 'id' | 'name' | 'config'>, entitySet: string): string {
  const s = odataSettingsOf(c)
  return ['ODATA', s.serviceUrl.toLowerCase(), s.sapClient ?? '', (s.user ?? '').toUpperCase(), entitySet].join('|')
}
