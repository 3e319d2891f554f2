/**
 * A field added to or dropped from an entity set mid-life, as happens when SAP's structure is
 * enhanced (an append structure) or a field is removed from a CDS view: the simulator's admin switch
 * for the extractor's schema check (docs/sap-protocols.md, docs/architecture.md#schema-changes).
 *
 * An added field holds its ABAP initial value in every row that existed before it (SAP fills a new
 * column with initial values); rows inserted or updated afterwards get a value of their own, so a
 * test can tell both apart. A dropped field is gone from the metadata and from every row.
 */
import type { SapRow } from '../types.js'
import type { EntityDef, FieldDef } from './fields.js'

/** The ABAP types a field added by the switch may have: enough for a text, an amount and a count. */
export type AddedFieldType = { abap: 'CHAR'; length: number } | { abap: 'DEC'; precision: number; scale: number } | { abap: 'INT4' }

export interface AddedField {
  name: string
  type: AddedFieldType
}

type Value = SapRow[string]

function fieldDefOf({ name, type }: AddedField): FieldDef {
  const base = { name, label: name, nullable: false, filterable: true }
  switch (type.abap) {
    case 'CHAR':
      return { ...base, edm: 'Edm.String', abap: 'CHAR', maxLength: type.length }
    case 'DEC':
      return { ...base, edm: 'Edm.Decimal', abap: 'DEC', precision: type.precision, scale: type.scale }
    case 'INT4':
      return { ...base, edm: 'Edm.Int32', abap: 'INT4' }
  }
}

/** The ABAP initial value: what rows that existed before the field was added hold. */
export function initialValue(type: AddedFieldType): Value {
  switch (type.abap) {
    case 'CHAR':
      return ''
    case 'DEC':
      return type.scale > 0 ? `0.${'0'.repeat(type.scale)}` : '0'
    case 'INT4':
      return 0
  }
}

/** The value a row written after the field was added holds: derived from `n` (the slot or the change's salt). */
function valueAfter(type: AddedFieldType, n: number): Value {
  switch (type.abap) {
    case 'CHAR':
      return `N${n}`.slice(0, type.length)
    case 'DEC': {
      const whole = String(n % 10 ** Math.max(1, type.precision - type.scale))
      return type.scale > 0 ? `${whole}.${'5'.padEnd(type.scale, '0')}` : whole
    }
    case 'INT4':
      return n % 2_000_000_000
  }
}

/** `def` with `field` appended to its business fields; slots from `fromSlot` on are rows inserted after the change. */
export function withField(def: EntityDef, field: AddedField, fromSlot: number): EntityDef {
  if (def.fields.some((f) => f.name === field.name)) throw new Error(`${def.name} already has a field ${field.name}`)
  const initial = initialValue(field.type)
  return {
    ...def,
    fields: [...def.fields, fieldDefOf(field)],
    generate: (seed, slot) => ({ ...def.generate(seed, slot), [field.name]: slot >= fromSlot ? valueAfter(field.type, slot) : initial }),
    mutate: (seed, row, salt) => ({ ...def.mutate(seed, row, salt), [field.name]: valueAfter(field.type, salt) }),
  }
}

/** `def` without the business field `name` (never a key field: SAP cannot drop one either). */
export function withoutField(def: EntityDef, name: string): EntityDef {
  if (!def.fields.some((f) => f.name === name)) throw new Error(`${def.name} has no field ${name}`)
  if (def.keyFields.includes(name)) throw new Error(`${name} is a key field of ${def.name}; a key field cannot be dropped`)
  const strip = (row: SapRow): SapRow => {
    const { [name]: _dropped, ...rest } = row
    return rest
  }
  return {
    ...def,
    fields: def.fields.filter((f) => f.name !== name),
    generate: (seed, slot) => strip(def.generate(seed, slot)),
    mutate: (seed, row, salt) => strip(def.mutate(seed, row, salt)),
  }
}
