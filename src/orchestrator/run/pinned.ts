/**
 * A run's world, pinned when it is claimed (docs/architecture.md#rule-8): what it reads (the selection),
 * how and where it writes (output settings, destination). Everything the run does — its read, its
 * files, its manifest, its commit, and the roll-forward or clean-up others may do for it later —
 * uses this, never the pipeline as it may have been edited since.
 *
 * `Run.pinned` is run data, written and read by the run engine only, so its schema lives here; the
 * parts that describe a pipeline (selection, output settings) are the catalogue's, and come from
 * there (pipeline-world.ts).
 */
import { z } from 'zod'
import type { PinnedDestination } from '../../catalog/destinations.js'
import { outputSettingsOf, outputSettingsSchema, selectionHash, selectionOf, selectionSchema } from '../../catalog/pipeline-world.js'
import { parseStored } from '../../catalog/stored-json.js'
import type { Connection, Destination as DestinationRow, Pipeline, Run } from '../../db/client.js'
import type { SourceSpec } from '../../sap/source.js'

const pinnedSchema = z.object({
  v: z.literal(1),
  pipelineName: z.string(),
  selection: selectionSchema,
  selectionHash: z.string(),
  output: outputSettingsSchema,
  destination: z.object({ id: z.string(), kind: z.enum(['LOCAL', 'AZURE_BLOB', 'S3']), config: z.string() }),
})
export type PinnedWorld = z.output<typeof pinnedSchema>

export type PipelineWorldRow = Pipeline & { destination: DestinationRow; connection: Connection }

export function pinWorld(p: PipelineWorldRow): PinnedWorld {
  const selection = selectionOf(p)
  return {
    v: 1,
    pipelineName: p.name,
    selection,
    selectionHash: selectionHash(selection),
    output: outputSettingsOf(p),
    destination: { id: p.destination.id, kind: p.destination.kind, config: p.destination.config } satisfies PinnedDestination,
  }
}

/**
 * The world a run pinned; for a run claimed before worlds were pinned (an upgrade mid-run), the
 * pipeline as it is now is the best there is.
 */
export function pinnedOf(run: Pick<Run, 'id' | 'pinned'>, pipeline: () => PipelineWorldRow): PinnedWorld {
  return run.pinned ? parseStored(pinnedSchema, { table: 'run', id: run.id }, 'pinned world', run.pinned) : pinWorld(pipeline())
}

/** The source settings the SAP side reads with. */
export function sourceSpecOf(world: Pick<PinnedWorld, 'selection' | 'output'>, subscriber: string): SourceSpec {
  const s = world.selection
  return {
    kind: s.kind,
    entitySet: s.entitySet ?? undefined,
    odpContext: s.odpContext ?? undefined,
    odpName: s.odpName ?? undefined,
    table: s.table ?? undefined,
    fields: s.fields ?? undefined,
    filter: s.filter ?? undefined,
    watermarkField: s.watermarkField ?? undefined,
    pageSize: world.output.pageSize,
    subscriber,
  }
}
