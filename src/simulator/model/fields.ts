import type { RowKey, SapRow } from '../types.js'

/** EDM types the simulator serves (OData v2). */
export type EdmType =
  | 'Edm.String'
  | 'Edm.Int16'
  | 'Edm.Int32'
  | 'Edm.Int64'
  | 'Edm.Byte'
  | 'Edm.Double'
  | 'Edm.Boolean'
  | 'Edm.Binary'
  | 'Edm.Guid'
  | 'Edm.DateTime'
  | 'Edm.DateTimeOffset'
  | 'Edm.Time'
  | 'Edm.Decimal'

/**
 * The ABAP type behind a property. It decides how a `SapRow` value looks (see the `SapRow` JSDoc) and how
 * `$filter` literals compare against it, independently of the EDM type on the wire.
 */
export type AbapKind =
  | 'CHAR'
  | 'NUMC'
  | 'CUKY'
  | 'UNIT'
  | 'INT1'
  | 'INT2'
  | 'INT4'
  | 'INT8'
  | 'FLTP'
  | 'BOOL'
  | 'RAW'
  | 'GUID'
  | 'DATS'
  | 'TIMS'
  | 'TIMESTAMP'
  | 'TIMESTAMPL'
  | 'DEC'
  | 'CURR'
  | 'QUAN'

export interface FieldDef {
  name: string
  edm: EdmType
  abap: AbapKind
  label: string
  key?: boolean
  nullable: boolean
  maxLength?: number
  precision?: number
  scale?: number
  /** Default true; measures and the ODQ fields are `sap:filterable="false"`. */
  filterable?: boolean
  unit?: string
  semantics?: string
  displayFormat?: 'Date'
  aggregationRole?: 'dimension' | 'measure'
}

/** The two ODQ technical fields every ODP entity type ends with (A.2): part of the OData key. */
export const ODQ_FIELDS: readonly FieldDef[] = [
  {
    name: 'ODQ_CHANGEMODE',
    edm: 'Edm.String',
    abap: 'CHAR',
    label: 'String',
    key: true,
    nullable: false,
    maxLength: 1,
    semantics: 'change-mode',
    filterable: false,
  },
  {
    name: 'ODQ_ENTITYCNTR',
    edm: 'Edm.Decimal',
    abap: 'DEC',
    label: 'Entity Counter',
    key: true,
    nullable: false,
    precision: 37,
    scale: 0,
    semantics: 'entity-counter',
    filterable: false,
  },
]

/**
 * One ODP entity set of the demo service. Rows of the base table are a pure function of (seed, slot) so
 * millions of rows need no memory; slots are in key order, so a scan by slot is a scan in key order.
 */
export interface EntityDef {
  name: string
  /** Business fields in metadata order (without the ODQ fields). */
  fields: readonly FieldDef[]
  /** Names of the business key fields, in key order. */
  keyFields: readonly string[]
  defaultRows: number
  /** Row content of a slot; slots ≥ the initial row count are the rows `insert` creates. */
  generate(seed: number, slot: number): SapRow
  /** A new image of `row` with changed non-key values; `salt` makes successive updates differ. */
  mutate(seed: number, row: SapRow, salt: number): SapRow
  /** Slot of a business key, or undefined when the key cannot exist in this set. */
  slotOfKey(key: RowKey): number | undefined
  /** Minutes of the `/Date(ms±mmmm)/` offset shown for an Edm.DateTimeOffset property (0 = `+0000`). */
  offsetMinutes?(row: SapRow, field: string): number
}

export function isFilterable(f: FieldDef): boolean {
  return f.filterable !== false
}

/** All properties of the OData entity type: business fields then the ODQ fields. */
export function allProperties(def: EntityDef): readonly FieldDef[] {
  return [...def.fields, ...ODQ_FIELDS]
}

export function keyOf(def: EntityDef, row: SapRow): RowKey {
  const key: RowKey = {}
  for (const k of def.keyFields) key[k] = String(row[k])
  return key
}
