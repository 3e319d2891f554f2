/**
 * Key ranges of a partitioned snapshot (README "Partitioned loads"): a table is cut on its first key
 * field into contiguous ranges `from <= key < to`, the first open below and the last open above, so
 * every key falls in exactly one range whatever the data is. Only the balance between the ranges
 * depends on where the boundaries fall.
 *
 * Order is SAP's for character keys (NUMC and CHAR): the stored value compared byte by byte, with
 * trailing blanks not counting ('A' equals 'A '), so the shorter value compares as if padded with
 * blanks. NUMC values keep their leading zeros, so text order is numeric order.
 */

/** `from <= key < to`; a missing bound is open. */
export interface KeyRange {
  from?: string
  to?: string
}

/** A range of a named key field, as a source reads it. */
export interface FieldKeyRange extends KeyRange {
  field: string
}

/**
 * Where a source cuts a snapshot: ranges of `field`, covering its key space exactly once. One open
 * range (no field) when the source cannot cut it, with `note` saying why.
 */
export interface KeyRangePlan {
  field?: string
  ranges: KeyRange[]
  note?: string
}

/** SAP's order of two character key values: code unit by code unit, the shorter one padded with blanks. */
export function compareKeys(a: string, b: string): number {
  const n = Math.max(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = i < a.length ? a.charCodeAt(i) : 0x20
    const y = i < b.length ? b.charCodeAt(i) : 0x20
    if (x !== y) return x - y
  }
  return 0
}

export function inRange(key: string, r: KeyRange): boolean {
  return (r.from === undefined || compareKeys(key, r.from) >= 0) && (r.to === undefined || compareKeys(key, r.to) < 0)
}

/** The ranges between boundaries (any order, repeats dropped): one more range than distinct boundaries. */
export function rangesBetween(bounds: readonly string[]): KeyRange[] {
  const sorted = [...bounds].sort(compareKeys).filter((b, i, all) => i === 0 || compareKeys(all[i - 1], b) !== 0)
  return Array.from({ length: sorted.length + 1 }, (_, i) => ({ from: sorted[i - 1], to: sorted[i] }))
}

/**
 * Why a list of ranges does not cover the key space exactly once, or undefined when it does: the
 * first open below, each ending where the next starts, the last open above, none empty by its bounds.
 */
export function coverageProblem(ranges: readonly KeyRange[]): string | undefined {
  if (ranges.length === 0) return 'there are no ranges'
  if (ranges[0].from !== undefined) return `the first range starts at ${ranges[0].from}, not open below`
  if (ranges.at(-1)!.to !== undefined) return `the last range ends at ${ranges.at(-1)!.to}, not open above`
  for (let i = 1; i < ranges.length; i++) {
    const [prev, next] = [ranges[i - 1], ranges[i]]
    if (prev.to === undefined || next.from === undefined || compareKeys(prev.to, next.from) !== 0)
      return `range ${i - 1} ends at ${prev.to ?? '(open)'} and range ${i} starts at ${next.from ?? '(open)'}`
    if (prev.from !== undefined && compareKeys(prev.from, prev.to) >= 0) return `range ${i - 1} is empty by its bounds`
  }
  return undefined
}

/**
 * The values boundaries are picked from, numbered in key order: digit strings of one length (NUMC,
 * and CHAR keys that hold digits), or printable ASCII text compared on its first characters.
 */
export interface KeyDomain {
  size: bigint
  valueAt(i: bigint): string
}

/** Every digit string of `length`; in text order = numeric order, as NUMC is stored. */
export function digitsDomain(length: number): KeyDomain {
  return { size: 10n ** BigInt(length), valueAt: (i) => i.toString().padStart(length, '0') }
}

const FIRST_PRINTABLE = 0x20
const PRINTABLE = 95n

/** Printable ASCII strings of `positions` characters, trailing blanks dropped (they do not count in SAP). */
export function textDomain(positions = 6): KeyDomain {
  return {
    size: PRINTABLE ** BigInt(positions),
    valueAt: (i) => {
      let s = ''
      for (let p = 0; p < positions; p++, i /= PRINTABLE) s = String.fromCharCode(FIRST_PRINTABLE + Number(i % PRINTABLE)) + s
      return s.trimEnd()
    },
  }
}

/** The domain a sample key suggests: digits keep their length, anything else is text. */
export function domainOf(sample: string): KeyDomain {
  return /^\d{1,30}$/.test(sample) ? digitsDomain(sample.length) : textDomain()
}

/** Whether the table holds a key in the range (with the pipeline's own filter): one cheap probe in SAP. */
export type KeyProbe = (range: KeyRange) => Promise<boolean>

/**
 * Up to `parts` ranges of about equal width between the lowest and highest key SAP holds, each
 * found by bisecting the domain with existence probes (about log2 of its size each: 34 for a 10-digit
 * NUMC). Equal width is equal rows when keys are dense (document numbers); skewed keys make uneven
 * partitions, never wrong ones. An empty table, or one whose keys fall on one domain value, is one range.
 */
export async function planKeyRanges(domain: KeyDomain, parts: number, anyIn: KeyProbe): Promise<KeyRange[]> {
  if (parts <= 1 || !(await anyIn({}))) return [{}]
  // lowest: the last i with no key below valueAt(i); highest: the last i with a key at or above valueAt(i)
  const lowest = await lastTrue(domain.size, (i) => anyIn({ to: domain.valueAt(i) }).then((any) => !any))
  const highest = await lastTrue(domain.size, (i) => anyIn({ from: domain.valueAt(i) }))
  const span = highest - lowest
  const bounds: string[] = []
  for (let k = 1n; k < BigInt(parts); k++) {
    const at = lowest + (span * k) / BigInt(parts)
    if (at > lowest) bounds.push(domain.valueAt(at))
  }
  return rangesBetween(bounds)
}

/** The largest i in [0, size) for which `test` holds, given it holds for 0 and, once false, stays false. */
async function lastTrue(size: bigint, test: (i: bigint) => Promise<boolean>): Promise<bigint> {
  let [yes, no] = [0n, size]
  while (no - yes > 1n) {
    const mid = (yes + no) / 2n
    if (await test(mid)) yes = mid
    else no = mid
  }
  return yes
}
