/**
 * What a pipeline reads and writes, in the shape a run pins when it starts: the selection (what SAP
 * is asked for, and what a delta subscription is made of) and the effective output settings.
 */
import { createHash } from 'node:crypto'
import { z } from 'zod'
import type { Connection, Pipeline } from '../db/client.js'
import { connectionSettingsOf } from './connection-config.js'
import { sapIdentity } from './connections.js'
import { DEFAULT_PATH_TEMPLATE } from '../storage/path-template.js'
import type { Compression } from '../transform/index.js'
import { SCHEMA_CHANGE_POLICIES, TABLE_FORMATS, type SchemaChangePolicy, type TableFormat } from './lake-output.js'
import { checkStored, parseStored } from './stored-json.js'

/** Output defaults where a pipeline leaves them open. */
export const OUTPUT_DEFAULTS = {
  compression: 'SNAPPY' as Compression,
  rowGroupRows: 100_000,
  maxFileMb: 256,
  pageSize: 20_000,
  pathTemplate: DEFAULT_PATH_TEMPLATE,
  successMarker: false,
  partitions: 1,
  table: 'NONE' as TableFormat,
  currentState: false,
  schemaChanges: 'ALLOW_ADDITIVE' as SchemaChangePolicy,
}

export const selectionSchema = z.object({
  connectionId: z.string(),
  /** The SAP system, client and user of the connection (see sapIdentity): a subscription belongs to them. */
  sapIdentity: z.string(),
  mode: z.enum(['FULL', 'DELTA']),
  kind: z.enum(['ODP_ODATA', 'ODP_RFC', 'TABLE_RFC']),
  entitySet: z.string().nullable(),
  odpContext: z.string().nullable(),
  odpName: z.string().nullable(),
  table: z.string().nullable(),
  fields: z.array(z.string()).nullable(),
  filter: z.string().nullable(),
  watermarkField: z.string().nullable(),
})
/** What makes up an SAP delta subscription: change any of it and the subscription no longer fits. */
export type Selection = z.output<typeof selectionSchema>

export const outputSettingsSchema = z.object({
  pathTemplate: z.string(),
  compression: z.string(),
  rowGroupRows: z.number().int(),
  maxFileMb: z.number().int(),
  successMarker: z.boolean(),
  pageSize: z.number().int(),
  /** Absent in worlds pinned before partitioned loads: those read as one partition. */
  partitions: z.number().int().default(1),
  /** Absent in worlds pinned before lake tables and schema policies: those read as the defaults. */
  table: z.enum(TABLE_FORMATS).default('NONE'),
  currentState: z.boolean().default(false),
  schemaChanges: z.enum(SCHEMA_CHANGE_POLICIES).default('ALLOW_ADDITIVE'),
})
/**
 * How a run reads and writes, defaults filled in. pageSize and partitions are here, not in the
 * selection: they change how the rows are fetched, not which rows nor the subscription.
 */
export type OutputSettings = z.output<typeof outputSettingsSchema>

/** `Pipeline.fields`: the SAP field names to extract, as JSON; null means all. */
const fieldsSchema = z.array(z.string())

/** A pipeline's field list, from the one place `Pipeline.fields` is parsed. `id` is absent for a row not yet written. */
export function fieldsOf(p: Pick<Pipeline, 'fields'> & Partial<Pick<Pipeline, 'id' | 'name'>>): string[] | null {
  const row = { table: 'pipeline', id: p.id, name: p.name, repair: 'updatePipeline with its source saves it again' }
  return p.fields ? parseStored(fieldsSchema, row, 'field list', p.fields) : null
}

export function selectionOf(p: Pipeline & { connection: Pick<Connection, 'id' | 'name' | 'protocol' | 'config'> }): Selection {
  return {
    connectionId: p.connectionId,
    sapIdentity: sapIdentity(connectionSettingsOf(p.connection)),
    mode: p.mode,
    kind: p.sourceKind,
    entitySet: p.entitySet,
    odpContext: p.odpContext,
    odpName: p.odpName,
    table: p.table,
    fields: fieldsOf(p),
    filter: p.filter,
    watermarkField: p.watermarkField,
  }
}

/** A stable digest of a selection, stored with the delta state it was subscribed with. */
export function selectionHash(s: Selection): string {
  const canonical = selectionSchema.parse(s)
  const ordered = Object.keys(canonical)
    .sort()
    .map((k) => [k, canonical[k as keyof Selection]])
  return createHash('sha256').update(JSON.stringify(ordered)).digest('hex')
}

/** The pipeline columns that make up its output settings. */
export type OutputColumns = Pick<
  Pipeline,
  | 'pathTemplate'
  | 'compression'
  | 'rowGroupRows'
  | 'maxFileMb'
  | 'successMarker'
  | 'pageSize'
  | 'partitions'
  | 'tableFormat'
  | 'currentState'
  | 'schemaChanges'
>

const tableFormatColumn = z.enum(TABLE_FORMATS).nullable()
const schemaChangesColumn = z.enum(SCHEMA_CHANGE_POLICIES).nullable()
const OUTPUT_ROW = { table: 'pipeline', repair: 'updatePipeline with its output saves it again' }

export function outputSettingsOf(p: OutputColumns): OutputSettings {
  return {
    pathTemplate: p.pathTemplate ?? OUTPUT_DEFAULTS.pathTemplate,
    compression: p.compression ?? OUTPUT_DEFAULTS.compression,
    rowGroupRows: p.rowGroupRows ?? OUTPUT_DEFAULTS.rowGroupRows,
    maxFileMb: p.maxFileMb ?? OUTPUT_DEFAULTS.maxFileMb,
    successMarker: p.successMarker ?? OUTPUT_DEFAULTS.successMarker,
    pageSize: p.pageSize ?? OUTPUT_DEFAULTS.pageSize,
    partitions: p.partitions ?? OUTPUT_DEFAULTS.partitions,
    // The catalogue writes only these values; a row edited by hand to another is named, never read as a default.
    table: checkStored(tableFormatColumn, OUTPUT_ROW, 'tableFormat', p.tableFormat) ?? OUTPUT_DEFAULTS.table,
    currentState: p.currentState ?? OUTPUT_DEFAULTS.currentState,
    schemaChanges: checkStored(schemaChangesColumn, OUTPUT_ROW, 'schemaChanges', p.schemaChanges) ?? OUTPUT_DEFAULTS.schemaChanges,
  }
}
