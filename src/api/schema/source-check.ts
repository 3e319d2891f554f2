import { builder } from '../builder.js'

const SourceCheckStatus = builder.enumType('SourceCheckStatus', {
  values: {
    CHECKED: { description: "SAP's metadata has the entity set, the fields and every field the filter names" },
    UNCHECKED: { description: 'SAP could not be asked when the pipeline was saved (message says why); the first run will tell' },
  } as const,
})

builder.prismaObject('SourceCheck', {
  description: "The check of an ODP_ODATA pipeline's source against SAP's $metadata, made when it was created or its source changed",
  fields: (t) => ({
    status: t.field({ type: SourceCheckStatus, resolve: (c) => c.status as 'CHECKED' | 'UNCHECKED' }),
    message: t.exposeString('message', { nullable: true }),
    checkedAt: t.expose('checkedAt', { type: 'DateTime' }),
  }),
})

// Added here rather than in pipeline.ts: the check is its own concern (catalog/source-check.ts).
builder.prismaObjectField('Pipeline', 'sourceCheck', (t) =>
  t.relation('sourceCheck', { nullable: true, description: 'ODP_ODATA: the last check of the source against SAP; null for RFC sources' }),
)
