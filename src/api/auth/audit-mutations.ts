import { defaultFieldResolver, getNamedType, type GraphQLSchema } from 'graphql'
import type { ApiContext } from '../context.js'

const OBJECT_TYPES = ['ApiToken', 'Connection', 'Destination', 'Pipeline', 'Run']

/**
 * Writes an audit event after every mutation that succeeded: the actor (token name), the
 * mutation, and the object it touched (type and id, never its settings). Done by wrapping the
 * schema's Mutation resolvers, so a new mutation is audited without anyone remembering to.
 */
export function auditMutations(schema: GraphQLSchema): void {
  const mutation = schema.getMutationType()
  if (!mutation) return
  for (const field of Object.values(mutation.getFields())) {
    const resolve = field.resolve ?? defaultFieldResolver
    const returned = getNamedType(field.type).name
    field.resolve = async (root, args, ctx: ApiContext, info) => {
      const result = await resolve(root, args, ctx, info)
      const object = touched(field.name, returned, result, args)
      await ctx.app.audit.record({
        actor: ctx.principal?.name ?? 'unknown',
        actorTokenId: ctx.principal?.tokenId,
        action: field.name,
        ...object,
      })
      return result
    }
  }
}

/** The object a mutation touched: what it returned when that is an object with an id, else what its name and arguments say. */
function touched(action: string, returned: string, result: unknown, args: Record<string, unknown>) {
  const r = result as { id?: unknown; apiToken?: { id?: unknown } } | string | null | undefined
  if (r && typeof r === 'object' && typeof r.id === 'string' && OBJECT_TYPES.includes(returned))
    return { objectType: returned, objectId: r.id }
  if (r && typeof r === 'object' && typeof r.apiToken?.id === 'string') return { objectType: 'ApiToken', objectId: r.apiToken.id }
  const objectType = OBJECT_TYPES.find((t) => action.endsWith(t)) ?? returned
  const id = typeof r === 'string' ? r : (args.id ?? args.pipelineId ?? args.runId)
  return { objectType, objectId: id == null ? null : String(id) }
}
