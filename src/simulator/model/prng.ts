/**
 * Stateless hashing so that any row is a pure function of (seed, row index, field): the benchmark's
 * million rows are generated on the fly, never stored, and two simulators with one seed agree.
 */

function fmix(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** A well-mixed unsigned 32-bit hash of three integers. */
export function hash(seed: number, i: number, k: number): number {
  let h = fmix((seed | 0) ^ 0x9e3779b9)
  h = fmix((h ^ (i >>> 0)) + Math.imul(Math.floor(i / 4294967296) | 0, 0x27d4eb2f))
  return fmix((h + Math.imul(k | 0, 0x9e3779b1)) | 0)
}

/** Uniform integer in [0, n) for (seed, i, k). */
export function pick(seed: number, i: number, k: number, n: number): number {
  return hash(seed, i, k) % n
}

export function pad(n: number | bigint | string, width: number): string {
  return String(n).padStart(width, '0')
}
