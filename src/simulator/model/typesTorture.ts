/**
 * `FactsOfZTYPES`: one property per EDM type with the values that break naive clients (docs/sap-protocols.md
 * A.5, golden scenario F.8): extremes of every integer type, Int64 beyond 2^53, max-precision and
 * negative decimals, dates before 1970 and at 9999-12-31, null dates, 24:00:00, fractional times,
 * DateTimeOffset with `+0060`-style offsets, 4-byte UTF-8, JSON-hostile characters.
 *
 * Rows with ID 1..5 are fixed edge cases; later rows are hashed from (seed, slot).
 */
import type { RowKey, SapRow } from '../types.js'
import { TYPES_SET } from '../types.js'
import { datsFromDay, formatScaled, timestampFromMs } from './abapValues.js'
import type { EntityDef, FieldDef } from './fields.js'
import { hash, pad, pick } from './prng.js'

const FIELDS: readonly FieldDef[] = [
  { name: 'ID', edm: 'Edm.Int32', abap: 'INT4', label: 'Row ID', key: true, nullable: false, aggregationRole: 'dimension' },
  { name: 'TXT', edm: 'Edm.String', abap: 'CHAR', label: 'Text UTF-8', nullable: false, maxLength: 60, aggregationRole: 'dimension' },
  { name: 'NUMC10', edm: 'Edm.String', abap: 'NUMC', label: 'NUMC 10', nullable: false, maxLength: 10, aggregationRole: 'dimension' },
  { name: 'INT1', edm: 'Edm.Byte', abap: 'INT1', label: 'INT1', nullable: false, aggregationRole: 'dimension' },
  { name: 'INT2', edm: 'Edm.Int16', abap: 'INT2', label: 'INT2', nullable: false, aggregationRole: 'dimension' },
  { name: 'INT4', edm: 'Edm.Int32', abap: 'INT4', label: 'INT4', nullable: true, aggregationRole: 'dimension' },
  { name: 'INT8', edm: 'Edm.Int64', abap: 'INT8', label: 'INT8', nullable: true, aggregationRole: 'dimension' },
  { name: 'FLTP', edm: 'Edm.Double', abap: 'FLTP', label: 'Float', nullable: true, filterable: false, aggregationRole: 'measure' },
  { name: 'FLAG', edm: 'Edm.Boolean', abap: 'BOOL', label: 'Flag', nullable: false, aggregationRole: 'dimension' },
  {
    name: 'RAW16',
    edm: 'Edm.Binary',
    abap: 'RAW',
    label: 'Raw 16',
    nullable: true,
    maxLength: 16,
    filterable: false,
    aggregationRole: 'dimension',
  },
  { name: 'GUID', edm: 'Edm.Guid', abap: 'GUID', label: 'GUID', nullable: false, aggregationRole: 'dimension' },
  { name: 'TSTMP', edm: 'Edm.DateTime', abap: 'TIMESTAMP', label: 'Timestamp', nullable: true, precision: 0, aggregationRole: 'dimension' },
  {
    name: 'DATS',
    edm: 'Edm.DateTime',
    abap: 'DATS',
    label: 'Date',
    nullable: true,
    precision: 7,
    displayFormat: 'Date',
    aggregationRole: 'dimension',
  },
  {
    name: 'TSTMPL',
    edm: 'Edm.DateTimeOffset',
    abap: 'TIMESTAMPL',
    label: 'Timestamp with Offset',
    nullable: true,
    precision: 0,
    aggregationRole: 'dimension',
  },
  { name: 'TIMS', edm: 'Edm.Time', abap: 'TIMS', label: 'Time (ms)', nullable: false, precision: 3, aggregationRole: 'dimension' },
  {
    name: 'DEC31',
    edm: 'Edm.Decimal',
    abap: 'DEC',
    label: 'Decimal 31,14',
    nullable: false,
    precision: 31,
    scale: 14,
    aggregationRole: 'dimension',
  },
  {
    name: 'DEC37',
    edm: 'Edm.Decimal',
    abap: 'DEC',
    label: 'Decimal 37,0',
    nullable: false,
    precision: 37,
    scale: 0,
    filterable: false,
    aggregationRole: 'measure',
  },
]

