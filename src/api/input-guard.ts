import { GraphQLError, type DocumentNode, type ExecutionResult } from 'graphql'
import type { Plugin } from 'graphql-yoga'
import { CONTROL, CONTROL_BUT_LINES, firstControl } from '../util/control-chars.js'
import { literalValues, variableValues, type InputValue } from './input-values.js'

/**
 * Two rules for every operation, on HTTP and websockets alike (graphql-ws runs through Yoga's
 * envelope), in one place rather than per field:
 *
 * 1. No control characters in any string input: NUL breaks PostgreSQL (an INTERNAL error instead of
 *    an answer), and the rest have no business in names, hosts, keys or paths. Tab, newline and
 *    carriage return are allowed in `filter` only, the one multi-line input (OData $filter and ABAP
 *    WHERE clauses are typed over several lines). Refused with BAD_USER_INPUT before any resolver.
 * 2. Errors that GraphQL itself raises about the request (syntax, validation, variable types) quote
 *    the offending value ("String cannot represent a non string value: …", "got invalid value
 *    {…}"); a password sent with a wrong type would come back in the response and reach logs.
 *    Those messages keep their wording with every value the request carried replaced by "…".
 */
export function useInputGuard(): Plugin {
  return {
    onParse:
      () =>
      ({ result, replaceParseResult }) => {
        if (result instanceof GraphQLError) replaceParseResult(scrubSyntax(result))
      },
    onValidate:
      ({ params }) =>
      ({ result, setResult }) => {
        if (result.length) setResult(result.map((e) => scrub(e, literalValues(params.documentAST))))
      },
    onExecute: ({ args, setResultAndStopExecution }) => {
      const refused = refusal(args.document, args.variableValues)
      if (refused) return setResultAndStopExecution(refused)
      return {
        onExecuteDone: ({ result, setResult }) => {
          // The request's values are gathered only for an answer with errors, the only one they are scrubbed from.
          if (!isResult(result) || !result.errors?.length) return
          const values = requestValues(args.document, args.variableValues)
          setResult({ ...result, errors: result.errors.map((e) => scrub(e, values)) })
        },
      }
    },
    onSubscribe: ({ args, setResultAndStopExecution }) => {
      const refused = refusal(args.document, args.variableValues)
      if (refused) return setResultAndStopExecution(refused)
      return {
        onSubscribeResult: ({ result, setResult }) => {
          // The request's values are gathered only for an answer with errors, the only one they are scrubbed from.
          if (!isResult(result) || !result.errors?.length) return
          const values = requestValues(args.document, args.variableValues)
          setResult({ ...result, errors: result.errors.map((e) => scrub(e, values)) })
        },
      }
    },
  }
}

const MULTI_LINE = new Set(['filter'])

function refusal(document: DocumentNode, variables: unknown): ExecutionResult | undefined {
  for (const { path, value } of requestValues(document, variables)) {
    const last = path.split('.').at(-1) ?? ''
    const code = firstControl(value, MULTI_LINE.has(last) ? CONTROL_BUT_LINES : CONTROL)
    if (!code) continue
    return {
      errors: [
        new GraphQLError(
          `${path}: must not contain control characters (found ${code})${MULTI_LINE.has(last) ? '' : '; tab and line breaks are allowed in filter only'}`,
          {
            extensions: { code: 'BAD_USER_INPUT', field: path },
          },
        ),
      ],
    }
  }
  return undefined
}

function requestValues(document: DocumentNode, variables: unknown): InputValue[] {
  return [...variableValues(variables), ...literalValues(document)]
}

const isResult = (r: unknown): r is ExecutionResult => !!r && typeof r === 'object' && !(Symbol.asyncIterator in r)

/**
 * The error with every request value replaced: quoted (as inspect() and print() show strings) and
 * bare (as numbers and enum literals appear), bare only between non-word characters so that a
 * value inside a longer word (a schema name) is left alone. Errors from resolvers (an originalError
 * that is not GraphQL's) are the service's own and say what they mean; they are left as they are.
 */
function scrub(e: GraphQLError, values: readonly InputValue[]): GraphQLError {
  // Variable coercion wraps the scalar's own GraphQLError ("String cannot represent…"): scrubbed too.
  if (e.originalError && !(e.originalError instanceof GraphQLError)) return e
  let message = e.message
  for (const v of [...new Set(values.map((x) => x.value))].filter((v) => v.length >= 3).sort((a, b) => b.length - a.length)) {
    message = message.split(JSON.stringify(v)).join('"…"')
    message = message.replace(new RegExp(`(?<![\\w])${escapeRegExp(v)}(?![\\w])`, 'g'), '…')
  }
  return message === e.message ? e : copy(e, message)
}

/** Syntax errors quote the token they stumbled on: `Unexpected Name "hunter2"`. */
function scrubSyntax(e: GraphQLError): GraphQLError {
  const message = e.message.replace(/\b(Name|String|BlockString|Int|Float) "(?:[^"\\]|\\.)*"/g, '$1')
  return message === e.message ? e : copy(e, message)
}

function copy(e: GraphQLError, message: string): GraphQLError {
  return new GraphQLError(message, { nodes: e.nodes, source: e.source, positions: e.positions, path: e.path, extensions: e.extensions })
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
