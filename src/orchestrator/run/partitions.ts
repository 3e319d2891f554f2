/**
 * Partitioned FULL loads (README "Partitioned loads"): the snapshot is cut into key ranges of the
 * first key field (src/sap/key-ranges.ts) and each range is read, written and uploaded on its own,
 * concurrently, under the run's prefix. The run stays one run: one verification over every
 * partition (verify.ts), one manifest listing each file with its partition, one commit
 * (docs/architecture.md#the-commit-protocol).
 *
 * A partition is a unit with its own id, key range, attempts and files, and reading one is a function
 * of (run, partition) that writes deterministic names (`part-p02-00000.parquet`, rule 2), so a later
 * step can hand partitions to other workers without changing what a run commits.
 */
import { SourceError } from '../../sap/errors.js'
import type { FieldKeyRange } from '../../sap/key-ranges.js'
import type { Source, SourceRead, SourceSpec } from '../../sap/source.js'
import type { Counters } from '../run-tracker.js'
import type { RunContext } from './context.js'
import { streamRead, type Extracted, type StoredFile } from './stream.js'

/** A partition's attempts before the run fails: a retryable SAP error costs only that partition's work. */
const PARTITION_ATTEMPTS = 3

export interface Partition {
  /** `p00`, `p01`, …: in key order; names its files. */
  id: string
  /** Absent only for a partition of one (never planned here: such a run reads as today). */
  range: FieldKeyRange
}

export interface PartitionedRead {
  plan: Partition[]
  open(partition: Partition, signal: AbortSignal): Promise<SourceRead>
}

/** What one partition's read and writer say, and how many attempts it took. */
export interface PartitionExtract {
  partition: Partition
  attempts: number
  extracted: Extracted
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
  const partitions = plan.ranges.map((r, i) => ({ id: `p${String(i).padStart(2, '0')}`, range: { field, ...r } }))
  await ctx.tracker.note(
    'info',
    `partitions: ${partitions.length} key ranges of ${field}: ${partitions.map((p) => `${p.id} [${p.range.from ?? '…'}, ${p.range.to ?? '…'})`).join(', ')}`,
  )
  return { plan: partitions, open: (p, signal) => source.read({ spec: { ...spec, keyRange: p.range }, mode: 'FULL', signal }) }
}

/**
 * Reads every partition at once (an RFC connection's pool bounds the calls in flight), each into its
 * own files. A partition failing with a retryable error is read again alone, its counters taken
 * back, while the others keep their work; any other failure stops them all. The result sums every
 * partition and keeps each one's own figures for the integrity check.
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
  await ctx.tracker.setStage('UPLOADING')
  return combined(results.map((r) => (r as PromiseFulfilledResult<PartitionExtract>).value))
}

async function readWithRetries(
  ctx: RunContext,
  partitioned: PartitionedRead,
  p: Partition,
  signal: AbortSignal,
): Promise<PartitionExtract> {
  let strays = new Set<string>()
  for (let attempt = 1; ; attempt++) {
    const taken = tally(ctx)
    const uploaded = new Set<string>()
    try {
      const read = await partitioned.open(p, signal)
      const extracted = await streamRead(ctx, read, 'FULL', {
        fileName: (i) => `part-${p.id}-${String(i).padStart(5, '0')}.parquet`,
        count: taken.add,
        onUploaded: (f) => uploaded.add(f.fileName),
        signal,
      })
      for (const f of extracted.files) strays.delete(f.fileName)
      if (strays.size)
        // Same names overwrite (rule 2); a name the retry did not write again would lie beside the
        // manifest unlisted, and readers that list the folder would count it. The whole run goes again.
        throw new SourceError(
          'SOURCE_UNAVAILABLE',
          `partition ${p.id} changed while it was read again (${[...strays].join(', ')} of its failed attempt not rewritten); the run is read again`,
        )
      return { partition: p, attempts: attempt, extracted }
    } catch (e) {
      const again = e instanceof SourceError && e.retryable && !signal.aborted && attempt < PARTITION_ATTEMPTS && !strays.size
      if (!again) throw e
      taken.undo()
      strays = new Set([...strays, ...uploaded])
      ctx.log.warn({ partition: p.id, attempt, err: { name: e.name, message: e.message } }, 'partition failed; reading it again alone')
      await ctx.tracker.note('warn', `partition ${p.id} failed (${e.message}); reading it again alone (attempt ${attempt + 1})`)
    }
  }
}

/** The counters one attempt added to the run's progress, so a failed attempt can take them back. */
function tally(ctx: RunContext) {
  const sum: Counters = { rowsExtracted: 0n, rowsWritten: 0n, filesWritten: 0, bytesWritten: 0n }
  return {
    add: (d: Partial<Counters>) => {
      sum.rowsExtracted += d.rowsExtracted ?? 0n
      sum.rowsWritten += d.rowsWritten ?? 0n
      sum.filesWritten += d.filesWritten ?? 0
      sum.bytesWritten += d.bytesWritten ?? 0n
      ctx.tracker.add(d)
    },
    undo: () =>
      ctx.tracker.add({
        rowsExtracted: -sum.rowsExtracted,
        rowsWritten: -sum.rowsWritten,
        filesWritten: -sum.filesWritten,
        bytesWritten: -sum.bytesWritten,
      }),
  }
}

/** The run's figures: every partition's, in key order, files labelled with their partition. */
function combined(parts: PartitionExtract[]): Extracted {
  const sum = (f: (x: Extracted) => number) => parts.reduce((n, p) => n + f(p.extracted), 0)
  return {
    columns: parts[0].extracted.columns,
    end: {},
    files: parts.flatMap((p) => p.extracted.files.map((f): StoredFile => ({ ...f, partition: p.partition.id }))),
    ledger: parts.flatMap((p) => p.extracted.ledger),
    rowsFromSource: sum((x) => x.rowsFromSource),
    rowsAccepted: sum((x) => x.rowsAccepted),
    rowsEncoded: sum((x) => x.rowsEncoded),
    changes: null,
    partitions: parts,
  }
}
