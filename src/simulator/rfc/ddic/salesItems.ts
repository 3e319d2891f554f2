/**
 * `ZSD_ITEMS`: sales-document items shaped like VBAP, for RFC_READ_TABLE, and (without MANDT) the
 * delta-capable ODP `ZSD_ITEMS_CDC`. Every value format of docs/sap-protocols.md C.3 occurs: NUMC keys with
 * leading zeros, CHAR keys stored with ALPHA zeros (KUNNR), non-ASCII and 4-byte UTF-8 texts, a text
 * containing '|' (DELIMITER has no escaping, C.1), DATS 00000000, TIMS 240000, negative CURR/QUAN/DEC,
 * CURR values too wide for their LENG slot ('*' overflow), INT4 extremes, and change date/time fields
 * for the watermark pattern of C.7 (AEDAT/AEZET, CHANGED_AT as DEC 15 'YYYYMMDDhhmmss').
 */
import { datsFromDay, formatScaled } from '../../model/abapValues.js'
import { hash, pad, pick } from '../../model/prng.js'
import type { RowKey, SapRow } from '../../types.js'
import type { DdicField, RowModel } from './ddic.js'
import { splitStamp } from './ddic.js'

const ITEMS_PER_DOC = 5

const FIELDS: readonly DdicField[] = [
  { name: 'VBELN', type: 'NUMC', leng: 10, key: true, text: 'Sales Document', sel: { equal: true, between: true } },
  { name: 'POSNR', type: 'NUMC', leng: 6, key: true, text: 'Sales Document Item', sel: { equal: true, between: true } },
  { name: 'MATNR', type: 'CHAR', leng: 18, text: 'Material Number', sel: { equal: true, between: true, pattern: true } },
  { name: 'ARKTX', type: 'CHAR', leng: 40, text: 'Short text for sales order item' },
  { name: 'KUNNR', type: 'CHAR', leng: 10, text: 'Sold-to party', sel: { equal: true, between: true, pattern: true } },
  { name: 'ERDAT', type: 'DATS', leng: 8, text: 'Date on which the record was created', sel: { equal: true, between: true } },
  { name: 'ERZET', type: 'TIMS', leng: 6, text: 'Entry time' },
  { name: 'NETWR', type: 'CURR', leng: 15, decimals: 2, text: 'Net value of the order item', ref: 'WAERK' },
  { name: 'NETPR', type: 'CURR', leng: 11, decimals: 2, text: 'Net price', ref: 'WAERK' },
  { name: 'WAERK', type: 'CUKY', leng: 5, text: 'SD Document Currency', sel: { equal: true } },
  { name: 'KWMENG', type: 'QUAN', leng: 13, decimals: 3, text: 'Cumulative order quantity', ref: 'VRKME' },
  { name: 'VRKME', type: 'UNIT', leng: 3, text: 'Sales unit' },
  { name: 'RABAT', type: 'DEC', leng: 5, decimals: 2, text: 'Discount in percent' },
  { name: 'ANZPK', type: 'INT4', leng: 10, text: 'Number of packages' },
  { name: 'AEDAT', type: 'DATS', leng: 8, text: 'Changed On' },
  { name: 'AEZET', type: 'TIMS', leng: 6, text: 'Time of last change' },
  { name: 'CHANGED_AT', type: 'DEC', leng: 15, decimals: 0, text: 'UTC time stamp of last change (YYYYMMDDhhmmss)' },
  { name: 'LTEXT', type: 'CHAR', leng: 132, text: 'Item note' },
]

const MANDT: DdicField = { name: 'MANDT', type: 'CLNT', leng: 3, key: true, text: 'Client' }

/** ≤ 40 UTF-16 units each: umlauts, CJK, 4-byte emoji, a pipe. */
const SHORT_TEXTS = [
  'Schraube M8 verzinkt',
  'Größe XL – Mütze',
  'Kühlschrank-Dichtung ö',
  'Straßenbesen Fuß 60 cm',
  'Café crème Filter é',
  '日本製 ボールベアリング',
  'Ø 12 mm Rohr Edelstahl',
  'Pièce détachée n° 7',
  'Plain steel bolt',
  'Adapter A|B 230V',
  'Hydraulic pump HT-1000',
  'Sticker 😀 Smiley',
  'Ölfilter für Motor',
  'Æble & Øl sæt',
  'Tapa de válvula',
  'Kabel 3×1,5 mm²',
] as const

