import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Manifest } from '../../src/orchestrator/manifest.js'

/** Read access to an emulator with the test's own SDK client (never the service's storage code). */
export interface ObjectLake {
  /** Container or bucket and object name of a URI the service reported (manifestUri). */
  locate(uri: string): { container: string; name: string }
  download(container: string, name: string): Promise<Buffer>
}

/**
 * Downloads a committed run (manifest.json and the files it lists) into `dir`, keeping the relative
 * paths, and returns the local manifest's file URI for readRun (which checks sizes and sha256 and
 * reads the rows with DuckDB).
 */
export async function downloadRun(lake: ObjectLake, manifestUri: string, dir: string): Promise<string> {
  const { container, name } = lake.locate(manifestUri)
  const folder = name.slice(0, name.lastIndexOf('/') + 1)
  const manifestBytes = await lake.download(container, name)
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as Manifest
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'manifest.json'), manifestBytes)
  for (const f of manifest.files) {
    const target = join(dir, f.path)
    await mkdir(dirname(target), { recursive: true })
    await writeFile(target, await lake.download(container, folder + f.path))
  }
  return pathToFileURL(join(dir, 'manifest.json')).href
}
