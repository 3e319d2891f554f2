import {
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLInputObjectType,
  type GraphQLInputType,
  type GraphQLOutputType,
  type GraphQLSchema,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql'
import { requiredRole } from '../auth/policy.js'
import { snakeCase } from './field-names.js'
import { DEFAULT_DESTINATION, ROUTES, RUN_STARTED, type Route } from './routes.js'

type JsonSchema = Record<string, unknown>

/**
 * The OpenAPI 3.1 document of the REST API, derived from what REST executes: each route's body is
 * its GraphQL input type, its answer the selection of its GraphQL operation, its role the one
 * policy.ts gives the operation's root field. The GraphQL schema (itself built from the code,
 * with the catalogue's rules behind it) is the one source; nothing here can say what REST does not do.
 */
export function openApiDocument(schema: GraphQLSchema): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const route of ROUTES) (paths[route.path] ??= {})[route.method.toLowerCase()] = operationOf(schema, route)
  return {
    openapi: '3.1.0',
    info: {
      title: 'delta-extractor REST API',
      version: '1',
      description: `The original service's REST calls, served by the same operations as GraphQL (/graphql). Bodies and answers use snake_case; the GraphQL camelCase names are accepted in bodies too. A path's {ref} is an object's id, its number or its unique name. Errors are RFC 9457 problem+json with the same code as GraphQL's extensions.code. POST /pipelines without a destination uses the LOCAL destination "${DEFAULT_DESTINATION}" in the first LOCAL_ROOTS folder, created on first use.`,
    },
    servers: [{ url: '/' }],
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API token (dex_…), as for GraphQL' } },
      schemas: { Problem: PROBLEM },
    },
  }
}

const PROBLEM: JsonSchema = {
  type: 'object',
  description: 'RFC 9457 problem details',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string', description: 'The GraphQL extensions.code: BAD_USER_INPUT, NOT_FOUND, CONFLICT, UNAUTHENTICATED, FORBIDDEN…' },
    field: { type: 'string', description: 'The body field that was refused, in snake_case' },
  },
}

const problems = (codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [
      String(c),
      { description: PROBLEM_TEXT[c], content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
    ]),
  )
const PROBLEM_TEXT: Record<number, string> = {
  400: 'The body is not JSON',
  401: 'No valid API token',
  403: 'The token role is too low, or a foreign Origin',
  404: 'No such object',
  409: 'Conflict with the current state (a name taken, a run active, an object in use)',
  413: 'Body larger than MAX_REQUEST_BYTES',
  415: 'Body not application/json',
  422: 'Input refused; field names it',
  429: 'Too many mutations for this token',
}

function operationOf(schema: GraphQLSchema, route: Route): JsonSchema {
  const operation = route.document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!
  const root = operation.selectionSet.selections[0]
  const rootName = root.kind === Kind.FIELD ? root.name.value : ''
  const role = requiredRole(operation.operation, rootName)
  const rootType = operation.operation === 'mutation' ? schema.getMutationType()! : schema.getQueryType()!
  const field = rootType.getFields()[rootName]
  const selected = root.kind === Kind.FIELD ? root.selectionSet : undefined
  const object = outputSchema(field.type, selected, fragmentsOf(route.document))
  const parameters = [
    ...(route.kind
      ? [
          {
            name: 'ref',
            in: 'path',
            required: true,
            schema: { type: 'string' },
            description: `The ${route.kind}'s ${route.kind === 'run' ? 'id' : 'id, number or name'}`,
          },
        ]
      : []),
    ...Object.entries(route.parameters ?? {}).map(([name, p]) => ({
      name,
      in: 'query',
      schema: { type: p.type },
      description: p.description,
    })),
    ...(route.answer === 'deleted' && route.kind === 'pipeline'
      ? [
          {
            name: 'force',
            in: 'query',
            schema: { type: 'boolean' },
            description: 'Delete even when SAP cannot be reached to end the subscription',
          },
        ]
      : []),
  ]
  const body = route.input
    ? withOptional(inputSchema(schema.getType(route.input) as GraphQLInputObjectType), route.filledIn ?? [])
    : route.args
      ? {
          type: 'object',
          properties: Object.fromEntries(
            Object.entries(route.args).map(([k, a]) => [
              k,
              { type: a.type, ...(a.enum ? { enum: a.enum } : {}), description: a.description },
            ]),
          ),
        }
      : undefined
  return {
    operationId: `${route.method.toLowerCase()}${route.path.replace(/\{ref\}/g, 'One').replace(/[^A-Za-z]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
    summary: route.summary,
    description: `Needs role ${role} or higher. Runs the GraphQL ${operation.operation} field \`${rootName}\`.`,
    parameters,
    ...(body
      ? { requestBody: { required: !!route.input && route.method === 'POST', content: { 'application/json': { schema: body } } } }
      : {}),
    responses: {
      [String(route.status)]: { description: 'Success', content: { 'application/json': { schema: answerSchema(route, object) } } },
      ...problems([
        400,
        401,
        403,
        ...(route.kind ? [404] : []),
        ...(operation.operation === 'mutation' ? [409, 413, 415, 422, 429] : [422]),
      ]),
    },
  }
}

