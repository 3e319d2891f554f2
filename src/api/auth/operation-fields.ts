import { Kind, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql'

/**
 * The root fields an operation selects, once per selection (an aliased field appears as often as
 * it runs), through fragment spreads and inline fragments. @skip and @include are ignored on
 * purpose: a field that might run is treated as one that will.
 */
export function rootFields(operation: OperationDefinitionNode, document: DocumentNode): string[] {
  const fragments = new Map<string, FragmentDefinitionNode>()
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d)
  const fields: string[] = []
  const seen = new Set<string>()
  const walk = (set: SelectionSetNode) => {
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) fields.push(s.name.value)
      else if (s.kind === Kind.INLINE_FRAGMENT) walk(s.selectionSet)
      else if (!seen.has(s.name.value)) {
        seen.add(s.name.value)
        const f = fragments.get(s.name.value)
        if (f) walk(f.selectionSet)
      }
    }
  }
  walk(operation.selectionSet)
  return fields
}
