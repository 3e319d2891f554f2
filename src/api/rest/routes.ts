import { join } from 'node:path'
import type { DocumentNode, ExecutionResult } from 'graphql'
import type { AppServices } from '../context.js'
import { asInput, snakeKeys } from './field-names.js'
import type { Kind, Resolved } from './object-ref.js'
import { problemOf } from './graphql-problem.js'
import { OPERATIONS } from './operations.js'
import type { Problem } from './problem.js'

/** What a handler gets: the request as REST saw it, and the one way it acts, a GraphQL operation. */
export interface RestCall {
  app: AppServices
  /** The object the path's `{ref}` named, already resolved to its id. */
  id?: string
  body: unknown
  query: URLSearchParams
  run(document: DocumentNode, variables: Record<string, unknown>): Promise<ExecutionResult>
  /** The GraphQL input type of this name, for mapping snake_case bodies. */
  inputType(name: string): Parameters<typeof asInput>[1]
  /** The id of the object `ref` names (id, number or name). */
  resolve(kind: Kind, ref: string): Promise<Resolved>
}

export type Answer = { status: number; body: unknown; headers?: Record<string, string> } | { problem: Problem }

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  /** OpenAPI path template; `{ref}` is an id, number or name of `kind`. */
  path: string
  kind?: Kind
  summary: string
  /** The operation that does the work: its root field decides the role (policy.ts), its selection the answer. */
  document: DocumentNode
  /** The GraphQL input type the JSON body is (snake_case or camelCase), if the route takes one. */
  input?: string
  /** Required input fields REST fills in when the body leaves them out (snake_case). */
  filledIn?: string[]
  /** Body fields that are not an input object but arguments of the operation. */
  args?: Record<string, { type: 'string' | 'boolean'; enum?: string[]; description: string }>
  /** Query parameters (GET /runs). */
  parameters?: Record<string, { type: 'string' | 'integer'; description: string }>
  status: number
  /** How the answer wraps the operation's object, when it does (documented in openapi.ts). */
  answer?: 'list' | 'deleted' | 'runStarted' | 'runPage'
  handle(call: RestCall): Promise<Answer>
}

/** The original service's answer to a run request, kept word for word: scripts compare it. */
export const RUN_STARTED = 'Pipeline run started!'

/**
 * The destination a pipeline created without one writes to: the original service wrote to local
 * disk and had no destinations. A LOCAL destination `default` in the first LOCAL_ROOTS folder,
 * created by the first such request (as an audited createDestination, with the caller's rights).
 */
export const DEFAULT_DESTINATION = 'default'

const rootField = (r: ExecutionResult): unknown => Object.values(r.data ?? {})[0]

/** An operation's result as an answer: the error as a problem, else its root field (snake_case). */
async function perform(call: RestCall, document: DocumentNode, variables: Record<string, unknown>, status: number): Promise<Answer> {
  const result = await call.run(document, variables)
  if (result.errors?.length) return { problem: problemOf(result) }
  const value = rootField(result)
  if (value == null) return { problem: { status: 404, code: 'NOT_FOUND', detail: 'no such object' } }
  return { status, body: snakeKeys(value) }
}

/** The body as the GraphQL input `type`, without the fields in `omit`, then through the route's own `prepare`. */
async function mapped(call: RestCall, type: string, omit: string[], prepare: Prepare, creating: boolean, filledIn: string[] = []) {
  const body = isObject(call.body) ? { ...call.body } : call.body
  if (isObject(body)) for (const k of omit) delete body[k]
  const m = asInput(body ?? {}, call.inputType(type), '', filledIn)
  return m.ok ? prepare(call, m.value, creating) : { problem: m.problem }
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v)

/** Arguments sent as body fields (the run's mode and takeover): only those, each once. */
function argsOf(body: unknown, names: string[]): { ok: true; value: Record<string, unknown> } | { problem: Problem } {
  if (body === undefined) return { ok: true, value: {} }
  if (!isObject(body)) return { problem: { status: 422, code: 'BAD_USER_INPUT', detail: 'the body must be a JSON object' } }
  const unknown = Object.keys(body).find((k) => !names.includes(k))
  if (unknown) return { problem: { status: 422, code: 'BAD_USER_INPUT', detail: `${unknown}: unknown field`, field: unknown } }
  return { ok: true, value: body }
}

/**
 * A pipeline's connection and destination may be named as in a path (id, number or name), and a
 * new pipeline without a destination gets the default one (DEFAULT_DESTINATION).
 */
