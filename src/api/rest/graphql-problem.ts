import type { ExecutionResult } from 'graphql'
import { snakeCase } from './field-names.js'
import { type Problem, statusOf } from './problem.js'

/**
 * The problem for an operation's first error: its code and message as GraphQL clients get them
 * (already masked by Yoga's error masking), the status of that code, and the field it names in the
 * REST body's spelling (`rfc_config.sysnr`). GraphQL's own coercion errors name the field only in
 * their text ('… at "input.rfcConfig.sysnr"; …' or 'Field "client" of required type …').
 */
export function problemOf(result: ExecutionResult): Problem {
  const error = result.errors![0]
  const extensions = (error.extensions ?? {}) as Record<string, unknown>
  const coercion = /^Variable "\$\w+" got invalid value/.test(error.message)
  const code = typeof extensions.code === 'string' && !coercion ? extensions.code : coercion ? 'BAD_USER_INPUT' : 'BAD_REQUEST'
  const field = typeof extensions.field === 'string' ? extensions.field : coercion ? coercedField(error.message) : undefined
  const retryAfter = typeof extensions.retryAfter === 'number' ? { retry_after: extensions.retryAfter } : undefined
  return {
    status: statusOf(code),
    code,
    detail: error.message,
    ...(field ? { field: restField(field) } : {}),
    ...(retryAfter ? { extra: retryAfter } : {}),
  }
}

function coercedField(message: string): string | undefined {
  const at = /at "([^"]+)"/.exec(message)?.[1]
  const missing = /Field "(\w+)" of required type/.exec(message)?.[1]
  const unknown = /Field "(\w+)" is not defined/.exec(message)?.[1]
  const leaf = missing ?? unknown
  return [at, leaf].filter(Boolean).join('.') || undefined
}

/** `input.rfcConfig.sysnr` → `rfc_config.sysnr`: the body has no `input` wrapper. */
const restField = (field: string) => snakeCase(field.replace(/^input\./, '').replace(/^input$/, ''))
