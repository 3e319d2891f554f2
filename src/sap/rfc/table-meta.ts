/**
 * A table's fields for TABLE_RFC. `RFC_READ_TABLE` with `NO_DATA = 'X'` names every field with its
 * ABAP internal type, DDIC length and offset (docs/sap-protocols.md §C.1/§C.2) — but `RFC_DB_FLD` carries
 * neither the primary key nor the decimals of packed numbers, and both are needed: the key to page
 * and to join column groups, the decimals to type CURR/QUAN/DEC columns exactly. Those come from the
 * dictionary: `DDIF_FIELDINFO_GET` (RFC-enabled) or, where that is not allowed, `DD03L` read through
 * RFC_READ_TABLE itself.
 */
import { SourceError } from '../errors.js'
import type { SapLog } from '../log.js'
import type { RfcPool } from './pool.js'
import { readTableKind, type RfcField } from './values.js'
import { literal, optionLines } from './where.js'

export const READ_TABLE = 'RFC_READ_TABLE'

export interface TableMeta {
  table: string
  /** Every field, in table order. */
  fields: RfcField[]
  /** Primary key in table order; empty when the dictionary could not tell. */
  keys: string[]
}

interface DictField {
  key: boolean
  decimals: number
  length?: number
  datatype?: string
}

const num = (v: unknown): number => {
  const n = Number(String(v ?? '').trim() || '0')
  return Number.isFinite(n) ? n : 0
}
const str = (v: unknown): string => String(v ?? '').trim()

export interface DescribeOptions {
  signal?: AbortSignal
  timeout?: number
  log?: SapLog
  retries?: number
  backoffMs?: number
}

/** Fields and key of `table`; SOURCE_NOT_FOUND for an unknown table (TABLE_NOT_AVAILABLE). */
export async function describeTable(pool: RfcPool, table: string, opts: DescribeOptions = {}): Promise<TableMeta> {
  const name = table.trim().toUpperCase()
  if (!/^[A-Z0-9_/]{1,30}$/.test(name))
    throw new SourceError('SOURCE_BAD_REQUEST', `${JSON.stringify(table)} is not an SAP table name (up to 30 characters A-Z, 0-9, _ and /)`)
  const res = await pool.call(
    READ_TABLE,
    { QUERY_TABLE: name, NO_DATA: 'X', DELIMITER: '', FIELDS: [], OPTIONS: [] },
    {
      signal: opts.signal,
      timeout: opts.timeout,
      what: `fields of ${name}`,
      retries: opts.retries,
      backoffMs: opts.backoffMs,
      log: opts.log,
    },
  )
  const raw = Array.isArray(res['FIELDS']) ? (res['FIELDS'] as Record<string, unknown>[]) : []
  if (raw.length === 0) throw new SourceError('SOURCE_PROTOCOL', `${READ_TABLE} returned no FIELDS for ${name}`)
  const dict = await dictionary(pool, name, opts)
  const fields: RfcField[] = raw.map((f) => {
    const fieldName = str(f['FIELDNAME'])
    const d = dict?.get(fieldName)
    const internal = String(f['TYPE'] ?? '').trim()
    return {
      name: fieldName,
      kind: readTableKind(d?.datatype, internal),
      sourceType: d?.datatype || internal,
      length: num(f['LENGTH']),
      decimals: d?.decimals ?? 0,
      key: d?.key ?? false,
      label: str(f['FIELDTEXT']) || undefined,
    }
  })
  const keys = fields.filter((f) => f.key).map((f) => f.name)
  if (!dict)
    opts.log?.('warn', 'no dictionary information (DDIF_FIELDINFO_GET and DD03L unavailable): no primary key, packed numbers get scale 0', {
      table: name,
    })
  return { table: name, fields, keys }
}

/** Key flags and decimals per field, from DDIF_FIELDINFO_GET, else DD03L; undefined if neither works. */
async function dictionary(pool: RfcPool, table: string, opts: DescribeOptions): Promise<Map<string, DictField> | undefined> {
  try {
    const res = await pool.call(
      'DDIF_FIELDINFO_GET',
      { TABNAME: table },
      {
        signal: opts.signal,
        timeout: opts.timeout,
        what: `dictionary of ${table}`,
        retries: opts.retries,
        backoffMs: opts.backoffMs,
        log: opts.log,
      },
    )
    const rows = (res['DFIES_TAB'] ?? res['DFIES_WA']) as Record<string, unknown>[] | undefined
    if (Array.isArray(rows) && rows.length > 0) {
      return new Map(
        rows.map((r) => [
          str(r['FIELDNAME']),
          { key: str(r['KEYFLAG']) === 'X', decimals: num(r['DECIMALS']), length: num(r['LENG']), datatype: str(r['DATATYPE']) },
        ]),
      )
    }
  } catch (e) {
    if (opts.signal?.aborted) throw e
    opts.log?.('debug', 'DDIF_FIELDINFO_GET not usable, trying DD03L', { table, error: (e as Error).message })
  }
  try {
    return await dd03l(pool, table, opts)
  } catch (e) {
    if (opts.signal?.aborted) throw e
    opts.log?.('debug', 'DD03L not readable', { table, error: (e as Error).message })
    return undefined
  }
}

/** DD03L (active version) through RFC_READ_TABLE: FIELDNAME, KEYFLAG, DATATYPE, DECIMALS. */
async function dd03l(pool: RfcPool, table: string, opts: DescribeOptions): Promise<Map<string, DictField> | undefined> {
  const res = await pool.call(
    READ_TABLE,
    {
      QUERY_TABLE: 'DD03L',
      DELIMITER: '|',
      FIELDS: ['FIELDNAME', 'KEYFLAG', 'DATATYPE', 'DECIMALS'].map((f) => ({ FIELDNAME: f })),
      OPTIONS: optionLines(['TABNAME', '=', literal(table), 'AND', 'AS4LOCAL', '=', "'A'"]).map((TEXT) => ({ TEXT })),
    },
    {
      signal: opts.signal,
      timeout: opts.timeout,
      what: `DD03L for ${table}`,
      retries: opts.retries,
      backoffMs: opts.backoffMs,
      log: opts.log,
    },
  )
  const rows = Array.isArray(res['DATA']) ? (res['DATA'] as Record<string, unknown>[]) : []
  if (rows.length === 0) return undefined
  const out = new Map<string, DictField>()
  for (const r of rows) {
    const [fieldName, keyFlag, datatype, decimals] = String(r['WA'] ?? '')
      .split('|')
      .map((s) => s.trim())
    // DD03L also lists .INCLUDE rows; they carry no data type and are not fields of RFC_READ_TABLE.
    if (fieldName && datatype) out.set(fieldName, { key: keyFlag === 'X', decimals: num(decimals), datatype })
  }
  return out
}
