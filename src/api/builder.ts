import SchemaBuilder from '@pothos/core'
import PrismaPlugin from '@pothos/plugin-prisma'
import RelayPlugin from '@pothos/plugin-relay'
import type PrismaTypes from '../db/generated/pothos-types.js'
import { getDatamodel } from '../db/generated/pothos-types.js'
import type { ApiContext } from './context.js'

/**
 * Plugins and scalars only: every type lives in schema/<domain>.ts (the Pothos app layout). The
 * Prisma client is taken from the context per request, so one schema serves every service instance
 * a process runs (tests start several).
 */
export const builder = new SchemaBuilder<{
  PrismaTypes: PrismaTypes
  Context: ApiContext
  DefaultFieldNullability: false
  Scalars: {
    DateTime: { Input: Date; Output: Date | string }
    BigInt: { Input: bigint; Output: bigint | number }
    JSON: { Input: unknown; Output: unknown }
  }
}>({
  plugins: [PrismaPlugin, RelayPlugin],
  defaultFieldNullability: false,
  relay: { clientMutationId: 'omit', cursorType: 'String', nodeQueryOptions: false, nodesQueryOptions: false },
  prisma: {
    client: (ctx) => ctx.app.db,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    onUnusedQuery: null,
  },
})

builder.queryType({})
builder.mutationType({})
builder.subscriptionType({})
