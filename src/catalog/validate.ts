import { z } from 'zod'
import { badInput } from '../errors.js'

/**
 * Parses input with a zod schema and turns the first problem into a BAD_USER_INPUT error that names
 * the field, so a GraphQL client can point at it. Nothing has been written when this throws.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, prefix = ''): z.output<S> {
  const r = schema.safeParse(input)
  if (r.success) return r.data
  const issue = r.error.issues[0]
  const field = [prefix, ...issue.path.map(String)].filter(Boolean).join('.')
  throw badInput(field ? `${field}: ${issue.message}` : issue.message, field || undefined)
}

export const nameSchema = z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters')

/** Optional text where an empty string means "not set". */
export const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max, `must be at most ${max} characters`)
    .nullish()
    .transform((v) => (v ? v : undefined))

/**
 * An http(s) URL without credentials, query or fragment: those have fields of their own, where they
 * are validated and (secrets) encrypted. `queryHint` tells the user where a query belongs instead.
 */
export const httpUrlSchema = (queryHint: string) =>
  z
    .string()
    .trim()
    .superRefine((v, ctx) => {
      const problem = httpUrlProblem(v, queryHint)
      if (problem) ctx.addIssue({ code: 'custom', message: problem })
    })

/** What is wrong with `v` as such a URL, or null; for URLs that arrive inside other values (connection strings). */
export function httpUrlProblem(v: string, queryHint: string): string | null {
  let u: URL
  try {
    u = new URL(v)
  } catch {
    return 'is not a valid URL (the value is not repeated here: it may hold a secret)'
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'must be an http:// or https:// URL'
  if (u.username || u.password) return 'must not contain credentials; use the user/key fields'
  if (u.search || u.hash) return `must not contain a query or fragment; ${queryHint}`
  return null
}

/** The OData service root, without a trailing slash. */
export const serviceUrlSchema = httpUrlSchema('use sapClient for sap-client').transform((v) => v.replace(/\/+$/, ''))
