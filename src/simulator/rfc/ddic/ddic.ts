/**
 * The ABAP Dictionary facts the simulated modules need: DDIC data type, LENG, DECIMALS, key flag, text.
 * RFC_READ_TABLE sizes WA slots by LENG (docs/sap-protocols.md C.2 step 4), DDIF_FIELDINFO_GET reports the
 * DFIES view of the same facts, and the ODP modules derive OUTPUTLENG from them (B.4).
 */
import type { EntityDef, FieldDef } from '../../model/fields.js'
import type { RowKey, SapRow } from '../../types.js'

export type DdicType =
  | 'CLNT'
  | 'CHAR'
  | 'NUMC'
  | 'CUKY'
  | 'UNIT'
  | 'LANG'
  | 'DATS'
  | 'TIMS'
  | 'CURR'
  | 'QUAN'
  | 'DEC'
  | 'INT4'
  | 'FLTP'
  | 'RAW'
  | 'STRG'

/** Which ABAP range options an ODP field accepts in selections (B.1 SEL_EQUAL / SEL_BETWEEN / SEL_PATTERN). */
export interface SelectionCaps {
  equal?: boolean
  between?: boolean
  pattern?: boolean
}

export interface DdicField {
  name: string
  type: DdicType
  /** DDIC LENG: characters for C-like types, digits for P types, 10 for INT4, 16 for FLTP, bytes for RAW, 0 for STRG. */
  leng: number
  decimals?: number
  key?: boolean
  text: string
  /** Reference field (currency / unit) for CURR and QUAN. */
  ref?: string
  sel?: SelectionCaps
}

/** ABAP internal type letter (RFC_DB_FLD-TYPE, DFIES-INTTYPE); F float, X byte field, g string. */
export type IntType = 'C' | 'N' | 'D' | 'T' | 'P' | 'I' | 'F' | 'X' | 'g'

export function intType(f: DdicField): IntType {
  switch (f.type) {
    case 'NUMC':
      return 'N'
    case 'DATS':
      return 'D'
    case 'TIMS':
      return 'T'
    case 'CURR':
    case 'QUAN':
    case 'DEC':
      return 'P'
    case 'INT4':
      return 'I'
    case 'FLTP':
      return 'F'
    case 'RAW':
      return 'X'
    case 'STRG':
      return 'g'
    default:
      return 'C'
  }
}

/** Bytes in the work area on a Unicode system (DFIES-INTLEN): 2 per character, packed = digits/2 + 1. */
export function intLen(f: DdicField): number {
  switch (intType(f)) {
    case 'P':
      return Math.floor(f.leng / 2) + 1
    case 'I':
      return 4
    case 'F':
    case 'g': // a reference to the string
      return 8
    case 'X':
      return f.leng
    default:
      return f.leng * 2
  }
}

/**
 * DDIC output length (DFIES-OUTPUTLEN): dates 10, times 8, packed numbers with decimal point, sign and
 * thousands separators. Used only for DDIF_FIELDINFO_GET; RFC_READ_TABLE ignores it (C.2 step 4).
 */
export function ddicOutputLen(f: DdicField): number {
  switch (intType(f)) {
    case 'D':
      return 10
    case 'T':
      return 8
    case 'I':
      return 11
    case 'F':
      return 22
    case 'X':
      return f.leng * 2
    case 'P': {
      const dec = f.decimals ?? 0
      const intDigits = f.leng - dec
      return f.leng + (dec > 0 ? 1 : 0) + 1 + Math.floor(Math.max(intDigits - 1, 0) / 3)
    }
    default:
      return f.leng
  }
}

/** A generated table: rows are a pure function of (seed, slot) so millions of rows need no memory. */
export interface RowModel {
  name: string
  text: string
  fields: readonly DdicField[]
  /** Business key used by the admin API and the change log (without MANDT). */
  keyFields: readonly string[]
  defaultRows: number
  generate(seed: number, slot: number): SapRow
  /** New non-key values; the caller stamps the change date/time fields. */
  mutate(seed: number, row: SapRow, salt: number): SapRow
  slotOfKey(key: RowKey): number | undefined
  /** Stamps a created (`changed` false) or changed row with the system time 'YYYYMMDDhhmmss'. */
  stamp(row: SapRow, now: string, changed: boolean): SapRow
  /**
   * Slot range [lo, hi) that can hold rows whose first key field lies in [min, max] (inclusive, either
   * open). Slots are in key order, so this narrows key-range scans of huge tables.
   */
  slotRange?(min: string | undefined, max: string | undefined, slotCount: number): [number, number]
}

const EDM: Record<IntType, FieldDef['edm']> = {
  C: 'Edm.String',
  N: 'Edm.String',
  D: 'Edm.DateTime',
  T: 'Edm.Time',
  P: 'Edm.Decimal',
  I: 'Edm.Int32',
  F: 'Edm.Double',
  X: 'Edm.Binary',
  g: 'Edm.String',
}
const ABAP_KIND: Partial<Record<DdicType, FieldDef['abap']>> = {
  CLNT: 'CHAR',
  LANG: 'CHAR',
  DEC: 'DEC',
  CURR: 'CURR',
  QUAN: 'QUAN',
  STRG: 'CHAR',
}

/** The row model as an `EntityDef` for the shared `Table` store of src/simulator/data/table.ts. */
export function toEntityDef(model: RowModel, generate: (seed: number, slot: number) => SapRow, mutate: EntityDef['mutate']): EntityDef {
  const fields: FieldDef[] = model.fields.map((f) => ({
    name: f.name,
    edm: EDM[intType(f)],
    abap: ABAP_KIND[f.type] ?? (f.type as FieldDef['abap']),
    label: f.text,
    key: f.key,
    nullable: false,
    ...(intType(f) === 'P'
      ? { precision: f.leng, scale: f.decimals ?? 0 }
      : ['I', 'F', 'g'].includes(intType(f))
        ? {}
        : { maxLength: f.leng }),
  }))
  return {
    name: model.name,
    fields,
    keyFields: model.keyFields,
    defaultRows: model.defaultRows,
    generate,
    mutate,
    slotOfKey: model.slotOfKey,
  }
}

/** 'YYYYMMDDhhmmss' → its date and time parts. */
export function splitStamp(ts: string): { date: string; time: string } {
  return { date: ts.slice(0, 8), time: ts.slice(8, 14) }
}
