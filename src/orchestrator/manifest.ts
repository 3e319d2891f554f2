import { z } from 'zod'
import type { ChangeCounts, Column } from '../sap/fields.js'
import { describeSchema, type ManifestColumn, type TimestampUnit } from '../transform/index.js'
import type { PinnedWorld } from './run/pinned.js'
import { recordSchema } from './schema/describe.js'

export const MANIFEST_FILE = 'manifest.json'
/** Empty object written after the manifest when a pipeline asks for it (Spark, Databricks, Hadoop). */
export const SUCCESS_MARKER_FILE = '_SUCCESS'

const changeCountsSchema = z.object({ created: z.number(), updated: z.number(), deleted: z.number() })

/**
 * manifest.json: written last into a run's prefix, it is the commit point. A prefix without one is
 * an incomplete run; readers take the file list from here instead of listing the prefix. Once
 * written it is never withdrawn: the run is committed from it, whatever fails afterwards.
 */
const manifestSchema = z.object({
  manifestVersion: z.literal(1),
  runId: z.string(),
  pipeline: z.object({ id: z.string(), name: z.string() }),
  source: z.object({
    kind: z.string(),
    entitySet: z.string().nullable(),
    odpContext: z.string().nullable().optional(),
    odpName: z.string().nullable().optional(),
    table: z.string().nullable().optional(),
    fields: z.array(z.string()).nullable(),
    filter: z.string().nullable(),
    watermarkField: z.string().nullable().optional(),
    /** Digest of the selection the run read with (what a delta subscription is made of). */
    selectionHash: z.string().optional(),
  }),
  extractionMode: z.string(),
  createdAt: z.string(),
  compression: z.string(),
  files: z.array(
    z.object({
      path: z.string(),
      rows: z.number(),
      bytes: z.number(),
      sha256: z.string(),
      changeCounts: changeCountsSchema.optional(),
      /** A partitioned load (FULL, or a TABLE_RFC DELTA_INIT): the id of the key range the file holds (see `partitions`). */
      partition: z.string().optional(),
    }),
  ),
  /** A partitioned FULL load: the key ranges `from <= field < to` (open where absent), in key order. */
  partitions: z
    .array(z.object({ id: z.string(), field: z.string(), from: z.string().optional(), to: z.string().optional(), attempts: z.number() }))
    .optional(),
  rows: z.number(),
  bytes: z.number(),
  schema: z.array(z.custom<ManifestColumn>()),
  /** Digest of `schema` as the schema check compares it (src/orchestrator/schema/describe.ts); absent in older manifests. */
  schemaHash: z.string().optional(),
  changeCounts: changeCountsSchema.nullable(),
  deltaTokenIn: z.string().nullable(),
  deltaTokenOut: z.string().nullable(),
  /**
   * An ICEBERG pipeline's run (docs/architecture.md#lake-commit): the table its files were committed
   * to, the snapshot that committed them (absent in the copy written before the snapshot), and the
   * change-log columns every file holds after those `schema` lists.
   */
  table: z
    .object({
      format: z.literal('ICEBERG'),
      path: z.string(),
      location: z.string(),
      snapshotId: z.number().optional(),
      columns: z.array(z.custom<ManifestColumn>()),
      /** The current-state table (`output.currentState`) the run was applied to after the change log, and its snapshot. */
      currentState: z
        .object({
          path: z.string(),
          location: z.string(),
          /** A delta's predecessor in the table (the roll-forward checks it again); absent for loads that replace the table. */
          continuesFrom: z.string().nullable().optional(),
          snapshotId: z.number().optional(),
        })
        .optional(),
    })
    .optional(),
})
export type Manifest = z.output<typeof manifestSchema>

export interface ManifestFile {
  fileName: string
  rows: number
  bytes: number
  sha256: string
  counts?: Record<string, number>
  partition?: string
}

export interface ManifestPartition {
  id: string
  field: string
  from?: string
  to?: string
  attempts: number
}

export interface ManifestInput {
  runId: string
  pipelineId: string
  world: PinnedWorld
  extractionMode: string
  columns: Column[]
  files: ManifestFile[]
  partitions?: ManifestPartition[]
  changeCounts: ChangeCounts | null
  deltaTokenIn: string | null
  deltaTokenOut: string | null
  /**
   * The run's lake table, with the change-log columns its files hold beyond `columns` and the unit
   * their timestamps were written in (MICROS for tables; NONE pipelines' files keep MILLIS), and the
   * current-state table the run is also applied to.
   */
  table?: {
    path: string
    location: string
    columns: Column[]
    timestampUnit: TimestampUnit
    currentState?: { path: string; location: string; continuesFrom?: string | null }
  }
}

export function buildManifest(m: ManifestInput, now = new Date()): Manifest {
  const s = m.world.selection
  // What the files hold: the schema hash ignores the unit (describe.ts), so both units hash alike.
  const layout = { timestampUnit: m.table?.timestampUnit }
  const schema = describeSchema(m.columns, layout)
  return {
    manifestVersion: 1,
    runId: m.runId,
    pipeline: { id: m.pipelineId, name: m.world.pipelineName },
    source: {
      kind: s.kind,
      entitySet: s.entitySet,
      odpContext: s.odpContext,
      odpName: s.odpName,
      table: s.table,
      fields: s.fields,
      filter: s.filter,
      watermarkField: s.watermarkField,
      selectionHash: m.world.selectionHash,
    },
    extractionMode: m.extractionMode,
    createdAt: now.toISOString(),
    compression: m.world.output.compression,
    files: m.files.map((f) => ({
      path: f.fileName,
      rows: f.rows,
      bytes: f.bytes,
      sha256: f.sha256,
      ...(m.changeCounts
        ? { changeCounts: { created: f.counts?.created ?? 0, updated: f.counts?.updated ?? 0, deleted: f.counts?.deleted ?? 0 } }
        : {}),
      ...(f.partition ? { partition: f.partition } : {}),
    })),
    ...(m.partitions ? { partitions: m.partitions } : {}),
    rows: m.files.reduce((n, f) => n + f.rows, 0),
    bytes: m.files.reduce((n, f) => n + f.bytes, 0),
    schema,
    schemaHash: recordSchema(schema).hash,
    changeCounts: m.changeCounts,
    deltaTokenIn: m.deltaTokenIn,
    deltaTokenOut: m.deltaTokenOut,
    ...(m.table
      ? {
          table: {
            format: 'ICEBERG' as const,
            path: m.table.path,
            location: m.table.location,
            columns: describeSchema(m.table.columns, layout),
            ...(m.table.currentState ? { currentState: m.table.currentState } : {}),
          },
        }
      : {}),
  }
}

/** A manifest read back from a store; undefined when the text is not one. */
export function parseManifest(text: string): Manifest | undefined {
  try {
    const parsed = manifestSchema.safeParse(JSON.parse(text))
    return parsed.success ? parsed.data : undefined
  } catch {
    return undefined
  }
}
