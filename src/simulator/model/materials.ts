/**
 * `AttrOfZMATERIAL`: master-data attributes of materials, shaped like MARA/MAKT (docs/sap-protocols.md A.2:
 * `AttrOf<ODP>` sets carry attributes keyed by the characteristic, with the same ODQ fields as
 * every delta-capable set). MATNR is CHAR 18 holding digits with leading zeros (the ALPHA conversion
 * exit), so a client that treats it as a number loses them; last-changed dates may be initial.
 */
import type { RowKey, SapRow } from '../types.js'
import { MATERIALS } from '../types.js'
import { datsFromDay, formatScaled } from './abapValues.js'
import type { EntityDef, FieldDef } from './fields.js'
import { hash, pad, pick } from './prng.js'

const FIELDS: readonly FieldDef[] = [
  {
    name: 'MATNR',
    edm: 'Edm.String',
    abap: 'CHAR',
    label: 'Material',
    key: true,
    nullable: false,
    maxLength: 18,
    aggregationRole: 'dimension',
  },
  { name: 'MTART', edm: 'Edm.String', abap: 'CHAR', label: 'Material Type', nullable: false, maxLength: 4, aggregationRole: 'dimension' },
  { name: 'MATKL', edm: 'Edm.String', abap: 'CHAR', label: 'Material Group', nullable: false, maxLength: 9, aggregationRole: 'dimension' },
  {
    name: 'MAKTX',
    edm: 'Edm.String',
    abap: 'CHAR',
    label: 'Material Description',
    nullable: false,
    maxLength: 40,
    aggregationRole: 'dimension',
  },
  {
    name: 'MEINS',
    edm: 'Edm.String',
    abap: 'UNIT',
    label: 'Base Unit',
    nullable: false,
    maxLength: 3,
    semantics: 'unit-of-measure',
    aggregationRole: 'dimension',
  },
  {
    name: 'BRGEW',
    edm: 'Edm.Decimal',
    abap: 'QUAN',
    label: 'Gross Weight',
    nullable: false,
    precision: 13,
    scale: 3,
    unit: 'GEWEI',
    filterable: false,
    aggregationRole: 'dimension',
  },
  {
    name: 'GEWEI',
    edm: 'Edm.String',
    abap: 'UNIT',
    label: 'Weight Unit',
    nullable: false,
    maxLength: 3,
    semantics: 'unit-of-measure',
    aggregationRole: 'dimension',
  },
  {
    name: 'ERSDA',
    edm: 'Edm.DateTime',
    abap: 'DATS',
    label: 'Created On',
    nullable: true,
    precision: 7,
    displayFormat: 'Date',
    aggregationRole: 'dimension',
  },
  {
    name: 'LAEDA',
    edm: 'Edm.DateTime',
    abap: 'DATS',
    label: 'Last Change',
    nullable: true,
    precision: 7,
    displayFormat: 'Date',
    aggregationRole: 'dimension',
  },
]

const TYPES = ['FERT', 'HALB', 'ROH', 'HAWA', 'ERSA'] as const
const UNITS = ['ST', 'KG', 'M', 'L', 'PAK'] as const
const WEIGHT_UNITS = ['KG', 'G', 'LB'] as const
const TEXTS = [
  'Dichtungsring Ø 40',
  'Schmieröl 5 l Kanister',
  'Lagerbuchse für Welle',
  'Acier inoxydable tôle',
  'ボルト M10',
  'Plain washer 8 mm',
  'Kühlmittel Konzentrat',
  'Bürste, weich',
] as const
/** The material master starts numbering here: keys are 18 digits, mostly zeros. */
const FIRST_NUMBER = 10_000_000
const FIRST_DAY = Date.UTC(2012, 0, 1) / 86_400_000

function generate(seed: number, slot: number): SapRow {
  const created = pick(seed, slot, 7, 4500)
  return {
    MATNR: pad(FIRST_NUMBER + slot, 18),
    MTART: TYPES[pick(seed, slot, 1, TYPES.length)],
    MATKL: pad(pick(seed, slot, 2, 1000), 3) + 'A' + pick(seed, slot, 3, 10),
    MAKTX: TEXTS[pick(seed, slot, 4, TEXTS.length)],
    MEINS: UNITS[pick(seed, slot, 5, UNITS.length)],
    BRGEW: formatScaled(pick(seed, slot, 6, 250_000_000), 3),
    GEWEI: WEIGHT_UNITS[pick(seed, slot, 8, WEIGHT_UNITS.length)],
    ERSDA: datsFromDay(FIRST_DAY + created),
    // never changed since creation: an initial date, which a lake must show as null
    LAEDA: pick(seed, slot, 9, 4) === 0 ? '00000000' : datsFromDay(FIRST_DAY + created + pick(seed, slot, 10, 300)),
  }
}

function mutate(seed: number, row: SapRow, salt: number): SapRow {
  const i = Number(row.MATNR)
  const grams = BigInt(String(row.BRGEW).replace('.', '')) + 1n + BigInt(hash(seed, i, salt) % 5000)
  return {
    ...row,
    BRGEW: formatScaled(grams, 3),
    MAKTX: TEXTS[(TEXTS.indexOf(row.MAKTX as (typeof TEXTS)[number]) + 1 + (salt % 3)) % TEXTS.length],
  }
}

function slotOfKey(key: RowKey): number | undefined {
  const matnr = key.MATNR
  if (typeof matnr !== 'string' || !/^\d{18}$/.test(matnr)) return undefined
  const slot = Number(matnr) - FIRST_NUMBER
  return slot >= 0 && Number.isSafeInteger(slot) ? slot : undefined
}

export const materials: EntityDef = {
  name: MATERIALS,
  fields: FIELDS,
  keyFields: ['MATNR'],
  defaultRows: 200,
  generate,
  mutate,
  slotOfKey,
}
