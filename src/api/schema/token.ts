import { Role } from '../../db/generated/sqlite/enums.js'
import { builder } from '../builder.js'

const RoleEnum = builder.enumType(Role, {
  name: 'Role',
  description:
    'VIEWER reads and subscribes; OPERATOR also runs, cancels, resets deltas and tests connections and destinations; ADMIN does everything, tokens included',
})

const ApiToken = builder.prismaObject('ApiToken', {
  description: 'An API token. The secret is shown once, by createApiToken; only its hash is stored',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    role: t.expose('role', { type: RoleEnum }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'Recorded at most once a minute' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
})

interface CreatedView {
  token: string
  apiToken: { id: string }
}
const CreatedApiToken = builder.objectRef<CreatedView>('CreatedApiToken').implement({
  description: 'A new token and its secret. The secret is shown this once: store it now',
  fields: (t) => ({
    token: t.exposeString('token', {
      description: 'Send it as `Authorization: Bearer <token>` or in the graphql-ws connection_init payload',
    }),
    apiToken: t.prismaField({
      type: 'ApiToken',
      resolve: (query, c, _, { app }) => app.db.apiToken.findUniqueOrThrow({ ...query, where: { id: c.apiToken.id } }),
    }),
  }),
})

builder.queryFields((t) => ({
  me: t.prismaField({
    type: ApiToken,
    description: 'The token this request carries: its name and role (a client shows only the actions the role allows)',
    resolve: (query, _, __, { app, principal }) => app.db.apiToken.findUniqueOrThrow({ ...query, where: { id: principal!.tokenId } }),
  }),
  apiTokens: t.prismaField({
    type: [ApiToken],
    description: 'Every token, revoked ones included (admin)',
    resolve: (query, _, __, { app }) => app.db.apiToken.findMany({ ...query, orderBy: { createdAt: 'asc' } }),
  }),
}))

builder.mutationFields((t) => ({
  createApiToken: t.field({
    type: CreatedApiToken,
    description: 'Creates a token (admin). Names are unique, revoked tokens included',
    args: { name: t.arg.string({ required: true }), role: t.arg({ type: RoleEnum, required: true }) },
    resolve: (_, { name, role }, { app }) => app.tokens.create({ name, role }),
  }),
  revokeApiToken: t.prismaField({
    type: ApiToken,
    description: 'Revokes a token at once, closing its open websockets and subscriptions (admin)',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _, { id }, { app }) =>
      app.db.apiToken.findUniqueOrThrow({ ...query, where: { id: (await app.tokens.revoke(String(id))).id } }),
  }),
}))
