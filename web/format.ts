/** How counts, sizes, times and durations read on the page. */

/** BigInt counts arrive as digit strings; grouped for reading, never rounded. */
export const count = (n: string | number | null | undefined): string => (n == null ? '–' : BigInt(n).toLocaleString('en-US'))

export function bytes(n: string | number): string {
  const v = Number(n)
  if (v < 1024) return `${v} B`
  if (v < 1024 * 1024) return `${(v / 1024).toFixed(1)} KB`
  return `${(v / 1024 / 1024).toFixed(1)} MB`
}

export const time = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString('en-GB', { hour12: false }) : '–')

export function duration(fromIso: string | null | undefined, toIso: string | null | undefined): string {
  if (!fromIso) return '–'
  const ms = (toIso ? Date.parse(toIso) : Date.now()) - Date.parse(fromIso)
  if (ms < 1000) return `${ms} ms`
  const s = Math.round(ms / 1000)
  return s < 120 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`
}

export const rate = (rowsPerSecond: number): string => `${Math.round(rowsPerSecond).toLocaleString('en-US')} rows/s`