const pipelineRefs: Prepare = async (call, input, creating) => {
  const value = { ...input }
  for (const [field, kind] of [
    ['connectionId', 'connection'],
    ['destinationId', 'destination'],
  ] as const) {
    if (value[field] == null) continue
    const found = await call.resolve(kind, String(value[field]))
    if (!found.ok) return { problem: { ...found.problem, status: 422, code: 'BAD_USER_INPUT', field: `${kind}_id` } }
    value[field] = found.id
  }
  if (creating && value.destinationId == null) {
    const fallback = await defaultDestinationId(call)
    if ('problem' in fallback) return fallback
    value.destinationId = fallback.id
  }
  return { ok: true, value }
}

type Prepare = (
  call: RestCall,
  input: Record<string, unknown>,
  creating: boolean,
) => Promise<{ ok: true; value: Record<string, unknown> } | { problem: Problem }>
const unchanged: Prepare = async (_, value) => ({ ok: true, value })

interface Crud {
  plural: string
  kind: Kind
  /** GraphQL's name of the type: Create<Type>Input, Update<Type>Input. */
  type: string
  ops: { list: DocumentNode; get: DocumentNode; create: DocumentNode; update: DocumentNode; remove: DocumentNode }
  /** The field the original's PUT sent back with the whole object, which cannot change and is no input (protocol, kind). */
  fixedOnUpdate?: string
  prepare?: Prepare
  filledInOnCreate?: string[]
}

const crud = ({ plural, kind, type: Type, ops, fixedOnUpdate, prepare = unchanged, filledInOnCreate }: Crud) => {
  const label = kind[0].toUpperCase() + kind.slice(1)
  const routes: Route[] = [
    {
      method: 'GET',
      path: `/${plural}`,
      summary: `List ${plural}, by name`,
      document: ops.list,
      status: 200,
      answer: 'list',
      handle: (call) => perform(call, ops.list, {}, 200),
    },
    {
      method: 'POST',
      path: `/${plural}`,
      summary: `Create a ${kind}`,
      document: ops.create,
      input: `Create${Type}Input`,
      filledIn: filledInOnCreate,
      status: 201,
      handle: async (call) => {
        const i = await mapped(call, `Create${Type}Input`, [], prepare, true, filledInOnCreate)
        if ('problem' in i) return i
        const answer = await perform(call, ops.create, { input: i.value }, 201)
        return 'problem' in answer ? answer : { ...answer, headers: { location: `/${plural}/${(answer.body as { id: string }).id}` } }
      },
    },
    {
      method: 'GET',
      path: `/${plural}/{ref}`,
      kind,
      summary: `One ${kind}`,
      document: ops.get,
      status: 200,
      handle: (call) => perform(call, ops.get, { id: call.id }, 200),
    },
    {
      method: 'PUT',
      path: `/${plural}/{ref}`,
      kind,
      summary: `Change a ${kind}: fields left out keep their value`,
      document: ops.update,
      input: `Update${Type}Input`,
      status: 200,
      handle: async (call) => {
        const i = await mapped(call, `Update${Type}Input`, fixedOnUpdate ? [fixedOnUpdate] : [], prepare, false)
        if ('problem' in i) return i
        return perform(call, ops.update, { id: call.id, input: i.value }, 200)
      },
    },
    {
      method: 'DELETE',
      path: `/${plural}/{ref}`,
      kind,
      summary: `Delete a ${kind}`,
      document: ops.remove,
      status: 200,
      answer: 'deleted',
      handle: async (call) => {
        const force = call.query.get('force') === 'true'
        const answer = await perform(call, ops.remove, { id: call.id, ...(kind === 'pipeline' ? { force } : {}) }, 200)
        return 'problem' in answer ? answer : { status: 200, body: { message: `${label} deleted!`, id: answer.body } }
      },
    },
  ]
  return routes
}

async function defaultDestinationId(call: RestCall): Promise<{ ok: true; id: string } | { problem: Problem }> {
  const existing = await call.app.db.destination.findUnique({ where: { name: DEFAULT_DESTINATION }, select: { id: true } })
  if (existing) return { ok: true, id: existing.id }
  const created = await call.run(OPERATIONS.createDestination, {
    input: { name: DEFAULT_DESTINATION, kind: 'LOCAL', local: { path: join(call.app.destinations.firstLocalRoot, DEFAULT_DESTINATION) } },
  })
  if (created.errors?.length) return { problem: problemOf(created) }
  return { ok: true, id: (rootField(created) as { id: string }).id }
}

