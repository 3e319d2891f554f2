/**
 * `ZMAT_WIDE` (material per plant, 616 characters of DDIC LENG): wider than RFC_READ_TABLE's 512-character
 * WA, so reading all fields raises DATA_BUFFER_EXCEEDED and a client has to split the columns into
 * groups that each carry the full key (MANDT, MATNR, WERKS) and join them (docs/sap-protocols.md C.5).
 * Also `0MATERIAL_TEXT`, a small full-only ODP of the SAPI context.
 */
import { datsFromDay, formatScaled } from '../../model/abapValues.js'
import { pad, pick } from '../../model/prng.js'
import type { RowKey, SapRow } from '../../types.js'
import type { DdicField, RowModel } from './ddic.js'
import { splitStamp } from './ddic.js'

const PLANTS = ['1000', '1100', '2000'] as const

const WIDE_FIELDS: readonly DdicField[] = [
  { name: 'MANDT', type: 'CLNT', leng: 3, key: true, text: 'Client' },
  { name: 'MATNR', type: 'CHAR', leng: 18, key: true, text: 'Material Number' },
  { name: 'WERKS', type: 'CHAR', leng: 4, key: true, text: 'Plant' },
  { name: 'MAKTX', type: 'CHAR', leng: 40, text: 'Material description' },
  { name: 'GROES', type: 'CHAR', leng: 32, text: 'Size/dimensions' },
  { name: 'NORMT', type: 'CHAR', leng: 18, text: 'Industry Standard Description' },
  { name: 'ZEINR', type: 'CHAR', leng: 22, text: 'Document number' },
  { name: 'WRKST', type: 'CHAR', leng: 48, text: 'Basic material' },
  { name: 'BRGEW', type: 'QUAN', leng: 13, decimals: 3, text: 'Gross weight', ref: 'GEWEI' },
  { name: 'GEWEI', type: 'UNIT', leng: 3, text: 'Weight Unit' },
  { name: 'LAEDA', type: 'DATS', leng: 8, text: 'Date of Last Change' },
  { name: 'STPRS', type: 'CURR', leng: 11, decimals: 2, text: 'Standard price' },
  { name: 'TEXT1', type: 'CHAR', leng: 132, text: 'Purchasing note' },
  { name: 'TEXT2', type: 'CHAR', leng: 132, text: 'Inspection note' },
  { name: 'TEXT3', type: 'CHAR', leng: 132, text: 'Production note' },
]

const NAMES = ['Sechskantschraube', 'Unterlegscheibe', 'Kugellager 6204', 'Dichtungsring', '歯車モジュール', 'Flachstahl', 'Rohrschelle']
const MATERIALS = ['Stahl verzinkt', 'Edelstahl 1.4301', 'Messing', 'Aluminium', 'PTFE', 'Gusseisen']
const NOTES = [
  'Nur zertifizierte Lieferanten – Prüfzeugnis 3.1 erforderlich.',
  'Lagerung trocken, Temperatur 5–25 °C.',
  '検査証明書を添付してください。',
  'Contrôle visuel à la réception.',
  'Verpackungseinheit 100 Stück; Mindestbestellmenge 5 VE.',
  'Muster 😀 freigegeben',
  '',
]

function note(seed: number, slot: number, k: number): string {
  const a = NOTES[pick(seed, slot, k, NOTES.length)]
  const b = NOTES[pick(seed, slot, k + 1, NOTES.length)]
  return a === '' || b === '' ? a || b : `${a} ${b}`
}

function generate(client: string, seed: number, slot: number): SapRow {
  const m = Math.floor(slot / PLANTS.length) + 1
  let price = pick(seed, slot, 3, 10_000_000)
  if (pick(seed, slot, 4, 20) === 0) price = -price
  return {
    MANDT: client,
    MATNR: pad(m, 18),
    WERKS: PLANTS[slot % PLANTS.length],
    MAKTX: `${NAMES[pick(seed, m, 1, NAMES.length)]} ${m}`,
    GROES: `${1 + pick(seed, m, 5, 90)}x${1 + pick(seed, m, 6, 90)} mm`,
    NORMT: `DIN ${100 + pick(seed, m, 7, 900)}`,
    ZEINR: `DRW-${pad(m, 8)}`,
    WRKST: MATERIALS[pick(seed, m, 8, MATERIALS.length)],
    BRGEW: formatScaled(pick(seed, slot, 9, 9_000_000), 3),
    GEWEI: 'KG',
    LAEDA: pick(seed, slot, 10, 8) === 0 ? '00000000' : datsFromDay(Date.UTC(2018, 0, 1) / 86_400_000 + pick(seed, slot, 11, 2900)),
    STPRS: formatScaled(price, 2),
    TEXT1: note(seed, slot, 20),
    TEXT2: note(seed, slot, 22),
    TEXT3: note(seed, slot, 24),
  }
}

