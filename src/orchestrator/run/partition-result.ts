/**
 * The stored shape of `RunPartition.result` (docs/architecture.md#partitions), parsed once here
 * through zod like every JSON column (docs/architecture.md#database). A SUCCEEDED attempt carries
 * every figure its own read and writer kept — rows from SAP, rows accepted and encoded, the writer's
 * ledger, each file with its footer's row count and change counts — so that a run's owner that did
 * not read the partition itself rebuilds exactly the `Extracted` the integrity check
 * (`verifyConservation`, run/verify.ts) would have seen had it read it.
 */
import { z } from 'zod'
import { parseStored } from '../../catalog/stored-json.js'
import type { Column } from '../../sap/fields.js'
import { ChangeCounter } from '../change-counter.js'
import type { RunErrorCode } from '../run-errors.js'
import type { Extracted } from './stream.js'

const fileSchema = z.object({
  index: z.number().int().optional(),
  name: z.string(),
  rows: z.number().int(),
  bytes: z.number().int(),
  sha256: z.string(),
  footerRows: z.number().int().optional(),
  counts: z.record(z.string(), z.number()).optional(),
})

const writtenSchema = z.object({
  files: z.array(fileSchema),
  rowsFromSource: z.number().int(),
  rowsAccepted: z.number().int().optional(),
  rowsEncoded: z.number().int().optional(),
  ledger: z.array(z.object({ index: z.number().int(), fileName: z.string(), rows: z.number().int(), handedOut: z.boolean() })).optional(),
  /** The column model the partition's read reported (the manifest's schema comes from it). */
  columns: z.array(z.object({ name: z.string() }).passthrough()).optional(),
  changes: z
    .object({ counts: z.record(z.string(), z.number()), beforeImages: z.number().int() })
    .nullable()
    .optional(),
  /** A split DELTA_INIT: where the partition's read ended (its start and the fingerprints it saw), for the owner's join. */
  end: z.object({ position: z.string().optional(), token: z.string().optional() }).optional(),
})

const failureSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), retryable: z.boolean() }),
  /** Object names (under the run's prefix) the attempt opened: removed before the partition is read again. */
  opened: z.array(z.string()).optional(),
  /** Rows the attempt read from SAP before it failed (counted in rowsExtracted, in no file). */
  rowsRead: z.number().int().optional(),
})

/** While a partition worker reads: the names it is about to upload, so a stale attempt's files can be found. */
const readingSchema = z.object({ opened: z.array(z.string()) })

export type PartitionWritten = z.output<typeof writtenSchema>
export type PartitionFailure = z.output<typeof failureSchema>

const rowRef = (id: number) => ({ table: 'runPartition', id: String(id) })

export const parseWritten = (id: number, text: string | null): PartitionWritten =>
  parseStored(writtenSchema, rowRef(id), 'result', text ?? 'null')
export const parseFailure = (id: number, text: string | null): PartitionFailure =>
  parseStored(failureSchema, rowRef(id), 'result', text ?? 'null')

/** The names an attempt recorded as opened, whatever its state (none when it recorded nothing). */
export function openedNames(text: string | null): string[] {
  if (!text) return []
  const parsed = readingSchema.safeParse(JSON.parse(text))
  return parsed.success ? parsed.data.opened : []
}

/** What a SUCCEEDED attempt stores: every figure its read and writer kept. */
export function writtenOf(x: Extracted): PartitionWritten {
  return {
    files: x.files.map((f) => ({
      index: f.index,
      name: f.fileName,
      rows: f.rows,
      bytes: f.bytes,
      sha256: f.sha256,
      footerRows: f.footerRows,
      counts: f.counts,
    })),
    rowsFromSource: x.rowsFromSource,
    rowsAccepted: x.rowsAccepted,
    rowsEncoded: x.rowsEncoded,
    ledger: x.ledger.map(({ index, fileName, rows, handedOut }) => ({ index, fileName, rows, handedOut })),
    columns: x.columns as unknown as PartitionWritten['columns'],
    changes: x.changes ? { counts: { ...x.changes.counts }, beforeImages: x.changes.beforeImages } : null,
    ...(x.end.position !== undefined && { end: { position: x.end.position, token: x.end.token } }),
  }
}

/**
 * A partition's figures rebuilt from its row, for the owner's integrity check. A figure the row lacks
 * (a row written before they were all stored) is left missing, never made up: the check then fails
 * the run (DATA_INTEGRITY) rather than trust it.
 */
export function extractedOf(w: PartitionWritten): Extracted {
  const columns = (w.columns ?? []) as unknown as Column[]
  let changes: ChangeCounter | null = null
  if (w.changes) {
    changes = new ChangeCounter(columns)
    Object.assign(changes.counts, w.changes.counts)
    changes.beforeImages = w.changes.beforeImages
  }
  return {
    columns,
    // Absent for a FULL partition; a split DELTA_INIT's join refuses an end without a position.
    end: w.end ?? {},
    files: w.files.map((f, i) => ({
      index: f.index ?? i,
      fileName: f.name,
      localPath: '',
      rows: f.rows,
      bytes: f.bytes,
      sha256: f.sha256,
      footerRows: f.footerRows ?? -1,
      counts: f.counts,
    })),
    ledger: w.ledger ?? [],
    rowsFromSource: w.rowsFromSource,
    rowsAccepted: w.rowsAccepted ?? -1,
    rowsEncoded: w.rowsEncoded ?? -1,
    changes,
  }
}

/** Raised by a run's owner when a partition read elsewhere failed for good: the run fails with that partition's error. */
export class PartitionFailed extends Error {
  override readonly name = 'PartitionFailed'
  constructor(
    readonly code: RunErrorCode,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message)
  }
}
