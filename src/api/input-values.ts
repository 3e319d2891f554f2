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

/**
 * Read once per document: Yoga's parser cache hands the same document object for the same query
 * text, and a dashboard repeats a few queries; walking the document twice for each request (the
 * control-character check, then the values kept for scrubbing) was ~1.5 % of a request's CPU under
 * load (README Performance). Documents are never changed after parsing.
 */
const literalsByDocument = new WeakMap<DocumentNode, readonly InputValue[]>()

export function literalValues(document: DocumentNode): readonly InputValue[] {
  let values = literalsByDocument.get(document)
  if (!values) literalsByDocument.set(document, (values = Object.freeze(readLiterals(document))))
  return values
}

function readLiterals(document: DocumentNode): InputValue[] {
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