const SENTENCES = [
  'Lieferung erfolgt in Teilmengen.',
  'Bitte Lieferschein beilegen – Kühlware!',
  '納期は来週の月曜日です。',
  '顧客の要望により梱包を変更しました。',
  'Rush order 🚀 handle with care 📦',
  'Größenänderung nach Rücksprache mit Einkäufer.',
  'Prix net, franco domicile, TVA non comprise.',
  'Ελληνικό κείμενο για δοκιμή.',
  'Кириллица тоже встречается.',
  'Standard delivery terms apply.',
  'ÄÖÜ äöü ß ÄÖÜ äöü ß ÄÖÜ äöü ß',
  '😀😀😀 emoji 😀😀😀',
  '本製品は高温多湿を避けて保管してください。開封後はお早めにご使用ください。',
  '配送先住所の変更は出荷前日までにご連絡ください。',
  '梱包仕様：パレット積み、ストレッチフィルム巻き、角当て使用、最大高さ一・五メートル、重量物は下段に配置し、納品書を外側に貼付すること。',
] as const
const CURRENCIES = ['EUR', 'EUR', 'EUR', 'USD', 'USD', 'CHF', 'GBP', 'JPY'] as const
const UNITS = ['ST', 'PC', 'KG', 'M', 'L', 'KAR'] as const

/** 2015-01-01 as a UTC day number; dates spread over ~11 years, all before the simulated clock's start. */
const FIRST_DAY = Date.UTC(2015, 0, 1) / 86_400_000
const DAY_SPAN = 4100

function time(seed: number, i: number, k: number): string {
  if (pick(seed, i, k, 40) === 0) return '240000' // ABAP's end of day (C.3)
  const s = pick(seed, i, k + 1, 86_400)
  return pad(Math.floor(s / 3600), 2) + pad(Math.floor(s / 60) % 60, 2) + pad(s % 60, 2)
}

/** A note of whole sentences (never cut inside a surrogate pair) up to 132 UTF-16 units; some empty. */
function note(seed: number, i: number, salt: number): string {
  const n = pick(seed, i, 40 + salt, 5)
  let text = ''
  for (let j = 0; j < n; j++) {
    const s = SENTENCES[pick(seed, i, 41 + salt * 7 + j, SENTENCES.length)]
    const next = text === '' ? s : `${text} ${s}`
    if (next.length > 132) break
    text = next
  }
  return text
}

function prices(seed: number, i: number, salt: number): Pick<SapRow, 'NETWR' | 'NETPR' | 'RABAT'> {
  let cents = pick(seed, i, 20 + salt, pick(seed, i, 19 + salt, 10) === 0 ? 4_000_000_000 : 10_000_000)
  if (pick(seed, i, 22 + salt, 15) === 0) cents = -cents // credit memos
  // a few unit prices ≥ 10^8 do not fit CURR 11,2's 11-character WA slot: RFC_READ_TABLE shows '*' (C.3)
  const big = pick(seed, i, 23 + salt, 25) === 0
  let price = big ? 10_000_000_000 + pick(seed, i, 24 + salt, 4_000_000_000) : pick(seed, i, 24 + salt, 500_000)
  if (pick(seed, i, 25 + salt, 15) === 0) price = -price
  // discounts are mostly 0…20 %; surcharges (negative) mostly below 10 %, which fits DEC 5,2's 5-character
  // WA slot as '9.99-', but a tenth of them reach -10 % or more and overflow to '*' (C.3, RSAP #19)
  const r = pick(seed, i, 26 + salt, 10)
  const rabat =
    r < 8 ? pick(seed, i, 33 + salt, 2_001) : r === 8 ? -1 - pick(seed, i, 33 + salt, 999) : -1_000 - pick(seed, i, 33 + salt, 8_999)
  return { NETWR: formatScaled(cents, 2), NETPR: formatScaled(price, 2), RABAT: formatScaled(rabat, 2) }
}

function anzpk(seed: number, slot: number): number {
  if (slot % 97 === 3) return 2_147_483_647
  if (slot % 97 === 5) return -2_147_483_648
  return pick(seed, slot, 27, 101_000) - 1_000
}

