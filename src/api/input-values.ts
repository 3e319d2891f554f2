import { Kind, visit, type DocumentNode, type ValueNode } from 'graphql'

/**
 * The string values a request carries, wherever they are: in its variables (any depth) and as
 * literals in its document (field and directive arguments, nested objects and lists). Shared by the
 * control-character check and by the scrubbing of error messages.
 */
export interface InputValue {
  /** `input.odataConfig.password` for a variable, `createConnection.input.name` for a literal. */
  path: string
  value: string
}

export function variableValues(variables: unknown): InputValue[] {
  const out: InputValue[] = []
  const walk = (v: unknown, path: string) => {
    if (typeof v === 'string') out.push({ path, value: v })
    else if (typeof v === 'number' || typeof v === 'bigint') out.push({ path, value: String(v) })
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}.${i}`))
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k)
  }
  walk(variables ?? {}, '')
  return out
}

export function literalValues(document: DocumentNode): InputValue[] {
  const out: InputValue[] = []
  const walk = (node: ValueNode, path: string) => {
    switch (node.kind) {
      case Kind.STRING:
      case Kind.ENUM:
      case Kind.INT:
      case Kind.FLOAT:
        out.push({ path, value: node.value })
        break
      case Kind.LIST:
        node.values.forEach((v, i) => walk(v, `${path}.${i}`))
        break
      case Kind.OBJECT:
        for (const f of node.fields) walk(f.value, `${path}.${f.name.value}`)
        break
    }
  }
  visit(document, {
    Field: (field) => {
      for (const a of field.arguments ?? []) walk(a.value, `${field.name.value}.${a.name.value}`)
    },
    Directive: (d) => {
      for (const a of d.arguments ?? []) walk(a.value, `@${d.name.value}.${a.name.value}`)
    },
    VariableDefinition: (v) => {
      if (v.defaultValue) walk(v.defaultValue, v.variable.name.value)
    },
  })
  return out
}
