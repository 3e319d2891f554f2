/**
 * `ZQM_RESULTS`: inspection results per lot and characteristic, shaped like QAMR/QASE, for the field
 * types RFC_READ_TABLE handles badly (docs/sap-protocols.md C.3): a float (FLTP, written in exponent form into
 * a 16-character slot), a byte field (RAW 16, a GUID, written as hex cut to its slot), and a STRING note
 * (type g, which makes the module dump).
 */
import { datsFromDay } from '../../model/abapValues.js'
import { hash, pad, pick } from '../../model/prng.js'
import type { RowKey, SapRow } from '../../types.js'
import type { DdicField, RowModel } from './ddic.js'
import { splitStamp } from './ddic.js'

const CHARACTERISTICS = 4

const FIELDS: readonly DdicField[] = [
  { name: 'MANDT', type: 'CLNT', leng: 3, key: true, text: 'Client' },
  { name: 'PRUEFLOS', type: 'NUMC', leng: 12, key: true, text: 'Inspection Lot Number' },
  { name: 'MERKNR', type: 'NUMC', leng: 4, key: true, text: 'Inspection Characteristic Number' },
  { name: 'MBEWERTG', type: 'CHAR', leng: 1, text: 'Valuation of the Inspection Results' },
  { name: 'MITTELWERT', type: 'FLTP', leng: 16, text: 'Mean Value' },
  { name: 'PRUEFDATUM', type: 'DATS', leng: 8, text: 'Date of Inspection' },
  { name: 'RES_GUID', type: 'RAW', leng: 16, text: 'Result GUID' },
  { name: 'PRUEFBEM', type: 'STRG', leng: 0, text: 'Inspection Remark' },
]

const REMARKS = ['', 'Messung wiederholt – Gerät kalibriert.', 'Within tolerance.', '測定値は許容範囲内です。', 'Probe beschädigt 😀']

/**
 * Means of very different magnitudes and signs, mostly with at most 10 significant digits (what the
 * 16-character slot keeps), some with more (which RFC_READ_TABLE rounds), and zero.
 */
function mean(seed: number, slot: number, salt: number): number {
  const digits = pick(seed, slot, 50 + salt, 2_000_000_000) - 1_000_000_000
  const scale = 10 ** (pick(seed, slot, 51 + salt, 31) - 15)
  switch (pick(seed, slot, 52 + salt, 8)) {
    case 0:
      return 0
    case 1:
      return digits / 7 // full double precision
    default:
      return Number((digits * scale).toPrecision(10))
  }
}

function guid(seed: number, slot: number, salt: number): string {
  const bytes = Buffer.alloc(16)
  for (let i = 0; i < 4; i++) bytes.writeUInt32BE(hash(seed, slot, 60 + salt * 4 + i) >>> 0, i * 4)
  return bytes.toString('base64')
}

function generate(client: string, seed: number, slot: number): SapRow {
  return {
    MANDT: client,
    PRUEFLOS: pad(Math.floor(slot / CHARACTERISTICS) + 1, 12),
    MERKNR: pad(((slot % CHARACTERISTICS) + 1) * 10, 4),
    MBEWERTG: pick(seed, slot, 53, 6) === 0 ? 'R' : 'A',
    MITTELWERT: mean(seed, slot, 0),
    PRUEFDATUM: datsFromDay(Date.UTC(2024, 0, 1) / 86_400_000 + pick(seed, slot, 54, 800)),
    RES_GUID: guid(seed, slot, 0),
    PRUEFBEM: REMARKS[pick(seed, slot, 55, REMARKS.length)],
  }
}

function slotOfKey(key: RowKey): number | undefined {
  const { PRUEFLOS: lot, MERKNR: merknr } = key
  if (typeof lot !== 'string' || typeof merknr !== 'string' || !/^\d{12}$/.test(lot) || !/^\d{4}$/.test(merknr) || Number(lot) < 1)
    return undefined
  const c = Number(merknr) / 10
  return Number.isInteger(c) && c >= 1 && c <= CHARACTERISTICS ? (Number(lot) - 1) * CHARACTERISTICS + c - 1 : undefined
}

export function qmResultsModel(client: string): RowModel {
  return {
    name: 'ZQM_RESULTS',
    text: 'Inspection results (float, raw and string fields)',
    fields: FIELDS,
    keyFields: ['PRUEFLOS', 'MERKNR'],
    defaultRows: 200,
    generate: (seed, slot) => generate(client, seed, slot),
    mutate: (seed, row, salt) => ({
      ...row,
      MITTELWERT: mean(seed ^ salt, Number(row.PRUEFLOS), 1),
      RES_GUID: guid(seed ^ salt, Number(row.PRUEFLOS), 1),
    }),
    slotOfKey,
    stamp: (row, now) => ({ ...row, PRUEFDATUM: splitStamp(now).date }),
  }
}
