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
import { parseStored } from './stored-json.js'

/** Output defaults where a pipeline leaves them open. */
export const OUTPUT_DEFAULTS = {
  compression: 'SNAPPY' as Compression,
  rowGroupRows: 100_000,
  maxFileMb: 256,
  pageSize: 20_000,
  pathTemplate: DEFAULT_PATH_TEMPLATE,
  successMarker: false,
  partitions: 1,
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

export function outputSettingsOf(
  p: Pick<Pipeline, 'pathTemplate' | 'compression' | 'rowGroupRows' | 'maxFileMb' | 'successMarker' | 'pageSize' | 'partitions'>,
): OutputSettings {
  return {
    pathTemplate: p.pathTemplate ?? OUTPUT_DEFAULTS.pathTemplate,
    compression: p.compression ?? OUTPUT_DEFAULTS.compression,
    rowGroupRows: p.rowGroupRows ?? OUTPUT_DEFAULTS.rowGroupRows,
    maxFileMb: p.maxFileMb ?? OUTPUT_DEFAULTS.maxFileMb,
    successMarker: p.successMarker ?? OUTPUT_DEFAULTS.successMarker,
    pageSize: p.pageSize ?? OUTPUT_DEFAULTS.pageSize,
    partitions: p.partitions ?? OUTPUT_DEFAULTS.partitions,
  }
}
