/**
 * `EntityOfZSALES_ITEMS`: sales document items shaped like VBAP/VBAK (NUMC keys with leading zeros,
 * texts with non-ASCII characters, amounts with currency, quantities with unit, initial dates, 24:00:00).
 */
import type { RowKey, SapRow } from '../types.js'
import { SALES_ITEMS } from '../types.js'
import { datsFromDay, formatScaled } from './abapValues.js'
import type { EntityDef, FieldDef } from './fields.js'
import { hash, pad, pick } from './prng.js'

/** Items per sales document: slot → (document, item) is arithmetic, so any slot is generated directly. */
const ITEMS_PER_DOC = 5

const FIELDS: readonly FieldDef[] = [
  {
    name: 'VBELN',
    edm: 'Edm.String',
    abap: 'NUMC',
    label: 'Sales Document',
    key: true,
    nullable: false,
    maxLength: 10,
    aggregationRole: 'dimension',
  },
  { name: 'POSNR', edm: 'Edm.String', abap: 'NUMC', label: 'Item', key: true, nullable: false, maxLength: 6, aggregationRole: 'dimension' },
  { name: 'MATNR', edm: 'Edm.String', abap: 'CHAR', label: 'Material', nullable: false, maxLength: 18, aggregationRole: 'dimension' },
  { name: 'ARKTX', edm: 'Edm.String', abap: 'CHAR', label: 'Description', nullable: false, maxLength: 40, aggregationRole: 'dimension' },
  { name: 'KUNNR', edm: 'Edm.String', abap: 'NUMC', label: 'Sold-to Party', nullable: false, maxLength: 10, aggregationRole: 'dimension' },
  {
    name: 'ERDAT',
    edm: 'Edm.DateTime',
    abap: 'DATS',
    label: 'Created On',
    nullable: true,
    precision: 7,
    displayFormat: 'Date',
    aggregationRole: 'dimension',
  },
  { name: 'ERZET', edm: 'Edm.Time', abap: 'TIMS', label: 'Time', nullable: false, precision: 0, aggregationRole: 'dimension' },
  {
    name: 'NETWR',
    edm: 'Edm.Decimal',
    abap: 'CURR',
    label: 'Net Value',
    nullable: false,
    precision: 15,
    scale: 2,
    unit: 'WAERK',
    filterable: false,
    aggregationRole: 'measure',
  },
  {
    name: 'WAERK',
    edm: 'Edm.String',
    abap: 'CUKY',
    label: 'Currency',
    nullable: false,
    maxLength: 5,
    semantics: 'currency-code',
    aggregationRole: 'dimension',
  },
  {
    name: 'KWMENG',
    edm: 'Edm.Decimal',
    abap: 'QUAN',
    label: 'Order Quantity',
    nullable: false,
    precision: 13,
    scale: 3,
    unit: 'VRKME',
    filterable: false,
    aggregationRole: 'measure',
  },
  {
    name: 'VRKME',
    edm: 'Edm.String',
    abap: 'UNIT',
    label: 'Sales Unit',
    nullable: false,
    maxLength: 3,
    semantics: 'unit-of-measure',
    aggregationRole: 'dimension',
  },
]

/** A fixed mix of texts: umlauts, ß, accents, CJK, Ø, and JSON-hostile quote and backslash. */
const TEXTS = [
  'Schraube M8 verzinkt',
  'Größe XL – Mütze',
  'Kühlschrank-Dichtung ö',
  'Straßenbesen Fuß 60 cm',
  'Café crème Filter é',
  '日本製 ボールベアリング',
  'Ø 12 mm Rohr Edelstahl',
  'Pièce détachée n° 7',
  'Plain steel bolt',
  'Widget "Pro" 5\\8 inch',
  'Hydraulic pump HT-1000',
  'Notebook 15 Zoll',
  'Ölfilter für Motor',
  'Æble & Øl sæt',
  'Tapa de válvula',
  'Kabel 3×1,5 mm²',
] as const
const MATERIAL_PREFIXES = ['HT', 'TG', 'RM', 'FG', 'PC'] as const
const CURRENCIES = ['EUR', 'EUR', 'EUR', 'USD', 'USD', 'CHF', 'GBP', 'JPY'] as const
const UNITS = ['ST', 'PC', 'KG', 'M', 'L', 'KAR'] as const

