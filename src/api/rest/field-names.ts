import {
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  type GraphQLInputObjectType,
  type GraphQLInputType,
} from 'graphql'
import type { Problem } from './problem.js'

/** `rfcConfig` → `rfc_config`: REST bodies and answers use the original service's snake_case. */
export const snakeCase = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

/** Every key of a GraphQL answer in snake_case; values (field lists, messages) untouched. */
export function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys)
  if (!value || typeof value !== 'object') return value
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [snakeCase(k), snakeKeys(v)]))
}

/**
 * Names the original service and its users' scripts use for a field the GraphQL input calls
 * otherwise: one password field for both protocols, one language field.
 */
const ALIASES: Record<string, Record<string, string>> = {
  RfcConfigInput: { password: 'passwd', language: 'lang' },
  ODataConfigInput: { passwd: 'password', lang: 'language' },
}

export type Mapped = { ok: true; value: Record<string, unknown> } | { ok: false; problem: Problem }

/**
 * A REST body as the GraphQL input `type`: each key in snake_case or camelCase (or an alias above)
 * becomes the input field's name, walking nested inputs. The JSON type of each value and the
 * required fields are checked here against the same input type, because GraphQL's own coercion
 * error, once masked, no longer says which field it was about; what a value may be (formats,
 * ranges) is left to the catalogue behind GraphQL. An unknown key is refused, named as the caller
 * wrote it, rather than dropped (a typo must not pass unseen, architecture rule 5). `filledIn`:
 * required fields the route fills in itself when they are left out (snake_case).
 */
export function asInput(body: unknown, type: GraphQLInputObjectType, path = '', filledIn: readonly string[] = []): Mapped {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return refuse(path, `${path || 'the body'} must be a JSON object`)
  const fields = type.getFields()
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(body)) {
    const at = path ? `${path}.${key}` : key
    const name = [key, camelCase(key), ALIASES[type.name]?.[key]].find((n) => n && n in fields)
    if (!name) return refuse(at, `${at}: unknown field`)
    if (name in out) return refuse(at, `${at}: given twice (as ${snakeCase(name)} and ${name})`)
    const mapped = nested(value, fields[name].type, at)
    if (!mapped.ok) return mapped
    out[name] = mapped.value
  }
  for (const [name, field] of Object.entries(fields))
    if (isNonNullType(field.type) && field.defaultValue === undefined && out[name] == null && !filledIn.includes(snakeCase(name))) {
      const at = path ? `${path}.${snakeCase(name)}` : snakeCase(name)
      return refuse(at, `${at}: is required`)
    }
  return { ok: true, value: out }
}

function nested(value: unknown, type: GraphQLInputType, at: string): { ok: true; value: unknown } | { ok: false; problem: Problem } {
  if (value == null) return { ok: true, value }
  const inner = getNullableType(type)
  if (isListType(inner)) {
    if (!Array.isArray(value)) return refuse(at, `${at}: must be a list`)
    const items: unknown[] = []
    for (const [i, v] of value.entries()) {
      const m = nested(v, inner.ofType, `${at}.${i}`)
      if (!m.ok) return m
      items.push(m.value)
    }
    return { ok: true, value: items }
  }
  const named = getNamedType(type)
  if (isInputObjectType(named)) return asInput(value, named, at)
  if (isEnumType(named)) {
    const values = named.getValues().map((v) => v.name)
    return typeof value === 'string' && values.includes(value)
      ? { ok: true, value }
      : refuse(at, `${at}: must be one of ${values.join(', ')}`)
  }
  const wanted = JSON_TYPE_OF_SCALAR[named.name]
  if (wanted && !wanted.test(value)) return refuse(at, `${at}: must be ${wanted.name}`)
  return { ok: true, value }
}

/** What JSON a GraphQL scalar takes (the value itself is not repeated in the refusal: it may be a password). */
const JSON_TYPE_OF_SCALAR: Record<string, { name: string; test: (v: unknown) => boolean }> = {
  String: { name: 'a string', test: (v) => typeof v === 'string' },
  ID: { name: 'a string', test: (v) => typeof v === 'string' || Number.isInteger(v) },
  Int: { name: 'an integer', test: (v) => Number.isInteger(v) },
  Boolean: { name: 'true or false', test: (v) => typeof v === 'boolean' },
}

const camelCase = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())

const refuse = (field: string, detail: string): Mapped => ({
  ok: false,
  problem: { status: 422, code: 'BAD_USER_INPUT', detail, ...(field ? { field } : {}) },
})
