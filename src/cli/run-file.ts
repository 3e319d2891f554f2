import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Config } from '../config.js'
import { generateKey } from '../db/secrets.js'
import { createFileObjects } from './file-objects.js'
import { startRunApp, watchRun } from './run.js'
import { UsageError } from './usage-error.js'
import { readCatalogFile } from './yaml-file.js'

/**
 * `run file.yaml [--pipeline NAME]`: one run of a pipeline defined in a file, without the service's
 * catalogue (the original's manual mode: edit config.yaml, run, get files). The run engine needs
 * catalogue rows (a run pins its pipeline's world, docs/architecture.md#run), so the pipeline, its
 * connection and destination are created in a throwaway catalogue: a SQLite database under a
 * temporary DATA_DIR, with a key of its own, removed afterwards. The run itself is the engine's:
 * the same Parquet files and manifest.json as a catalogue pipeline's, written to the destination
 * (LOCAL folders within LOCAL_ROOTS as always).
 *
 * It is always a FULL read: a delta needs its position kept from one run to the next, and a DELTA
 * initialisation would leave a subscription in SAP that nothing continues or ends.
 */
export async function runFile(config: Config, path: string, opts: { pipeline?: string; mode?: string }): Promise<number> {
  if (opts.mode && opts.mode !== 'FULL')
    throw new UsageError(
      'a run from a file is a FULL read (a delta needs a catalogue to keep its position: apply the file, then run the pipeline)',
    )
  const file = await readCatalogFile(path, process.env)
  for (const secret of file.literalSecrets)
    console.error(`warning: ${file.path}: ${secret} is written in the file; use a \${ENV_VAR} reference instead`)
  const names = file.pipelines.map((p) => p.name)
  const name = opts.pipeline ?? (names.length === 1 ? names[0] : undefined)
  const pipeline = file.pipelines.find((p) => p.name === name)
  if (!pipeline)
    throw new UsageError(
      opts.pipeline
        ? `${path} has no pipeline "${opts.pipeline}" (it has: ${names.join(', ') || 'none'})`
        : `${path} has ${names.length} pipelines; name one with --pipeline (${names.join(', ') || 'none'})`,
    )
  // Only what the run needs: other pipelines of the file are not created, nor checked against SAP.
  const needed = {
    ...file,
    connections: file.connections.filter((c) => c.name === pipeline.connection),
    destinations: file.destinations.filter((d) => d.name === pipeline.destination),
    pipelines: [pipeline],
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'delta-extractor-run-'))
  try {
    const app = await startRunApp(config, { dataDir, secretKey: generateKey() })
    try {
      // Nothing outside the file is looked up: the service's catalogue is not opened at all.
      const ids = await createFileObjects(app.services, needed, async () => null)
      return await watchRun(app, { id: ids.get(pipeline.name)!, name: pipeline.name }, 'FULL')
    } finally {
      await app.stop()
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
}
