/**
 * A TABLE_RFC DELTA_INIT read as key-range partitions (docs/sap-protocols.md §C.7, "Split
 * initialisation"). The partitions read at different times, so the position the run commits cannot
 * come from what they saw: a row changed in p00 after p00 read it carries a stamp below the highest
 * stamp p03 sees later, and a position taken from p03's maximum would skip it for ever. So the
 * position is fixed **before any partition reads**: the highest watermark the table holds at that
 * moment (`highestWatermark`). Every change made after it carries a stamp at or above it (less the
 * lateness the overlap window already absorbs), so the next DELTA, which reads from it minus the
 * overlap, sees every change made during or after the snapshot.
 *
 * Each partition then reads its range as a DELTA_INIT from that fixed start and remembers the
 * fingerprints of the rows inside the start's window; the run's position is the start with the union
 * of them (`joinInitEnds`), so a row a partition read already in its new version is not delivered
 * again by the next DELTA — the de-duplication an unsplit DELTA_INIT has.
 *
 * An unsplit DELTA_INIT is one reader with the same weakness when it outlasts the overlap window, so
 * it fixes its start with the same search before its first page (table-source.ts; §C.7, unsplit
 * initialisation, which also says why no cheaper method is exact).
 */
import { SourceError } from '../errors.js'
import type { SourceReadEnd } from '../source.js'
import { decodePosition, encodePosition, type TablePosition, type Watermark, type WatermarkSteps } from './watermark.js'

/** Whether the table holds a row whose watermark lies in `[from, before)`, with the pipeline's filter: one one-row call. */
export type WatermarkProbe = (from: string, before: string) => Promise<boolean>

/**
 * Steps of doubt the search leaves at most, as a share of the overlap window: the start may lie this
 * far below the true highest stamp, which only widens the next DELTA's re-read (de-duplicated) by as
 * much. Dates are searched to the day.
 */
const OVERLAP_SHARE = 16

/**
 * The highest watermark in the table up to {@link WatermarkSteps.end} (later ones are placeholders),
 * or undefined when no row has one. It is a lower bound within `precision` steps: searched from now
 * downwards by doubling distances (a table's newest change is usually recent), then by halving.
 * RFC_READ_TABLE cannot sort or aggregate, so every step is a one-row probe; a probe that finds
 * nothing scans the table in SAP unless the watermark field is indexed — about half of them. For a
 * newest change d steps before now: about 1 + 2·log2(d) − log2(precision) probes — 11 for a change
 * date a month old, 17 for a timestamp an hour old, 43 for one a year old.
 */
export async function highestWatermark(steps: WatermarkSteps, precision: number, anyIn: WatermarkProbe): Promise<string | undefined> {
  const end = steps.valueAt(steps.end)
  const test = (i: number) => anyIn(steps.valueAt(i), end)
  let yes: number
  let no: number
  if (await test(steps.now)) [yes, no] = [steps.now, steps.end]
  else {
    no = steps.now
    for (let d = 1; ; d *= 2) {
      const at = Math.max(steps.first, steps.now - d)
      if (await test(at)) {
        yes = at
        break
      }
      if (at === steps.first) return undefined
      no = at
    }
  }
  while (no - yes > Math.max(1, precision)) {
    const mid = Math.floor((yes + no) / 2)
    if (await test(mid)) yes = mid
    else no = mid
  }
  return steps.valueAt(yes)
}

/** The search's precision in steps for a watermark and overlap window. */
export function searchPrecision(w: Watermark, overlapSeconds: number): number {
  return w.kind === 'date' ? 1 : Math.max(1, Math.floor(overlapSeconds / OVERLAP_SHARE))
}

/** The position every partition of a split DELTA_INIT starts from: the highest watermark, no fingerprints yet. */
export function initStart(table: string, w: Watermark, overlapSeconds: number, highest: string | undefined): TablePosition {
  const start: TablePosition = { v: 1, kind: 'TABLE_RFC', table, watermarkField: w.name, overlapSeconds, seen: [] }
  if (highest !== undefined) start.watermark = highest
  return start
}

/**
 * The run's one end: the fixed start with every partition's fingerprints. An end that does not come
 * from this start (another watermark, table or field) is a protocol error: a partition read from a
 * position of its own would make the union meaningless.
 */
export function joinInitEnds(start: TablePosition, w: Watermark, ends: readonly SourceReadEnd[]): SourceReadEnd {
  const seen = new Set<string>()
  for (const end of ends) {
    if (!end.position) throw new SourceError('SOURCE_PROTOCOL', 'a partition of the delta initialisation ended without a position')
    const p = decodePosition(end.position, start.table, w, start.overlapSeconds)
    if (p.watermark !== start.watermark)
      throw new SourceError(
        'SOURCE_PROTOCOL',
        `a partition of the delta initialisation ended at watermark ${p.watermark ?? '(none)'}, not at the run's start ${start.watermark ?? '(none)'}`,
      )
    for (const fp of p.seen) seen.add(fp)
  }
  const position: TablePosition = { ...start, seen: [...seen].sort() }
  return { position: encodePosition(position), token: start.watermark }
}
