/**
 * How the columns SAP sends now differ from those the last committed run wrote, and whether the
 * pipeline's schemaChanges policy lets the run go on (docs/architecture.md#schema-changes).
 *
 * Compatible changes follow Apache Iceberg's schema evolution rules, so the lake tables of issue 13
 * can take them as they are: a new column; a wider integer (int8/uint8 → int16 → int32 → int64); a
 * decimal with more precision and the same scale; a column that becomes nullable. Anything else is
 * incompatible: a removed column, another kind, a decimal with less precision or another scale, a
 * nullable column that becomes required, a column joining or leaving the key (a current-state table
 * merges by key). Column order is not compared: readers find columns by name.
 */
import type { SchemaChangePolicy } from '../../catalog/lake-output.js'
import type { TrackedColumn } from './describe.js'

export interface ColumnChange {
  name: string
  from: TrackedColumn
  to: TrackedColumn
  compatible: boolean
}

export interface SchemaDiff {
  added: TrackedColumn[]
  removed: TrackedColumn[]
  changed: ColumnChange[]
}

const WIDER_INTEGERS: Record<string, readonly string[]> = {
  int8: ['int16', 'int32', 'int64'],
  uint8: ['int16', 'int32', 'int64'],
  int16: ['int32', 'int64'],
  int32: ['int64'],
}

export function compareSchemas(before: readonly TrackedColumn[], now: readonly TrackedColumn[]): SchemaDiff {
  const old = new Map(before.map((c) => [c.name, c]))
  const current = new Map(now.map((c) => [c.name, c]))
  const changed: ColumnChange[] = []
  for (const to of now) {
    const from = old.get(to.name)
    if (from && describeType(from) !== describeType(to)) changed.push({ name: to.name, from, to, compatible: isCompatible(from, to) })
  }
  return {
    added: now.filter((c) => !old.has(c.name)),
    removed: before.filter((c) => !current.has(c.name)),
    changed,
  }
}

function isCompatible(from: TrackedColumn, to: TrackedColumn): boolean {
  if (from.key !== to.key) return false
  // Becoming nullable is fine; a nullable column that becomes required is not (old rows hold nulls).
  if (from.nullable && !to.nullable) return false
  if (from.kind === to.kind) {
    if (from.kind !== 'decimal') return true
    return from.scale === to.scale && (to.precision ?? 0) >= (from.precision ?? 0)
  }
  return WIDER_INTEGERS[from.kind]?.includes(to.kind) ?? false
}

/** A column's type as people read it in a message: `decimal(15,2)`, `string`, `int32 nullable key`. */
function describeType(c: TrackedColumn): string {
  const type = c.kind === 'decimal' ? `decimal(${c.precision},${c.scale})` : c.kind
  return [type, c.nullable ? 'nullable' : 'required', ...(c.key ? ['key'] : [])].join(' ')
}

export const isUnchanged = (d: SchemaDiff) => !d.added.length && !d.removed.length && !d.changed.length

/** The differences in one sentence, naming every field: for the run's error and its log. */
export function describeDiff(d: SchemaDiff): string {
  const parts = [
    ...d.added.map((c) => `added ${c.name} (${describeType(c)})`),
    ...d.removed.map((c) => `removed ${c.name} (was ${describeType(c)})`),
    ...d.changed.map(
      (c) => `${c.name} changed from ${describeType(c.from)} to ${describeType(c.to)}${c.compatible ? '' : ' (incompatible)'}`,
    ),
  ]
  return parts.join('; ')
}

/** What the policy makes of a difference: go on (noting it), or refuse with the reason. */
export type SchemaVerdict = { allowed: true } | { allowed: false; reason: string }

export const judge = (d: SchemaDiff, policy: SchemaChangePolicy): SchemaVerdict =>
  verdictOf({ changed: !isUnchanged(d), removed: d.removed.length > 0, incompatible: d.changed.some((c) => !c.compatible) }, policy)

/** What a difference holds, whoever found it (this comparison, or a lake table's schema for a FULL run). */
export interface SchemaChangeKinds {
  changed: boolean
  removed: boolean
  incompatible: boolean
}

/** The policy, once for every kind of run. */
export function verdictOf(d: SchemaChangeKinds, policy: SchemaChangePolicy): SchemaVerdict {
  if (!d.changed) return { allowed: true }
  if (policy === 'BLOCK') return { allowed: false, reason: 'the pipeline blocks every schema change (schemaChanges: BLOCK)' }
  if (d.removed) return { allowed: false, reason: 'a removed field is not an additive change' }
  if (d.incompatible) return { allowed: false, reason: 'an incompatible type change is not an additive change' }
  return { allowed: true }
}
