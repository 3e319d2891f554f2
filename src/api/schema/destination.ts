import { builder } from '../builder.js'
import { DestinationKindEnum } from './enums.js'

builder.prismaObject('Destination', {
  description: 'Where a pipeline writes its Parquet files',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    kind: t.expose('kind', { type: DestinationKindEnum }),
    uri: t.string({
      description: 'The root as a URI: file:///…, s3://bucket/prefix, https://account.blob.core.windows.net/container/prefix',
      select: { kind: true, config: true, secret: true },
      resolve: (d, _, { app }) => app.destinations.uriOf(d),
    }),
    hasCredentials: t.boolean({ select: { secret: true }, resolve: (d) => d.secret != null }),
    pipelines: t.relation('pipelines', { query: { orderBy: { name: 'asc' } } }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
})

const LocalDestinationInput = builder.inputType('LocalDestinationInput', {
  fields: (t) => ({ path: t.string({ required: true, description: 'Folder on the service machine; created when missing' }) }),
})

const AzureBlobDestinationInput = builder.inputType('AzureBlobDestinationInput', {
  fields: (t) => ({
    container: t.string({ required: true }),
    prefix: t.string(),
    connectionString: t.string({ description: 'Write-only' }),
    accountUrl: t.string(),
    sasToken: t.string({ description: 'Write-only' }),
  }),
})

const S3DestinationInput = builder.inputType('S3DestinationInput', {
  fields: (t) => ({
    bucket: t.string({ required: true }),
    prefix: t.string(),
    region: t.string(),
    endpoint: t.string(),
    forcePathStyle: t.boolean(),
    accessKeyId: t.string(),
    secretAccessKey: t.string({ description: 'Write-only' }),
  }),
})

const CreateDestinationInput = builder.inputType('CreateDestinationInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    kind: t.field({ type: DestinationKindEnum, required: true }),
    local: t.field({ type: LocalDestinationInput, description: 'Exactly the one matching kind' }),
    azureBlob: t.field({ type: AzureBlobDestinationInput }),
    s3: t.field({ type: S3DestinationInput }),
  }),
})

const UpdateDestinationInput = builder.inputType('UpdateDestinationInput', {
  description: 'Fields left out keep their value; settings given replace the stored ones',
  fields: (t) => ({
    name: t.string(),
    local: t.field({ type: LocalDestinationInput }),
    azureBlob: t.field({ type: AzureBlobDestinationInput }),
    s3: t.field({ type: S3DestinationInput }),
  }),
})

builder.queryFields((t) => ({
  destinations: t.prismaField({
    type: ['Destination'],
    resolve: (query, _, __, { app }) => app.db.destination.findMany({ ...query, orderBy: { name: 'asc' } }),
  }),
  destination: t.prismaField({
    type: 'Destination',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _, { id }, { app }) => app.db.destination.findUnique({ ...query, where: { id: String(id) } }),
  }),
}))

builder.mutationFields((t) => ({
  createDestination: t.prismaField({
    type: 'Destination',
    args: { input: t.arg({ type: CreateDestinationInput, required: true }) },
    resolve: async (query, _, { input }, { app }) => {
      const d = await app.destinations.create(input)
      return app.db.destination.findUniqueOrThrow({ ...query, where: { id: d.id } })
    },
  }),
  updateDestination: t.prismaField({
    type: 'Destination',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateDestinationInput, required: true }) },
    resolve: async (query, _, { id, input }, { app }) => {
      const d = await app.destinations.update(String(id), input)
      return app.db.destination.findUniqueOrThrow({ ...query, where: { id: d.id } })
    },
  }),
  deleteDestination: t.id({
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, { id }, { app }) => app.destinations.delete(String(id)),
  }),
}))