function generateBase(seed: number, slot: number): SapRow {
  const doc = Math.floor(slot / ITEMS_PER_DOC) + 1
  const item = (slot % ITEMS_PER_DOC) + 1
  const createdDay = FIRST_DAY + pick(seed, doc, 8, DAY_SPAN)
  const erzet = time(seed, slot, 11)
  const changed = pick(seed, slot, 30, 3) !== 0
  const changedDay = createdDay + pick(seed, slot, 31, FIRST_DAY + DAY_SPAN - createdDay + 1)
  const aezet = changed ? time(seed, slot, 32).replace('240000', '235959') : '000000'
  const milli = pick(seed, slot, 28, 5_000_000) + 1
  return {
    VBELN: pad(doc, 10),
    POSNR: pad(item * 10, 6),
    MATNR: pick(seed, slot, 1, 10) < 6 ? pad(100_000 + pick(seed, slot, 2, 900_000), 18) : `HT-${pick(seed, slot, 4, 10_000)}`,
    ARKTX: SHORT_TEXTS[pick(seed, slot, 5, SHORT_TEXTS.length)],
    KUNNR: pad(1000 + pick(seed, doc, 6, 50_000), 10),
    ERDAT: pick(seed, slot, 7, 50) === 0 ? '00000000' : datsFromDay(createdDay),
    ERZET: erzet,
    ...prices(seed, slot, 0),
    WAERK: CURRENCIES[pick(seed, doc, 9, CURRENCIES.length)],
    KWMENG: formatScaled(pick(seed, slot, 29, 20) === 0 ? -milli : milli, 3),
    VRKME: UNITS[pick(seed, slot, 10, UNITS.length)],
    ANZPK: anzpk(seed, slot),
    AEDAT: changed ? datsFromDay(changedDay) : '00000000',
    AEZET: aezet,
    CHANGED_AT: changed ? datsFromDay(changedDay) + aezet : datsFromDay(createdDay) + erzet.replace('240000', '235959'),
    LTEXT: note(seed, slot, 0),
  }
}

function slotOfKey(key: RowKey): number | undefined {
  const { VBELN: vbeln, POSNR: posnr } = key
  if (typeof vbeln !== 'string' || typeof posnr !== 'string' || !/^\d{10}$/.test(vbeln) || !/^\d{6}$/.test(posnr)) return undefined
  const doc = Number(vbeln)
  const item = Number(posnr) / 10
  if (doc < 1 || !Number.isInteger(item) || item < 1 || item > ITEMS_PER_DOC) return undefined
  return (doc - 1) * ITEMS_PER_DOC + item - 1
}

/** Slots of documents in [min, max] (VBELN is the first key field and grows with the slot). */
function slotRange(min: string | undefined, max: string | undefined, slotCount: number): [number, number] {
  const lo = min !== undefined && /^\d+$/.test(min) ? Math.max(0, (Math.ceil(Number(min)) - 1) * ITEMS_PER_DOC) : 0
  const hi = max !== undefined && /^\d+$/.test(max) ? Math.max(0, Math.floor(Number(max)) * ITEMS_PER_DOC) : slotCount
  return [Math.min(lo, slotCount), Math.min(hi, slotCount)]
}

function mutate(seed: number, row: SapRow, salt: number): SapRow {
  const i = Number(row.VBELN) * 1000 + Number(row.POSNR) / 10
  const next = prices(seed ^ salt, i, 1)
  if (next.NETWR === row.NETWR) next.NETWR = formatScaled(BigInt((next.NETWR as string).replace('.', '')) + 1n, 2)
  const changeText = hash(seed, i, salt) % 3 === 0
  return { ...row, ...next, ...(changeText ? { ARKTX: SHORT_TEXTS[(i + salt) % SHORT_TEXTS.length], LTEXT: note(seed ^ salt, i, 1) } : {}) }
}

function stamp(row: SapRow, now: string, changed: boolean): SapRow {
  const { date, time: t } = splitStamp(now)
  return changed
    ? { ...row, AEDAT: date, AEZET: t, CHANGED_AT: now }
    : { ...row, ERDAT: date, ERZET: t, AEDAT: '00000000', AEZET: '000000', CHANGED_AT: now }
}

/**
 * The sales-item model. `client` set: the RFC_READ_TABLE table with MANDT first (as every client-dependent
 * table); unset: the ODP's view of it (ODPs expose no client field).
 */
export function salesItemsModel(name: string, client?: string): RowModel {
  const withClient = client !== undefined
  return {
    name,
    text: 'Sales Document: Item Data',
    fields: withClient ? [MANDT, ...FIELDS] : FIELDS,
    keyFields: ['VBELN', 'POSNR'],
    defaultRows: withClient ? 2500 : 1000,
    generate: withClient ? (seed, slot) => ({ MANDT: client, ...generateBase(seed, slot) }) : generateBase,
    mutate,
    slotOfKey,
    stamp,
    slotRange,
  }
}
