import type { Column } from '../../sap/fields.js'
import { SourceError } from '../../sap/errors.js'
import type { SourceRead, SourceReadEnd, SourceReadMode } from '../../sap/source.js'
import { ParquetRoller, type Compression, type LedgerEntry, type WrittenFile } from '../../transform/index.js'
import { prefetch } from '../../util/prefetch.js'
import { ChangeCounter } from '../change-counter.js'
import type { Counters } from '../run-tracker.js'
import { UploadQueue, type StagedFile } from '../uploads.js'
import type { RunContext } from './context.js'
import type { RunStage } from '../../db/client.js'
import type { PartitionExtract } from './partitions.js'
import { withFooter } from './verify.js'
import { type RunTable, runTableFor } from '../lake/run-table.js'

const UPLOAD_CONCURRENCY = 2
/** Pages read ahead of the encoder: the next page downloads while this one is encoded. */
const PAGES_AHEAD = 1

/** A file as stored under the run's prefix, with the row count its own footer states (and its partition's id). */
export type StoredFile = StagedFile & { footerRows: number; counts?: Record<string, number>; partition?: string }

/** What the read and the writer each say happened: the figures the integrity check compares. */
export interface Extracted {
  columns: Column[]
  end: SourceReadEnd
  /** Stored files, in run order. */
  files: StoredFile[]
  /** Every file the writer opened. */
  ledger: readonly LedgerEntry[]
  rowsFromSource: number
  rowsAccepted: number
  rowsEncoded: number
  /** C/U/D counted from the source's pages; null when the rows carry no change mode. */
  changes: ChangeCounter | null
  /** A partitioned read: what each partition's own read and writer say (the figures above are their sums). */
  partitions?: PartitionExtract[]
}

/** How one read streams: its files' names, where its counters go, whether it moves the run's stage. */
export interface StreamOptions {
  fileName: (i: number) => string
  count: (delta: Partial<Counters>) => void
  /** The whole run's read moves the stage; a partition leaves it to the run. */
  setStage?: (stage: RunStage) => Promise<void>
  /**
   * Called with each finished file's name before its upload starts; a throw stops the read. A partition
   * worker of queue mode records the name on its row, so the owner can remove the file if the worker dies.
   */
  beforeUpload?: (fileName: string) => Promise<void>
  /**
   * An ICEBERG pipeline's table plan for the read's columns (lake/run-table.ts): its files then hold
   * the change-log columns after the source's and the table's field ids. Only a run's owner plans it.
   */
  tableFor?: (columns: readonly Column[]) => Promise<RunTable> | null
  signal: AbortSignal
}

/** What a read needs of the run: where it stages, where it writes, and the run's settings. */
export type StreamTarget = Pick<RunContext, 'world' | 'staging' | 'destination' | 'prefix'> & { run: { id: string } }

/** The whole selection in one read: files `part-00000.parquet`, … */
export function streamToFiles(ctx: RunContext, { read, mode }: { read: SourceRead; mode: SourceReadMode }): Promise<Extracted> {
  return streamRead(ctx, read, mode, {
    fileName: (i) => `part-${String(i).padStart(5, '0')}.parquet`,
    count: (delta) => ctx.tracker.add(delta),
    setStage: (stage) => ctx.tracker.setStage(stage),
    tableFor: (columns) => runTableFor(ctx, columns),
    signal: ctx.signal,
  })
}

/**
 * Streams the source's pages through the Parquet writer into files, each checked against its own
 * footer and uploaded as soon as it is finished, while extraction goes on.
 */
export async function streamRead(ctx: StreamTarget, read: SourceRead, mode: SourceReadMode, o: StreamOptions): Promise<Extracted> {
  const { world } = ctx
  const { signal } = o
  await o.setStage?.('EXTRACTING')
  const changes = new ChangeCounter(read.columns)
  // An ICEBERG pipeline's files hold the change-log columns after the source's and the table's field
  // ids (lake/run-table.ts); the source's columns keep their positions, so the counts below hold.
  const table = await o.tableFor?.(read.columns)
  const roller = new ParquetRoller(table?.columns ?? read.columns, {
    dir: ctx.staging,
    fileName: o.fileName,
    compression: world.output.compression as Compression,
    rowGroupRows: world.output.rowGroupRows,
    maxFileBytes: world.output.maxFileMb * 1024 * 1024,
    kvMetadata: { 'delta-extractor.run': ctx.run.id, 'delta-extractor.pipeline': world.pipelineName, ...table?.plan.parquet.kvMetadata },
    ...(table ? { fieldIds: table.plan.parquet.fieldIds, timestampUnit: table.plan.parquet.timestampUnit } : {}),
    countBy: changes.tracksChanges ? changes.classify : undefined,
  })
  const uploads = new UploadQueue<StoredFile>(ctx.destination!, ctx.prefix, UPLOAD_CONCURRENCY, signal, (f) => {
    o.count({ filesWritten: 1, bytesWritten: BigInt(f.bytes) })
  })
  let reported = 0
  const store = async (finished: Promise<WrittenFile[]>) => {
    for (const f of await finished) {
      const checked = await withFooter(f)
      await o.beforeUpload?.(checked.fileName)
      await uploads.add(checked)
    }
    o.count({ rowsWritten: BigInt(roller.rowsWritten - reported) })
    reported = roller.rowsWritten
  }
  try {
    let rowsFromSource = 0
    for await (const page of prefetch(read.pages, PAGES_AHEAD)) {
      signal.throwIfAborted()
      rowsFromSource += page.rows.length
      o.count({ rowsExtracted: BigInt(page.rows.length) })
      changes.count(page.rows)
      await store(roller.write(table ? table.extend(page.rows) : page.rows))
    }
    const end = await read.end()
    if (mode !== 'FULL' && !end.position)
      throw new SourceError('SOURCE_PROTOCOL', 'SAP ended the delta read without a delta link; nothing is committed')
    await o.setStage?.('TRANSFORMING')
    await store(roller.finish())
    await o.setStage?.('UPLOADING')
    const files = await uploads.done()
    return {
      columns: read.columns,
      end,
      files,
      ledger: roller.ledger,
      rowsFromSource,
      rowsAccepted: roller.rowsAccepted,
      rowsEncoded: roller.rowsWritten,
      changes: changes.tracksChanges ? changes : null,
    }
  } catch (e) {
    // In-flight uploads end before the caller removes the run's prefix, or they would land after it.
    await uploads.abort()
    await roller.abort().catch(() => {})
    throw e
  }
}
