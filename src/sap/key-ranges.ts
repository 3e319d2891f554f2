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
  /**
   * An index whose value is at or just below `key` (clamped into the domain): where the search for
   * the lowest and highest key starts. Only the number of probes depends on it, never the ranges' coverage.
   */
  indexNear(key: string): bigint
}

/** Every digit string of `length`; in text order = numeric order, as NUMC is stored. */
export function digitsDomain(length: number): KeyDomain {
  const size = 10n ** BigInt(length)
  return {
    size,
    valueAt: (i) => i.toString().padStart(length, '0'),
    indexNear: (key) => (/^\d+$/.test(key) ? clamp(BigInt(key.slice(0, length).padEnd(length, '0')), size) : 0n),
  }
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
    indexNear: (key) => {
      let i = 0n
      for (let p = 0; p < positions; p++) {
        const c = p < key.length ? key.charCodeAt(p) - FIRST_PRINTABLE : 0
        i = i * PRINTABLE + clamp(BigInt(c), PRINTABLE)
      }
      return i
    },
  }
}

const clamp = (i: bigint, size: bigint) => (i < 0n ? 0n : i >= size ? size - 1n : i)

/** The domain a sample key suggests: digits keep their length, anything else is text. */
export function domainOf(sample: string): KeyDomain {
  return /^\d{1,30}$/.test(sample) ? digitsDomain(sample.length) : textDomain()
}

/** Whether the table holds a key in the range (with the pipeline's own filter): one cheap probe in SAP. */
export type KeyProbe = (range: KeyRange) => Promise<boolean>

/**
 * How close the lowest and highest key are found: within this share of the span for each partition
 * (1/64 of a partition's width), so equal widths stay within a few percent of each other.
 */
const PRECISION_PER_PART = 64n

/**
 * Up to `parts` ranges of about equal width between the lowest and highest key SAP holds. Both are
 * searched from `anchor` (a key SAP returned, usually its first; none: the table is empty) outwards with existence probes:
 * first by orders of magnitude (the distance's square root halves its number of digits), then by
 * halving, stopping once the key is known within 1/64 of a partition's width — the exact value
 * does not matter, only how even the partitions are. Probes for a 10-digit NUMC key, the source's
 * first sample included: at most 1 + 2 × (6 + 8 + ⌈log2 parts⌉) — 6 steps by magnitude (log2 log2
 * 10^10 ≈ 5), 8 + log2 parts halvings down to 1/64 of a partition — so 33 for 4 partitions and 41
 * for 64 (test/sap/key-ranges.test.ts holds it; dense keys take 14 to 24), where bisecting the
 * whole domain for the exact lowest and highest key took 69 at any count.
 * Equal width is equal rows when keys are dense (document numbers); skewed keys make uneven
 * partitions, never wrong ones. An empty table, or one whose keys fall on one domain value, is one range.
 */
export async function planKeyRanges(domain: KeyDomain, parts: number, anyIn: KeyProbe, anchor: string | undefined): Promise<KeyRange[]> {
  if (parts <= 1 || anchor === undefined) return [{}]
  const a = domain.indexNear(anchor)
  const precision = PRECISION_PER_PART * BigInt(parts)
  // up: the farthest distance d above the anchor with a key at or above valueAt(a + d)
  const up = await lastTrue(
    domain.size - a,
    (d) => anyIn({ from: domain.valueAt(a + d) }),
    (yes, no) => no - yes <= yes / precision,
  )
  const highest = a + up.yes
  // down: the nearest distance d below the anchor with no key below valueAt(a - d)
  const down = await lastTrue(
    a + 1n,
    (d) => anyIn({ to: domain.valueAt(a - d) }),
    (yes, no) => no - yes <= (up.yes + yes) / precision,
  )
  const lowest = a >= down.no ? a - down.no : 0n
  const span = highest - lowest
  const bounds: string[] = []
  for (let k = 1n; k < BigInt(parts); k++) {
    const at = lowest + (span * k) / BigInt(parts)
    if (at > lowest) bounds.push(domain.valueAt(at))
  }
  return rangesBetween(bounds)
}

/**
 * Brackets the largest d in [0, size) for which `test` holds, given that it holds for 0 (or the
 * answer is 0) and, once false, stays false: `yes` holds, `no` (or size) does not. While the bracket
 * spans orders of magnitude it is cut at the geometric mean, then halved, until `close` says it is
 * narrow enough (or it is exact).
 */
async function lastTrue(
  size: bigint,
  test: (d: bigint) => Promise<boolean>,
  close: (yes: bigint, no: bigint) => boolean,
): Promise<{ yes: bigint; no: bigint }> {
  let [yes, no] = [0n, size]
  while (no - yes > 1n && !close(yes, no)) {
    const mid = no > 4n * (yes + 1n) ? sqrt((yes + 1n) * no) : (yes + no) / 2n
    if (await test(mid)) yes = mid
    else no = mid
  }
  return { yes, no }
}

/** The integer square root (Newton's method on bigints). */
function sqrt(n: bigint): bigint {
  if (n < 2n) return n
  let x = n
  let y = (x + 1n) / 2n
  while (y < x) [x, y] = [y, (y + n / y) / 2n]
  return x
}
