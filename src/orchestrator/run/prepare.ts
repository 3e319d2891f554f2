import { mkdir } from 'node:fs/promises'
import { markUncommitted, sweepLeftovers } from '../leftovers.js'
import { timedDestination } from '../timed-destination.js'
import type { RunContext } from './context.js'

/**
 * Before the first byte: open the destination the run pinned, record the prefix it may write to (so
 * a failure or a crash can be cleaned up later), and remove what earlier runs of the pipeline left.
 */
export async function prepare(ctx: RunContext): Promise<void> {
  const { deps, run, tracker } = ctx
  await tracker.note('info', `run started (${run.extractionMode})`, { prefix: ctx.prefix })
  const destination = await deps.destinations.openPinned(ctx.world.destination)
  const { observer } = deps
  ctx.destination = observer ? timedDestination(destination, (s) => observer.objectStored(destinationName(ctx), s)) : destination
  await markUncommitted(deps.db, run.id, ctx.prefix)
  const swept = await sweepLeftovers(deps, run.pipelineId, run.id, ctx.signal)
  if (swept) await tracker.note('info', `removed the uncommitted objects of ${swept} earlier run(s)`)
  await mkdir(ctx.staging, { recursive: true })
}

/** The metrics label of the run's destination: its name, or its id when the pipeline has moved to another since the run started. */
function destinationName({ run, world }: RunContext): string {
  const current = run.pipeline.destination
  return current?.id === world.destination.id ? current.name : world.destination.id
}