/** 2015-01-01 as a UTC day number; created-on dates spread over the following ~11.5 years. */
const FIRST_DAY = Date.UTC(2015, 0, 1) / 86_400_000
const DAY_SPAN = 4200
const dateCache: string[] = []
function dats(dayOffset: number): string {
  return (dateCache[dayOffset] ??= datsFromDay(FIRST_DAY + dayOffset))
}

function time(seed: number, i: number): string {
  if (pick(seed, i, 11, 40) === 0) return '240000' // SAP's end-of-day, see docs/sap-protocols.md E
  const s = pick(seed, i, 12, 86_400)
  return pad(Math.floor(s / 3600), 2) + pad(Math.floor(s / 60) % 60, 2) + pad(s % 60, 2)
}

function amounts(seed: number, i: number, salt: number): { NETWR: string; KWMENG: string } {
  const big = pick(seed, i, 20 + salt, 10) === 0 // a few large orders
  let cents = pick(seed, i, 21 + salt, big ? 4_000_000_000 : 10_000_000)
  if (pick(seed, i, 22 + salt, 15) === 0) cents = -cents // credit memos
  const milli = pick(seed, i, 23 + salt, 5_000_000) + 1
  return { NETWR: formatScaled(cents, 2), KWMENG: formatScaled(milli, 3) }
}

function generate(seed: number, slot: number): SapRow {
  const doc = Math.floor(slot / ITEMS_PER_DOC) + 1
  const item = (slot % ITEMS_PER_DOC) + 1
  const numericMaterial = pick(seed, slot, 1, 10) < 6
  const { NETWR, KWMENG } = amounts(seed, slot, 0)
  return {
    VBELN: pad(doc, 10),
    POSNR: pad(item * 10, 6),
    MATNR: numericMaterial
      ? pad(100_000 + pick(seed, slot, 2, 900_000), 18)
      : MATERIAL_PREFIXES[pick(seed, slot, 3, MATERIAL_PREFIXES.length)] + '-' + pick(seed, slot, 4, 10_000),
    ARKTX: TEXTS[pick(seed, slot, 5, TEXTS.length)],
    // customer and date belong to the document header: equal for all items of one document
    KUNNR: pad(1000 + pick(seed, doc, 6, 50_000), 10),
    ERDAT: pick(seed, slot, 7, 50) === 0 ? '00000000' : dats(pick(seed, doc, 8, DAY_SPAN)),
    ERZET: time(seed, slot),
    NETWR,
    WAERK: CURRENCIES[pick(seed, doc, 9, CURRENCIES.length)],
    KWMENG,
    VRKME: UNITS[pick(seed, slot, 10, UNITS.length)],
  }
}

function keyNumber(row: SapRow): number {
  return Number(row.VBELN) * 1000 + Number(row.POSNR) / 10
}

function mutate(seed: number, row: SapRow, salt: number): SapRow {
  const i = keyNumber(row)
  const next = amounts(seed ^ salt, i, 1)
  if (next.NETWR === row.NETWR) next.NETWR = formatScaled(BigInt(next.NETWR.replace('.', '')) + 1n, 2)
  const changeText = hash(seed, i, salt) % 3 === 0
  return {
    ...row,
    ...next,
    ARKTX: changeText ? TEXTS[(TEXTS.indexOf(row.ARKTX as (typeof TEXTS)[number]) + 1 + (salt % 5)) % TEXTS.length] : row.ARKTX,
  }
}

function slotOfKey(key: RowKey): number | undefined {
  const vbeln = key.VBELN
  const posnr = key.POSNR
  if (typeof vbeln !== 'string' || typeof posnr !== 'string') return undefined
  if (!/^\d{10}$/.test(vbeln) || !/^\d{6}$/.test(posnr)) return undefined
  const doc = Number(vbeln)
  const item = Number(posnr) / 10
  if (doc < 1 || !Number.isInteger(item) || item < 1 || item > ITEMS_PER_DOC) return undefined
  return (doc - 1) * ITEMS_PER_DOC + item - 1
}

export const salesItems: EntityDef = {
  name: SALES_ITEMS,
  fields: FIELDS,
  keyFields: ['VBELN', 'POSNR'],
  defaultRows: 2500,
  generate,
  mutate,
  slotOfKey,
}
