/**
 * A DELTA_INIT read as partitions (README "Partitioned loads"; docs/architecture.md#partitions): the
 * key ranges of a FULL run (partitions.ts), each read as a DELTA_INIT from one start the source fixes
 * before any partition reads, and one position for the run made of the partitions' ends
 * (`Source.splitInit`). Only sources that can (TABLE_RFC watermarks) split; an ODP initialisation is
 * one request in SAP, and the catalogue refuses partitions for those pipelines.
 */
import type { Source, SourceSpec } from '../../sap/source.js'
import type { RunContext } from './context.js'
import { planPartitions, type PartitionedRead } from './partitions.js'

/**
 * The partitions of a DELTA_INIT asking for more than one, or undefined when the source cannot split
 * it or the table does not split (then the run reads it whole, as an unpartitioned DELTA_INIT, with a
 * note why). The key ranges are planned first: a table that does not split makes its watermark search
 * once, in the unsplit read (docs/sap-protocols.md §C.7, unsplit initialisation), not twice.
 */
export async function planInitPartitions(ctx: RunContext, source: Source, spec: SourceSpec): Promise<PartitionedRead | undefined> {
  if (!source.splitInit) {
    await ctx.tracker.note(
      'info',
      `partitions: ${ctx.world.output.partitions} asked, read as one: this source's delta initialisation is not split`,
    )
    return undefined
  }
  const ranges = await planPartitions(ctx, source, spec)
  if (!ranges) return undefined
  const init = await source.splitInit(spec, ctx.signal)
  if (!init) {
    await ctx.tracker.note('info', "partitions: read as one: this source's delta initialisation is one request in SAP")
    return undefined
  }
  await ctx.tracker.note(
    'info',
    `partitions: the delta position is fixed before the partitions read, at ${init.token ?? 'the start (no row has a watermark yet)'}; every change made from now on is in the next delta`,
  )
  return {
    plan: ranges.plan,
    open: (p, signal) => source.read({ spec: { ...spec, keyRange: p.range }, mode: 'DELTA_INIT', position: init.start, signal }),
    init: { mode: 'DELTA_INIT', start: init.start, join: init.join },
  }
}
