import type { DestinationCatalog } from '../catalog/destinations.js'
import type { Run } from '../db/client.js'
import { MANIFEST_FILE, parseManifest, type Manifest } from './manifest.js'
import { runPrefix } from './run/context.js'
import { pinnedOf, type PipelineWorldRow } from './run/pinned.js'

/** How long a query waits for the store to hand back a manifest: a field of a page, not a run. */
const MANIFEST_READ_MS = 5_000

export type ManifestFileEntry = Manifest['files'][number]

/**
 * The files a committed run's manifest lists, read from the destination the run pinned (architecture
 * rule 8), for the dashboard and any API client. Only the file list leaves here: the manifest also
 * holds delta tokens and the selection, which have fields of their own with their own rules. Null
 * when the run has no manifest (not committed) or the stored one is not this run's. The manifest
 * is found where the run wrote it (its prefix is recomputed from the pinned world and the run's row)
 * and must be the object the run recorded as its manifestUri.
 */
export async function committedManifestFiles(
  destinations: DestinationCatalog,
  run: Pick<Run, 'id' | 'pinned' | 'queuedAt' | 'extractionMode' | 'manifestUri'>,
  pipeline: () => PipelineWorldRow,
  limit: number,
): Promise<ManifestFileEntry[] | null> {
  if (!run.manifestUri) return null
  const world = pinnedOf(run, pipeline)
  const key = `${runPrefix(world, run)}/${MANIFEST_FILE}`
  const destination = await destinations.openPinned(world.destination)
  try {
    if (destination.uriOf(key) !== run.manifestUri) return null
    const text = await destination.getText(key, AbortSignal.timeout(MANIFEST_READ_MS))
    const manifest = text ? parseManifest(text) : undefined
    if (manifest?.runId !== run.id) return null
    return manifest.files.slice(0, limit)
  } finally {
    destination.close?.()
  }
}