const TEXTS = [
  'Grüße aus Köln – ß ä ö ü',
  '日本語テキスト',
  'emoji 😀 and 🚀 (4-byte UTF-8)',
  'Ø Æ Å ø æ å',
  'quote " backslash \\ slash /',
  'tab\tand newline\nin text',
  'Ελληνικά κείμενο',
  'Кириллица',
  'עברית',
  'plain ascii',
] as const
const OFFSETS = [0, 60, -300, 330] as const

const FIRST_MS = Date.UTC(2000, 0, 1)
const SPAN_MS = Date.UTC(2030, 0, 1) - FIRST_MS

function digits(seed: number, slot: number, k: number, count: number): string {
  let s = ''
  for (let j = 0; s.length < count; j++) s += pad(hash(seed, slot, k * 64 + j) % 1_000_000_000, 9)
  return s.slice(0, count)
}

function guid(seed: number, slot: number, k: number): string {
  let hex = ''
  for (let j = 0; j < 4; j++)
    hex += hash(seed, slot, k * 16 + j)
      .toString(16)
      .padStart(8, '0')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

function raw16(seed: number, slot: number, k: number): string {
  const buf = Buffer.alloc(16)
  for (let j = 0; j < 4; j++) buf.writeUInt32BE(hash(seed, slot, k * 16 + j), j * 4)
  return buf.toString('base64')
}

function int64(seed: number, slot: number, k: number): string {
  const hi = BigInt(hash(seed, slot, k))
  const lo = BigInt(hash(seed, slot, k + 1))
  const shift = BigInt(pick(seed, slot, k + 2, 64))
  return BigInt.asIntN(64, ((hi << 32n) | lo) >> shift).toString()
}

function nullish(seed: number, slot: number, k: number): boolean {
  return pick(seed, slot, k, 7) === 0
}

function randomRow(seed: number, slot: number): SapRow {
  const intDigits = 1 + pick(seed, slot, 30, 17)
  const dec31 = digits(seed, slot, 31, intDigits).replace(/^0+(?=\d)/, '') + '.' + digits(seed, slot, 32, 14)
  const dec37 = digits(seed, slot, 33, 1 + pick(seed, slot, 34, 37)).replace(/^0+(?=\d)/, '')
  const sign = (k: number): string => (pick(seed, slot, k, 3) === 0 ? '-' : '')
  const msOfDay = pick(seed, slot, 35, 86_400_000)
  const fraction = pick(seed, slot, 36, 2) === 0 ? 0 : msOfDay % 1000
  const secs = Math.floor(msOfDay / 1000)
  const exp = pick(seed, slot, 37, 40) - 15
  return {
    ID: slot + 1,
    TXT: TEXTS[pick(seed, slot, 38, TEXTS.length)],
    NUMC10: pad(pick(seed, slot, 39, 100_000), 10),
    INT1: pick(seed, slot, 40, 256),
    INT2: pick(seed, slot, 41, 65_536) - 32_768,
    INT4: nullish(seed, slot, 42) ? null : hash(seed, slot, 43) | 0,
    INT8: nullish(seed, slot, 44) ? null : int64(seed, slot, 45),
    FLTP: nullish(seed, slot, 48) ? null : (hash(seed, slot, 49) / 2 ** 32 - 0.5) * 10 ** exp,
    FLAG: pick(seed, slot, 50, 2) === 0,
    RAW16: nullish(seed, slot, 51) ? null : raw16(seed, slot, 52),
    GUID: guid(seed, slot, 53),
    TSTMP: nullish(seed, slot, 54) ? null : timestampFromMs(FIRST_MS + (hash(seed, slot, 55) % (SPAN_MS / 1000)) * 1000),
    DATS: pick(seed, slot, 56, 6) === 0 ? '00000000' : datsFromDay(FIRST_MS / 86_400_000 + pick(seed, slot, 57, 10_000)),
    TSTMPL: nullish(seed, slot, 58) ? null : timestampFromMs(FIRST_MS + (hash(seed, slot, 59) % (SPAN_MS / 1000)) * 1000),
    TIMS: pad(Math.floor(secs / 3600), 2) + pad(Math.floor(secs / 60) % 60, 2) + pad(secs % 60, 2) + '.' + pad(fraction, 3),
    DEC31: sign(60) + dec31,
    DEC37: sign(61) + dec37,
  }
}

/** ID 1..5: fixed edge cases (maxima, minima, all nulls, beyond-2^53 integers). */
function edgeRow(seed: number, slot: number): SapRow | undefined {
  const base = (): SapRow => randomRow(seed, slot)
  switch (slot) {
    case 0:
      return {
        ...base(),
        TXT: '😀 Grüße 日本 ß',
        NUMC10: '9999999999',
        INT1: 255,
        INT2: 32_767,
        INT4: 2_147_483_647,
        INT8: '9223372036854775807',
        FLTP: 1.7976931348623157e308,
        FLAG: true,
        RAW16: Buffer.alloc(16, 0xff).toString('base64'),
        GUID: 'ffffffff-ffff-ffff-ffff-ffffffffffff',
        TSTMP: '99991231235959',
        DATS: '99991231',
        TSTMPL: '99991231235959',
        TIMS: '240000.000',
        DEC31: '99999999999999999.99999999999999',
        DEC37: '9'.repeat(37),
      }
    case 1:
      return {
        ...base(),
        TXT: '',
        NUMC10: '0000000000',
        INT1: 0,
        INT2: -32_768,
        INT4: -2_147_483_648,
        INT8: '-9223372036854775808',
        FLTP: -2.2250738585072014e-308,
        FLAG: false,
        RAW16: Buffer.alloc(16, 0).toString('base64'),
        GUID: '00000000-0000-0000-0000-000000000000',
        TSTMP: '19691231235959',
        DATS: '00010101',
        TSTMPL: '00010101000000',
        TIMS: '000000.000',
        DEC31: '-99999999999999999.99999999999999',
        DEC37: '-' + '9'.repeat(37),
      }
    case 2:
      return { ...base(), INT4: null, INT8: null, FLTP: null, RAW16: null, TSTMP: null, DATS: '00000000', TSTMPL: null }
    case 3:
      return { ...base(), INT8: '9007199254740993', FLTP: 0.30000000000000004, DEC31: '0.00000000000001', DEC37: '1', TIMS: '235959.999' }
    case 4:
      return { ...base(), INT8: '-9007199254740995', FLTP: -0.5, DEC31: '-0.50000000000000', DEC37: '-1', TIMS: '120000.001' }
    default:
      return undefined
  }
}

function generate(seed: number, slot: number): SapRow {
  return edgeRow(seed, slot) ?? randomRow(seed, slot)
}

function mutate(seed: number, row: SapRow, salt: number): SapRow {
  const id = Number(row.ID)
  const fresh = randomRow(seed ^ salt, id + 1_000_000)
  let dec31 = fresh.DEC31 as string
  if (dec31 === row.DEC31) dec31 = formatScaled(BigInt((dec31 as string).replace('.', '')) + 1n, 14)
  return { ...row, TXT: fresh.TXT, INT2: fresh.INT2, INT4: fresh.INT4, DEC31: dec31, FLAG: !row.FLAG, TIMS: fresh.TIMS }
}

function slotOfKey(key: RowKey): number | undefined {
  const id = key.ID
  if (typeof id !== 'string' || !/^\d+$/.test(id)) return undefined
  const n = Number(id)
  return n >= 1 && n <= 2_147_483_647 ? n - 1 : undefined
}

export const typesTorture: EntityDef = {
  name: TYPES_SET,
  fields: FIELDS,
  keyFields: ['ID'],
  defaultRows: 60,
  generate,
  mutate,
  slotOfKey,
  offsetMinutes: (row) => (Number(row.ID) <= 5 ? 0 : OFFSETS[Number(row.ID) % OFFSETS.length]),
}