function slotOfKey(key: RowKey): number | undefined {
  const { MATNR: matnr, WERKS: werks } = key
  if (typeof matnr !== 'string' || !/^\d{18}$/.test(matnr) || Number(matnr) < 1) return undefined
  const w = PLANTS.indexOf(werks as (typeof PLANTS)[number])
  return w < 0 ? undefined : (Number(matnr) - 1) * PLANTS.length + w
}

function slotRange(min: string | undefined, max: string | undefined, slotCount: number): [number, number] {
  const lo = min !== undefined && /^\d{18}$/.test(min) ? Math.max(0, (Number(min) - 1) * PLANTS.length) : 0
  const hi = max !== undefined && /^\d{18}$/.test(max) ? Math.max(0, Number(max) * PLANTS.length) : slotCount
  return [Math.min(lo, slotCount), Math.min(hi, slotCount)]
}

export function wideTableModel(client: string): RowModel {
  return {
    name: 'ZMAT_WIDE',
    text: 'Material per plant (wide)',
    fields: WIDE_FIELDS,
    keyFields: ['MATNR', 'WERKS'],
    defaultRows: 300,
    generate: (seed, slot) => generate(client, seed, slot),
    mutate: (seed, row, salt) => ({
      ...row,
      STPRS: formatScaled(pick(seed ^ salt, Number(row.MATNR), 3, 10_000_000), 2),
      TEXT1: note(seed ^ salt, 1, 20),
    }),
    slotOfKey,
    stamp: (row, now) => ({ ...row, LAEDA: splitStamp(now).date }),
    slotRange,
  }
}

const LANGS = ['D', 'E', 'J'] as const
const TEXT_FIELDS: readonly DdicField[] = [
  { name: 'MATNR', type: 'CHAR', leng: 18, key: true, text: 'Material Number', sel: { equal: true, between: true, pattern: true } },
  { name: 'SPRAS', type: 'LANG', leng: 1, key: true, text: 'Language Key', sel: { equal: true } },
  { name: 'TXTMD', type: 'CHAR', leng: 40, text: 'Medium description' },
]
const LANG_NAMES: Record<(typeof LANGS)[number], readonly string[]> = {
  D: ['Schraube', 'Mutter', 'Scheibe', 'Größe XL Dichtung'],
  E: ['Screw', 'Nut', 'Washer', 'Gasket size XL'],
  J: ['ねじ', 'ナット', 'ワッシャー', 'ガスケット XL'],
}

/** `0MATERIAL_TEXT` (SAPI context): material texts per language, full extraction only. */
export function materialTextModel(): RowModel {
  return {
    name: '0MATERIAL_TEXT',
    text: 'Material text',
    fields: TEXT_FIELDS,
    keyFields: ['MATNR', 'SPRAS'],
    defaultRows: 90,
    generate: (seed, slot) => {
      const m = Math.floor(slot / LANGS.length) + 1
      const lang = LANGS[slot % LANGS.length]
      return { MATNR: pad(m, 18), SPRAS: lang, TXTMD: `${LANG_NAMES[lang][pick(seed, m, 1, 4)]} ${m}` }
    },
    mutate: (_seed, row, salt) => ({ ...row, TXTMD: `${LANG_NAMES[row.SPRAS as (typeof LANGS)[number]][salt % 4]} ${Number(row.MATNR)}*` }),
    slotOfKey: (key) => {
      const { MATNR: matnr, SPRAS: spras } = key
      const l = LANGS.indexOf(spras as (typeof LANGS)[number])
      if (typeof matnr !== 'string' || !/^\d{18}$/.test(matnr) || Number(matnr) < 1 || l < 0) return undefined
      return (Number(matnr) - 1) * LANGS.length + l
    },
    stamp: (row) => row,
  }
}
