/**
 * Mapping the URIs a table records back to destination keys, and which data and delete files table
 * maintenance may remove. A run's Parquet files live in the run's own folder, outside the table path,
 * and that run's manifest.json still lists them for readers that do not use the table
 * (docs/architecture.md#lake-tables, "Maintenance"). So the table owns only the key prefixes its
 * caller names; a file anywhere else is never removed, however unreferenced.
 *
 * A table records URIs in one of a destination's two forms (`Destination.tableUriOf`, or `uriOf` for
 * a table written before the two differed, e.g. Azure's blob `https://` form): both map back, so
 * expiry and compaction find the files of old and new tables alike.
 */
import type { Destination } from '../../storage/destination.js'
import { LakeTableError } from './errors.js'

type UriForm = (key: string) => string

/** The forms a table may have recorded, the current one first (one form where they agree). */
function uriForms(destination: Destination): UriForm[] {
  const table: UriForm = (key) => destination.tableUriOf(key)
  const plain: UriForm = (key) => destination.uriOf(key)
  return table('k') === plain('k') ? [plain] : [table, plain]
}

/**
 * The key whose URI in `form` is exactly `uri`, given the part of it after a known base. Object-store
 * forms hold the key as is; `file://` percent-encodes it. Only a key that maps back to exactly this
 * URI is the recorded object: no guessing from names.
 */
function keyIn(form: UriForm, uri: string, base: string, rest: string): string | null {
  const candidates = [rest]
  try {
    const decoded = decodeURIComponent(rest)
    if (decoded !== rest) candidates.push(decoded)
  } catch {
    // Not percent-encoding: only the literal reading can match.
  }
  for (const c of candidates) {
    const key = `${base}${c}`
    if (key && !key.startsWith('/') && form(key) === uri) return key
  }
  return null
}

/** Whether `form(key)` can be computed (a key the destination refuses names nothing). */
function safely(form: UriForm, key: string): string | null {
  try {
    return form(key)
  } catch {
    return null
  }
}

/** Maps a recorded URI back to its destination key when it lies under one of `prefixes`, else null. */
export function ownedKeyOf(destination: Destination, uri: string, prefixes: readonly string[]): string | null {
  for (const form of uriForms(destination))
    for (const raw of prefixes) {
      const prefix = raw.replace(/\/+$/, '')
      const base = safely(form, prefix)
      if (base === null || !uri.startsWith(`${base}/`)) continue
      const key = keyIn((k) => safely(form, k) ?? '', uri, `${prefix}/`, uri.slice(base.length + 1))
      if (key) return key
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
  for (const form of uriForms(destination)) {
    const root = form('k').slice(0, -1)
    if (!uri.startsWith(root)) continue
    const key = keyIn((k) => safely(form, k) ?? '', uri, '', uri.slice(root.length))
    if (key) return key
  }
  return null
}