export const ROUTES: Route[] = [
  ...crud({
    plural: 'connections',
    kind: 'connection',
    type: 'Connection',
    ops: {
      list: OPERATIONS.listConnections,
      get: OPERATIONS.getConnection,
      create: OPERATIONS.createConnection,
      update: OPERATIONS.updateConnection,
      remove: OPERATIONS.deleteConnection,
    },
    fixedOnUpdate: 'protocol',
  }),
  ...crud({
    plural: 'destinations',
    kind: 'destination',
    type: 'Destination',
    ops: {
      list: OPERATIONS.listDestinations,
      get: OPERATIONS.getDestination,
      create: OPERATIONS.createDestination,
      update: OPERATIONS.updateDestination,
      remove: OPERATIONS.deleteDestination,
    },
    fixedOnUpdate: 'kind',
  }),
  ...crud({
    plural: 'pipelines',
    kind: 'pipeline',
    type: 'Pipeline',
    ops: {
      list: OPERATIONS.listPipelines,
      get: OPERATIONS.getPipeline,
      create: OPERATIONS.createPipeline,
      update: OPERATIONS.updatePipeline,
      remove: OPERATIONS.deletePipeline,
    },
    prepare: pipelineRefs,
    filledInOnCreate: ['destination_id'],
  }),
  {
    method: 'POST',
    path: '/pipelines/{ref}/run',
    kind: 'pipeline',
    summary: 'Start a run: answers 202 at once with the queued run, and where to follow it',
    document: OPERATIONS.runPipeline,
    args: {
      mode: { type: 'string', enum: ['FULL', 'DELTA_INIT', 'DELTA', 'RECOVERY'], description: 'Default: what the pipeline needs next' },
      takeover: { type: 'boolean', description: "DELTA_INIT only: replace an SAP subscription that is not this pipeline's" },
    },
    status: 202,
    answer: 'runStarted',
    handle: async (call) => {
      const args = argsOf(call.body, ['mode', 'takeover'])
      if ('problem' in args) return args
      const answer = await perform(call, OPERATIONS.runPipeline, { id: call.id, ...args.value }, 202)
      if ('problem' in answer) return answer
      const run = answer.body as { id: string; status: string }
      const graphqlQuery = `query($id: ID!) { run(id: $id) { status stage rowsWritten error { code message } } }`
      return {
        status: 202,
        headers: { location: `/runs/${run.id}` },
        body: {
          message: RUN_STARTED,
          run_id: run.id,
          status: run.status,
          urls: {
            rest: `/runs/${run.id}`,
            graphql: `/graphql?${new URLSearchParams({ query: graphqlQuery, variables: JSON.stringify({ id: run.id }) })}`,
          },
          run,
        },
      }
    },
  },
  {
    method: 'GET',
    path: '/runs',
    summary: 'Runs, newest first; one page (Link: rel="next" points at the next)',
    document: OPERATIONS.listRuns,
    parameters: {
      pipeline: { type: 'string', description: "Only this pipeline's runs: its id, number or name" },
      status: { type: 'string', description: 'QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELLED' },
      limit: { type: 'integer', description: 'Runs per page, 1-1000 (default 50)' },
      after: { type: 'string', description: 'The cursor of the page before (from the Link header)' },
    },
    status: 200,
    answer: 'runPage',
    handle: async (call) => {
      const limit = Number(call.query.get('limit') ?? 50)
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        return { problem: { status: 422, code: 'BAD_USER_INPUT', detail: 'limit: must be an integer from 1 to 1000', field: 'limit' } }
      const variables: Record<string, unknown> = { first: limit, after: call.query.get('after'), status: call.query.get('status') }
      const pipeline = call.query.get('pipeline')
      if (pipeline) {
        const found = await call.resolve('pipeline', pipeline)
        if (!found.ok) return { problem: found.problem }
        variables.pipelineId = found.id
      }
      const result = await call.run(OPERATIONS.listRuns, variables)
      if (result.errors?.length) return { problem: problemOf(result) }
      const page = rootField(result) as {
        totalCount: number
        pageInfo: { hasNextPage: boolean; endCursor: string | null }
        edges: { node: unknown }[]
      }
      const headers: Record<string, string> = { 'x-total-count': String(page.totalCount) }
      if (page.pageInfo.hasNextPage && page.pageInfo.endCursor) {
        const next = new URLSearchParams(call.query)
        next.set('after', page.pageInfo.endCursor)
        headers.link = `</runs?${next}>; rel="next"`
      }
      return { status: 200, headers, body: page.edges.map((e) => snakeKeys(e.node)) }
    },
  },
  {
    method: 'GET',
    path: '/runs/{ref}',
    kind: 'run',
    summary: 'One run: status, stage, counters, error',
    document: OPERATIONS.getRun,
    status: 200,
    handle: (call) => perform(call, OPERATIONS.getRun, { id: call.id }, 200),
  },
  {
    method: 'POST',
    path: '/runs/{ref}/cancel',
    kind: 'run',
    summary: 'Cancel a queued or running run; answers once it has stopped',
    document: OPERATIONS.cancelRun,
    status: 200,
    handle: (call) => perform(call, OPERATIONS.cancelRun, { id: call.id }, 200),
  },
]