function answerSchema(route: Route, object: JsonSchema): JsonSchema {
  switch (route.answer) {
    case 'list':
      return object
    case 'deleted':
      return { type: 'object', required: ['message', 'id'], properties: { message: { type: 'string' }, id: { type: 'string' } } }
    case 'runStarted':
      return {
        type: 'object',
        required: ['message', 'run_id', 'status', 'urls', 'run'],
        properties: {
          message: { const: RUN_STARTED },
          run_id: { type: 'string' },
          status: { type: 'string' },
          urls: { type: 'object', properties: { rest: { type: 'string' }, graphql: { type: 'string' } } },
          run: object,
        },
      }
    case 'runPage': {
      const edges = (object.properties as Record<string, JsonSchema>).edges
      const node = ((edges.items as JsonSchema).properties as Record<string, JsonSchema>).node
      return { type: 'array', items: node }
    }
    default:
      return object
  }
}

const fragmentsOf = (d: DocumentNode) =>
  new Map(d.definitions.filter((x): x is FragmentDefinitionNode => x.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]))

const SCALARS: Record<string, JsonSchema> = {
  ID: { type: 'string' },
  String: { type: 'string' },
  Int: { type: 'integer' },
  Float: { type: 'number' },
  Boolean: { type: 'boolean' },
  DateTime: { type: 'string', format: 'date-time' },
  BigInt: { type: 'string', pattern: '^-?\\d+$', description: 'A count, as a string of digits' },
  JSON: {},
}

/** JSON Schema of a GraphQL answer: the fields the selection asks for, in snake_case. */
function outputSchema(
  type: GraphQLOutputType,
  selection: SelectionSetNode | undefined,
  fragments: Map<string, FragmentDefinitionNode>,
): JsonSchema {
  const nullable = !isNonNullType(type)
  const inner = getNullableType(type)
  let s: JsonSchema
  if (isListType(inner)) s = { type: 'array', items: outputSchema(inner.ofType, selection, fragments) }
  else if (isEnumType(inner)) s = { type: 'string', enum: inner.getValues().map((v) => v.name) }
  else if (isScalarType(inner)) s = { ...SCALARS[inner.name] }
  else if (isObjectType(inner) && selection) {
    const fields = inner.getFields()
    const properties: Record<string, JsonSchema> = {}
    const required: string[] = []
    const walk = (set: SelectionSetNode) => {
      for (const sel of set.selections) {
        if (sel.kind === Kind.FRAGMENT_SPREAD) walk(fragments.get(sel.name.value)!.selectionSet)
        else if (sel.kind === Kind.INLINE_FRAGMENT) walk(sel.selectionSet)
        else {
          const f = fields[sel.name.value]
          const name = snakeCase(sel.name.value)
          properties[name] = {
            ...outputSchema(f.type, sel.selectionSet, fragments),
            ...(f.description ? { description: f.description } : {}),
          }
          required.push(name)
        }
      }
    }
    walk(selection)
    s = { type: 'object', required, properties, ...(inner.description ? { description: inner.description } : {}) }
  } else s = {}
  return nullable ? orNull(s) : s
}

/** JSON Schema of a GraphQL input, as REST takes it: snake_case names (camelCase accepted too, see field-names.ts). */
function inputSchema(type: GraphQLInputType): JsonSchema {
  const nullable = !isNonNullType(type)
  const inner = getNullableType(type)
  let s: JsonSchema
  if (isListType(inner)) s = { type: 'array', items: inputSchema(inner.ofType) }
  else if (isEnumType(inner)) s = { type: 'string', enum: inner.getValues().map((v) => v.name) }
  else if (isScalarType(inner)) s = { ...SCALARS[inner.name] }
  else if (isInputObjectType(inner)) {
    const fields = Object.values(inner.getFields())
    s = {
      type: 'object',
      properties: Object.fromEntries(
        fields.map((f) => [snakeCase(f.name), { ...inputSchema(f.type), ...(f.description ? { description: f.description } : {}) }]),
      ),
      required: fields.filter((f) => isNonNullType(f.type) && f.defaultValue === undefined).map((f) => snakeCase(f.name)),
      ...(inner.description ? { description: inner.description } : {}),
    }
  } else s = {}
  return nullable ? orNull(s) : s
}

const orNull = (s: JsonSchema): JsonSchema =>
  typeof s.type === 'string' ? { ...s, type: [s.type, 'null'], ...(s.enum ? { enum: [...(s.enum as unknown[]), null] } : {}) } : s

/** The input with fields REST fills in itself (the default destination) no longer required. */
function withOptional(s: JsonSchema, filledIn: string[]): JsonSchema {
  return { ...s, required: (s.required as string[]).filter((f) => !filledIn.includes(f)) }
}
