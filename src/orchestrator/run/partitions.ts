/**
 * Partitioned FULL loads (README "Partitioned loads"): the snapshot is cut into key ranges of the
 * first key field (src/sap/key-ranges.ts) and each range is read, written and uploaded on its own,
 * concurrently, under the run's prefix. The run stays one run: one verification over every
 * partition (verify.ts), one manifest listing each file with its partition, one commit
 * (docs/architecture.md#the-commit-protocol).
 *
 * A partition is a unit with its own id, key range, attempts and files, and reading one is a function
 * of (run, partition, attempt) that writes deterministic names (`part-p02-a1-00000.parquet`, rule 2):
 * a retried upload overwrites its own file, a retried partition writes new names and removes the
 * failed attempt's, so a later step can hand partitions to other workers without changing what a run commits.
 */
import { SourceError } from '../../sap/errors.js'
import type { FieldKeyRange } from '../../sap/key-ranges.js'
import type { Source, SourceRead, SourceReadEnd, SourceReadMode, SourceSpec } from '../../sap/source.js'
import type { Counters } from '../run-tracker.js'
import type { RunContext } from './context.js'
import { runTableFor } from '../lake/run-table.js'
import { startAttempt } from './partition-records.js'
import { streamRead, type Extracted, type StoredFile } from './stream.js'

/** A partition's attempts before the run fails: a retryable SAP error costs only that partition's work. */
export const PARTITION_ATTEMPTS = 3

export interface Partition {
  /** Position in the plan, in key order. */
  index: number
  /** `p00`, `p01`, …: from the index; names its files. */
  id: string
  /** Absent only for a partition of one (never planned here: such a run reads as today). */
  range: FieldKeyRange
}

export interface PartitionedRead {
  plan: Partition[]
  open(partition: Partition, signal: AbortSignal): Promise<SourceRead>
  /**
   * A split DELTA_INIT (partitioned-init.ts): each partition reads from `start` and ends with a
   * position, and the run's is made of them. In queue mode `start` is stored on every attempt's row,
   * so a worker that did not fix it reads from it too (partition-worker.ts).
   */
  init?: { mode: SourceReadMode; start: string; join(ends: readonly SourceReadEnd[]): SourceReadEnd }
}

/** What one partition's read and writer say, and how many attempts it took. */
export interface PartitionExtract {
  partition: Partition
  attempts: number
  extracted: Extracted
  /** Rows its failed attempts read before they failed (counted in rowsExtracted, in no file). */
  rowsReread: number
}

/**
 * The partitions of a FULL run asking for more than one, or undefined when the source cannot cut
 * this selection (then the run reads it whole, exactly as an unpartitioned one, with a note why).
 */
export async function planPartitions(ctx: RunContext, source: Source, spec: SourceSpec): Promise<PartitionedRead | undefined> {
  const parts = ctx.world.output.partitions
  const plan = source.keyRanges ? await source.keyRanges(spec, parts, ctx.signal) : { ranges: [{}], note: 'this source is not split' }
  if (!plan.field || plan.ranges.length < 2) {
    await ctx.tracker.note(
      'info',
      `partitions: ${parts} asked, read as one: ${plan.note ?? 'the table holds too few distinct keys to split'}`,
    )
    return undefined
  }
  const field = plan.field
  const partitions = plan.ranges.map((r, index) => ({ index, id: `p${String(index).padStart(2, '0')}`, range: { field, ...r } }))
  await ctx.tracker.note(
    'info',
    `partitions: ${partitions.length} key ranges of ${field}: ${partitions.map((p) => `${p.id} [${p.range.from ?? '…'}, ${p.range.to ?? '…'})`).join(', ')}`,
  )
  return { plan: partitions, open: (p, signal) => source.read({ spec: { ...spec, keyRange: p.range }, mode: 'FULL', signal }) }
}

/**
 * Reads every partition at once (an RFC connection's pool bounds the calls in flight), each into its
 * own files. A partition failing with a retryable error is read again alone, while the others keep
 * their work; any other failure stops them all. The result sums every partition and keeps each
 * one's own figures for the integrity check.
 *
 * Progress never goes backwards (runProgress's promise, src/api/run-progress.ts): `rowsExtracted`
 * counts every row read from SAP as it arrives, a failed attempt's included, while `rowsWritten`,
 * `filesWritten` and `bytesWritten` count only what the manifest will list — a partition's are added
 * when it completes. A run without retries ends with rowsExtracted = rowsWritten; one with retries
 * says in its log how many rows were read again.
 */
