import { sourceOf } from '../catalog/pipelines.js'
import type { Config } from '../config.js'
import { openServiceDb } from './catalog-session.js'
import { printJson, printTable } from './table.js'

/** `delta-extractor pipelines list [--json]`: every pipeline with its source, schedule and newest run. */
export async function pipelinesList(config: Config, opts: { json: boolean }): Promise<number> {
  const db = await openServiceDb(config)
  try {
    const rows = await db.pipeline.findMany({
      orderBy: { name: 'asc' },
      include: {
        connection: { select: { name: true } },
        destination: { select: { name: true } },
        runs: { take: 1, orderBy: { id: 'desc' }, select: { id: true, status: true, queuedAt: true, finishedAt: true } },
      },
    })
    // The field names of the GraphQL Pipeline type, with the connection and destination by name.
    const pipelines = rows.map((p) => ({
      id: p.id,
      number: p.number,
      name: p.name,
      mode: p.mode,
      connection: p.connection.name,
      destination: p.destination.name,
      source: sourceOf(p),
      schedule: p.schedule,
      timezone: p.timezone,
      enabled: p.enabled,
      nextRunAt: p.nextRunAt,
      lastRun: p.runs[0] ?? null,
    }))
    if (opts.json) printJson(pipelines)
    else
      printTable(
        ['name', 'mode', 'source', 'connection', 'destination', 'schedule', 'last run'],
        pipelines.map((p) => [
          p.name,
          p.mode,
          `${p.source.kind} ${p.source.entitySet ?? p.source.odpName ?? p.source.table}`,
          p.connection,
          p.destination,
          p.schedule ? `${p.schedule}${p.enabled ? '' : ' (disabled)'}` : null,
          p.lastRun ? `${p.lastRun.status} ${p.lastRun.queuedAt.toISOString().slice(0, 19)}Z` : null,
        ]),
        'no pipelines (create some with `delta-extractor apply file.yaml` or the API)',
      )
    return 0
  } finally {
    await db.$disconnect()
  }
}
