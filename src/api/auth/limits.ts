import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor'
import {
  type DocumentNode,
  getNamedType,
  getNullableType,
  type GraphQLError,
  isListType,
  type ExecutionArgs,
  type GraphQLField,
  type ValidationContext,
} from 'graphql'
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity'
import type { Plugin } from 'graphql-yoga'
import { refusal } from './coded-errors.js'

export interface QueryLimits {
  maxDepth: number
  maxAliases: number
  /** Fields an operation selects, fragments expanded (each field once, however many rows). */
  maxFields: number
  /** Fields weighted by how many objects they can return; see pageWeight. */
  maxCost: number
  /** Lexical tokens of the document: bounds parsing before anything else looks at it. */
  maxTokens: number
}

const LIMIT_CODE = 'QUERY_TOO_COMPLEX'
const MAX_DIRECTIVES = 20
/** What a list without paging (connections, a connection's pipelines …) is assumed to hold. */
const UNPAGED_LIST_WEIGHT = 20
/** A connection's page when `first`/`last` is not given, and the most a page can weigh. */
const DEFAULT_PAGE = 20
const MAX_PAGE = 1000
/** Cost verdicts kept per document (see useCost). */
const VERDICTS_PER_DOCUMENT = 100

/**
 * Query limits, checked before anything executes: graphql-armor for tokens (at parse), depth,
 * aliases and directives (at validation); graphql-query-complexity for the field count and the
 * cost, because those need the variables (`runs(first: $n)`), which exist only at execution.
 * Every refusal carries extensions.code QUERY_TOO_COMPLEX and the limit it hit.
 */
export function useQueryLimits(limits: QueryLimits): Plugin[] {
  const reject = (limit: string) => (ctx: ValidationContext | null, error: GraphQLError) =>
    ctx?.reportError(refusal(LIMIT_CODE, error.message.replace(/^Syntax Error: /, ''), 400, { limit }))
  const armor = (limit: string) => ({ propagateOnRejection: false, onReject: [reject(limit)] })
  return [
    EnvelopArmorPlugin({
      // The parser offers no context to report to: throwing a coded error replaces armor's own.
      maxTokens: {
        n: limits.maxTokens,
        onReject: [
          (_, error) => {
            throw refusal(LIMIT_CODE, error.message.replace(/^Syntax Error: /, ''), 400, { limit: 'maxTokens' })
          },
        ],
      },
      maxDepth: { n: limits.maxDepth, flattenFragments: true, ...armor('maxDepth') },
      maxAliases: { n: limits.maxAliases, ...armor('maxAliases') },
      maxDirectives: { n: MAX_DIRECTIVES, ...armor('maxDirectives') },
      costLimit: { enabled: false }, // see useCost: armor's ignores variables and unpaged lists
      blockFieldSuggestion: { enabled: true },
    }),
    useCost(limits),
  ]
}

/** Whether a field belongs to introspection (__schema, __type and the fields of the __ types). */
const isIntrospection = (parent: { name: string }, field: { name: string }) => parent.name.startsWith('__') || field.name.startsWith('__')

/** The objects a field can return: a connection's page size (`first`/`last`, capped), an unpaged list UNPAGED_LIST_WEIGHT, an object 1. */
function rowsOf(field: GraphQLField<unknown, unknown>, args: Record<string, unknown>): number {
  const page = args.first ?? args.last
  if (typeof page === 'number' || field.args.some((a) => a.name === 'first'))
    return Math.min(Math.max(typeof page === 'number' ? page : DEFAULT_PAGE, 0), MAX_PAGE)
  const returns = getNullableType(field.type)
  return isListType(returns) && !getNamedType(returns).name.endsWith('Edge') ? UNPAGED_LIST_WEIGHT : 1
}

/**
 * Data fields, each once. Introspection is left to graphql-js' own MaxIntrospectionDepthRule (a
 * standard rule since 16.9): its answers are bounded by the schema unless its lists are nested.
 */
const fieldCount: ComplexityEstimator = ({ type, field, childComplexity }) => (isIntrospection(type, field) ? 0 : 1 + childComplexity)

/** A data field costs 1 plus its selections times the objects it can return. */
const dataCost: ComplexityEstimator = ({ type, field, args, childComplexity }) =>
  isIntrospection(type, field) ? 0 : 1 + rowsOf(field as GraphQLField<unknown, unknown>, args) * childComplexity

function useCost(limits: QueryLimits): Plugin {
  const check = (args: ExecutionArgs): GraphQLError | undefined => {
    const measure = (estimator: ComplexityEstimator) =>
      getComplexity({
        schema: args.schema,
        query: args.document,
        variables: (args.variableValues ?? {}) as Record<string, unknown>,
        operationName: args.operationName ?? undefined,
        estimators: [estimator],
      })
    try {
      const fields = measure(fieldCount)
      if (fields > limits.maxFields)
        return refusal(LIMIT_CODE, `the operation selects ${fields} fields; at most ${limits.maxFields} are allowed`, 400, {
          limit: 'maxFields',
        })
      const cost = measure(dataCost)
      if (cost > limits.maxCost)
        return refusal(
          LIMIT_CODE,
          `the operation's cost is ${cost} (fields times the rows they can return); at most ${limits.maxCost} is allowed — ask for smaller pages or fewer nested lists`,
          400,
          { limit: 'maxCost' },
        )
    } catch {
      return undefined // bad variables or an unknown operation: execution reports them
    }
    return undefined
  }
  // The verdict depends on the document, the operation and the variables only (one schema per
  // server): measured once per combination, not on every request. Yoga's parser cache hands the same
  // document object for the same query text; a document's verdicts are kept for its last
  // VERDICTS_PER_DOCUMENT variable sets (a query by id sees many), the oldest dropped first.
  const verdicts = new WeakMap<DocumentNode, Map<string, GraphQLError | undefined>>()
  const cachedCheck = (args: ExecutionArgs): GraphQLError | undefined => {
    let byVariables = verdicts.get(args.document)
    if (!byVariables) verdicts.set(args.document, (byVariables = new Map()))
    const key = `${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}`
    if (byVariables.has(key)) return byVariables.get(key)
    const verdict = check(args)
    if (byVariables.size >= VERDICTS_PER_DOCUMENT) byVariables.delete(byVariables.keys().next().value!)
    byVariables.set(key, verdict)
    return verdict
  }
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = cachedCheck(args)
      if (error) setResultAndStopExecution({ errors: [error] })
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = cachedCheck(args)
      if (error) setResultAndStopExecution({ errors: [error] })
    },
  }
}