export async function streamPartitions(ctx: RunContext, partitioned: PartitionedRead): Promise<Extracted> {
  await ctx.tracker.setStage('EXTRACTING')
  const stop = new AbortController()
  const signal = AbortSignal.any([ctx.signal, stop.signal])
  const results = await Promise.allSettled(
    partitioned.plan.map((p) =>
      readWithRetries(ctx, partitioned, p, signal).catch((e: unknown) => {
        stop.abort(e)
        throw e
      }),
    ),
  )
  // The first failure is the cause; the others' are the stop it triggered.
  if (results.some((r) => r.status === 'rejected')) throw ctx.signal.aborted ? ctx.signal.reason : stop.signal.reason
  const parts = results.map((r) => (r as PromiseFulfilledResult<PartitionExtract>).value)
  const reread = parts.reduce((n, p) => n + p.rowsReread, 0)
  if (reread)
    await ctx.tracker.note(
      'info',
      `partitions: ${reread} row(s) read again after failed attempts; rowsExtracted counts them, rowsWritten only the rows the manifest lists`,
    )
  await ctx.tracker.setStage('UPLOADING')
  return combined(parts, partitioned)
}

/** A partition's file names: its id and the attempt, so no attempt can overwrite or be mistaken for another's. */
const fileNameOf = (p: Partition, attempt: number) => (i: number) => `part-${p.id}-a${attempt}-${String(i).padStart(5, '0')}.parquet`

async function readWithRetries(
  ctx: RunContext,
  partitioned: PartitionedRead,
  p: Partition,
  signal: AbortSignal,
): Promise<PartitionExtract> {
  let rowsReread = 0
  for (let attempt = 1; ; attempt++) {
    const written: Counters = { rowsExtracted: 0n, rowsWritten: 0n, filesWritten: 0, bytesWritten: 0n }
    const named: string[] = []
    const record = await startAttempt(ctx, p, attempt)
    try {
      const read = await partitioned.open(p, signal)
      const name = fileNameOf(p, attempt)
      const extracted = await streamRead(ctx, read, partitioned.init?.mode ?? 'FULL', {
        fileName: (i) => (named.push(name(i)), name(i)),
        count: (d) => {
          if (d.rowsExtracted) ctx.tracker.add({ rowsExtracted: d.rowsExtracted })
          written.rowsExtracted += d.rowsExtracted ?? 0n
          written.rowsWritten += d.rowsWritten ?? 0n
          written.filesWritten += d.filesWritten ?? 0
          written.bytesWritten += d.bytesWritten ?? 0n
        },
        tableFor: (columns) => runTableFor(ctx, columns),
        signal,
      })
      await record.succeeded(extracted)
      ctx.tracker.add({ rowsWritten: written.rowsWritten, filesWritten: written.filesWritten, bytesWritten: written.bytesWritten })
      return { partition: p, attempts: attempt, extracted, rowsReread }
    } catch (e) {
      // Logged, not thrown: a record the database refuses must not hide why the attempt failed.
      await record.failed(e).catch((err) => ctx.log.warn({ err, partition: p.id }, 'could not record a failed partition attempt'))
      const again = e instanceof SourceError && e.retryable && !signal.aborted && attempt < PARTITION_ATTEMPTS
      if (!again) throw e
      // The manifest is the only list readers trust, but readers that list the folder would count
      // a failed attempt's files: every name it opened goes (its uploads have ended, stream.ts).
      for (const key of named) await ctx.destination!.remove(`${ctx.prefix}/${key}`, signal)
      rowsReread += Number(written.rowsExtracted)
      ctx.log.warn({ partition: p.id, attempt, err: { name: e.name, message: e.message } }, 'partition failed; reading it again alone')
      await ctx.tracker.note(
        'warn',
        `partition ${p.id} failed (${e.message}); its ${named.length} file(s) removed, reading it again alone (attempt ${attempt + 1})`,
      )
    }
  }
}

/** The run's figures: every partition's, in key order, files labelled with their partition. */
export function combined(parts: PartitionExtract[], { init }: Pick<PartitionedRead, 'init'>): Extracted {
  const sum = (f: (x: Extracted) => number) => parts.reduce((n, p) => n + f(p.extracted), 0)
  return {
    columns: parts[0].extracted.columns,
    end: init ? init.join(parts.map((p) => p.extracted.end)) : {},
    files: parts.flatMap((p) => p.extracted.files.map((f): StoredFile => ({ ...f, partition: p.partition.id }))),
    ledger: parts.flatMap((p) => p.extracted.ledger),
    rowsFromSource: sum((x) => x.rowsFromSource),
    rowsAccepted: sum((x) => x.rowsAccepted),
    rowsEncoded: sum((x) => x.rowsEncoded),
    changes: null,
    partitions: parts,
  }
}
