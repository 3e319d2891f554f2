import { builder } from '../builder.js'
import { totalCountField } from './run.js'

const AuditEvent = builder.prismaObject('AuditEvent', {
  description: 'A change and who made it: the token name, or "cli" for the command line',
  fields: (t) => ({
    id: t.exposeID('id'),
    at: t.expose('at', { type: 'DateTime' }),
    actor: t.exposeString('actor'),
    action: t.exposeString('action', { description: 'The mutation (or command) that made the change, e.g. createConnection, runPipeline' }),
    objectType: t.exposeString('objectType'),
    objectId: t.exposeID('objectId', { nullable: true }),
  }),
})

const AuditEventConnection = builder.connectionObject({
  type: AuditEvent,
  name: 'AuditEventConnection',
  fields: (t) => ({ totalCount: totalCountField(t) }),
})

builder.queryFields((t) => ({
  auditEvents: t.prismaConnection(
    {
      type: 'AuditEvent',
      cursor: 'id',
      description: 'The audit trail, newest first (admin)',
      defaultSize: 50,
      maxSize: 500,
      resolve: (query, _, __, { app }) => app.db.auditEvent.findMany({ ...query, orderBy: { id: 'desc' } }),
      totalCount: (_, __, { app }) => app.db.auditEvent.count(),
    },
    AuditEventConnection,
  ),
}))
