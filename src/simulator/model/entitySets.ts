import type { EntityDef } from './fields.js'
import { materials } from './materials.js'
import { salesItems } from './salesItems.js'
import { typesTorture } from './typesTorture.js'

/** The delta-capable ODP entity sets of `ZDELTA_DEMO_SRV`, in service-document order. */
export const ENTITY_DEFS: readonly EntityDef[] = [salesItems, typesTorture, materials]

export function findEntity(name: string): EntityDef | undefined {
  return ENTITY_DEFS.find((d) => d.name === name)
}
