/**
 * The schema a run wrote, as the schema check compares it (docs/architecture.md#schema-changes):
 * per column its name, column-model kind, decimal precision and scale, nullability and key
 * membership, in file order. It is taken from the manifest's `schema`, so a run committed by its
 * worker and one rolled forward from its manifest record the same description and the same hash.
 * String and binary lengths are not part of it: Parquet and Iceberg strings carry none, so a longer
 * (or shorter) SAP field changes nothing a reader sees.
 */
import { createHash } from 'node:crypto'
import { z } from 'zod'
import { parseStored, type RowRef } from '../../catalog/stored-json.js'
import type { ManifestColumn } from '../../transform/index.js'

const trackedColumnSchema = z.object({
  name: z.string(),
  kind: z.string(),
  precision: z.number().int().optional(),
  scale: z.number().int().optional(),
  nullable: z.boolean(),
  key: z.boolean(),
})
export type TrackedColumn = z.output<typeof trackedColumnSchema>

/** What a committed run leaves for the next run's check: its columns (JSON, `DeltaState.schemaColumns`) and their digest. */
export interface RecordedSchema {
  hash: string
  columns: string
}

export function trackedColumns(schema: readonly ManifestColumn[]): TrackedColumn[] {
  return schema.map((c) => ({
    name: c.name,
    kind: c.kind,
    // Only decimals keep precision and scale in the comparison; other kinds' Parquet parameters follow from the kind.
    ...(c.kind === 'decimal' ? { precision: c.precision, scale: c.scale } : {}),
    nullable: c.nullable,
    key: c.key,
  }))
}

/** A stable digest of a schema: the same columns in the same order give the same hash (`schemaHash` in the manifest). */
function schemaHash(columns: readonly TrackedColumn[]): string {
  const canonical = columns.map((c) => [c.name, c.kind, c.precision ?? null, c.scale ?? null, c.nullable, c.key])
  return `sha256:${createHash('sha256').update(JSON.stringify(canonical)).digest('hex')}`
}

export function recordSchema(schema: readonly ManifestColumn[]): RecordedSchema {
  const columns = trackedColumns(schema)
  return { hash: schemaHash(columns), columns: JSON.stringify(columns) }
}

/** `DeltaState.schemaColumns` as written by {@link recordSchema}. */
export function storedColumns(text: string, row: RowRef): TrackedColumn[] {
  return parseStored(z.array(trackedColumnSchema), row, 'schema columns', text)
}
