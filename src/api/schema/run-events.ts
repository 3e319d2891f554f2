import { formatPrismaCursor } from '@pothos/plugin-prisma'
import { builder } from '../builder.js'
import { runEvents } from '../run-events.js'
import { RunEvent, RunEventConnection } from './run.js'

builder.prismaObjectField(RunEvent, 'cursor', (t) =>
  t.string({
    description: "Where this line stands in the run's log: pass it as `after` to runEvents (query or subscription) to go on after it",
    select: { id: true },
    resolve: (e) => formatPrismaCursor(e, 'id'),
  }),
)

builder.queryFields((t) => ({
  runEvents: t.prismaConnection(
    {
      type: 'RunEvent',
      cursor: 'id',
      description: "A run's own log, oldest first; edges' cursors go on into the runEvents subscription",
      args: { runId: t.arg.id({ required: true }) },
      defaultSize: 50,
      maxSize: 1000,
      resolve: (query, _, { runId }, { app }) =>
        app.db.runEvent.findMany({ ...query, where: { runId: String(runId) }, orderBy: { id: 'asc' } }),
      totalCount: (_, { runId }, { app }) => app.db.runEvent.count({ where: { runId: String(runId) } }),
    },
    RunEventConnection,
  ),
}))

builder.subscriptionFields((t) => ({
  runEvents: t.prismaField({
    type: 'RunEvent',
    description:
      "The run's log lines after `after` (a RunEvent cursor; all of them without it), then each new line as it is written, in order, without gaps or repeats; completes after the run's last line. Resume after a disconnect with the last cursor received",
    args: { runId: t.arg.id({ required: true }), after: t.arg.string() },
    subscribe: (_, { runId, after }, { app }) => runEvents(app, String(runId), after),
    resolve: (_query, line) => line,
  }),
}))
