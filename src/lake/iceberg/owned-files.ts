/**
 * Which data and delete files table maintenance may remove. A run's Parquet files live in the run's
 * own folder, outside the table path, and that run's manifest.json still lists them for readers that
 * do not use the table (docs/architecture.md#lake-tables, "Maintenance"). So the table owns only
 * the key prefixes its caller names; a file anywhere else is never removed, however unreferenced.
 */
import type { Destination } from '../../storage/destination.js'
import { LakeTableError } from './errors.js'

/** Maps a recorded URI back to its destination key when it lies under one of `prefixes`, else null. */
export function ownedKeyOf(destination: Destination, uri: string, prefixes: readonly string[]): string | null {
  for (const raw of prefixes) {
    const prefix = raw.replace(/\/+$/, '')
    const base = `${destination.uriOf(prefix)}/`
    if (!uri.startsWith(base)) continue
    let rest: string
    try {
      rest = decodeURIComponent(uri.slice(base.length))
    } catch {
      continue
    }
    const key = `${prefix}/${rest}`
    // Only a key that maps back to exactly this URI is the recorded file: no guessing from names.
    if (destination.uriOf(key) === uri) return key
  }
  return null
}

/** Refuses prefixes that would own the whole destination or climb out of it. */
export function checkOwnedPrefixes(prefixes: readonly string[]): void {
  for (const p of prefixes) {
    const clean = p.replace(/\/+$/, '')
    if (!clean || clean.split('/').some((s) => s === '' || s === '.' || s === '..'))
      throw new LakeTableError('LAKE_INPUT', `owned location ${JSON.stringify(p)} is not a key prefix of the destination`)
  }
}

/**
 * The destination key of any URI the table records (a run's data file wherever it lies), or null
 * when the URI is not on this destination. Compaction reads inputs with it; it grants no ownership.
 */
export function keyOfUri(destination: Destination, uri: string): string | null {
  const probe = destination.uriOf('k')
  const root = probe.slice(0, -1)
  if (!uri.startsWith(root)) return null
  let key: string
  try {
    key = decodeURIComponent(uri.slice(root.length))
  } catch {
    return null
  }
  return key && destination.uriOf(key) === uri ? key : null
}
