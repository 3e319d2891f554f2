import { GraphQLError, Kind } from 'graphql'
import { builder } from '../builder.js'

const invalid = (name: string, v: unknown) =>
  new GraphQLError(`${name} cannot represent ${JSON.stringify(v)}`, { extensions: { code: 'BAD_USER_INPUT' } })

builder.scalarType('DateTime', {
  description: 'An instant as an ISO-8601 string, e.g. 2026-11-29T09:30:00.000Z',
  serialize: (v) => (v instanceof Date ? v.toISOString() : new Date(v).toISOString()),
  parseValue: (v) => {
    const d = typeof v === 'string' ? new Date(v) : undefined
    if (!d || Number.isNaN(d.getTime())) throw invalid('DateTime', v)
    return d
  },
  parseLiteral: (ast) => {
    const d = ast.kind === Kind.STRING ? new Date(ast.value) : undefined
    if (!d || Number.isNaN(d.getTime())) throw invalid('DateTime', ast.kind)
    return d
  },
})

builder.scalarType('BigInt', {
  description: 'A row or byte count. Sent as a string of digits so no count loses precision; accepted as a string or an integer',
  serialize: (v) => String(v),
  parseValue: (v) => {
    if ((typeof v === 'string' && /^-?\d+$/.test(v)) || (typeof v === 'number' && Number.isSafeInteger(v))) return BigInt(v)
    throw invalid('BigInt', v)
  },
  parseLiteral: (ast) => {
    if (ast.kind === Kind.INT || (ast.kind === Kind.STRING && /^-?\d+$/.test(ast.value))) return BigInt(ast.value)
    throw invalid('BigInt', ast.kind)
  },
})

builder.scalarType('JSON', {
  description: 'Any JSON value',
  serialize: (v) => v,
  parseValue: (v) => v,
})

/** Object.number's description, the same on every type that has one. */
export const NUMBER_DESCRIPTION =
  'A small integer given in creation order and never reused; REST paths accept it in place of the id or the name'
