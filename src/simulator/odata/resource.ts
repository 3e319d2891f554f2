/**
 * Resource paths below the service root: what a segment such as `DeltaLinksOfEntityOfX('D…')/ChangesAfter`
 * addresses. Unknown segments are 404 with SAP's "Resource not found for the segment" message.
 */
import type { EntityDef } from '../model/fields.js'
import { findEntity } from '../model/entitySets.js'
import { notFound } from './errors.js'

export type Resource =
  | { kind: 'serviceDocument' }
  | { kind: 'metadata' }
  | { kind: 'batch' }
  | { kind: 'entitySet'; def: EntityDef }
  | { kind: 'count'; def: EntityDef }
  | { kind: 'entity'; def: EntityDef }
  | { kind: 'deltaLinks'; def: EntityDef }
  | { kind: 'deltaLink'; def: EntityDef; token: string }
  | { kind: 'changesAfter'; def: EntityDef; token: string }
  | { kind: 'subscribedTo'; def: EntityDef }
  | { kind: 'terminate'; def: EntityDef }

/** `('D…')` or `(DeltaToken='D…')` → the token. */
function tokenKey(predicate: string): string | undefined {
  const m = /^\((?:DeltaToken=)?'((?:[^']|'')*)'\)$/.exec(predicate)
  return m ? m[1].replace(/''/g, "'") : undefined
}

function entityFor(name: string, segment: string): EntityDef {
  const def = findEntity(name)
  if (!def) throw notFound(segment)
  return def
}

/** `rest` is the path after the service root, without the leading slash (already percent-decoded per segment). */
export function parseResource(segments: string[]): Resource {
  const [first = '', second, ...more] = segments
  if (more.length > 0) throw notFound(more[0])
  if (first === '') return { kind: 'serviceDocument' }
  if (first === '$metadata' && second === undefined) return { kind: 'metadata' }
  if (first === '$batch' && second === undefined) return { kind: 'batch' }

  const m = /^([A-Za-z_][A-Za-z0-9_]*)(\(.*\))?$/.exec(first)
  if (!m) throw notFound(first)
  const [, name, predicate] = m

  if (name.startsWith('DeltaLinksOf')) {
    const def = entityFor(name.slice('DeltaLinksOf'.length), first)
    if (predicate === undefined) {
      if (second !== undefined) throw notFound(second)
      return { kind: 'deltaLinks', def }
    }
    const token = tokenKey(predicate)
    if (token === undefined) throw notFound(first)
    if (second === undefined) return { kind: 'deltaLink', def, token }
    if (second === 'ChangesAfter') return { kind: 'changesAfter', def, token }
    throw notFound(second)
  }
  if (name.startsWith('SubscribedTo') && predicate === undefined && second === undefined) {
    return { kind: 'subscribedTo', def: entityFor(name.slice('SubscribedTo'.length), first) }
  }
  if (name.startsWith('TerminateDeltasFor') && predicate === undefined && second === undefined) {
    return { kind: 'terminate', def: entityFor(name.slice('TerminateDeltasFor'.length), first) }
  }
  const def = entityFor(name, first)
  if (predicate !== undefined) {
    if (second !== undefined) throw notFound(second)
    return { kind: 'entity', def }
  }
  if (second === undefined) return { kind: 'entitySet', def }
  if (second === '$count') return { kind: 'count', def }
  throw notFound(second)
}
