/**
 * RFC_READ_TABLE, following the classic ABAP body step by step (docs/sap-protocols.md C.2), plus its wider
 * siblings (/BODS/ and /SAPDS/RFC_READ_TABLE with TAB2048 lines, BBP_RFC_READ_TABLE, C.5) and, behind the
 * `s4ReadTable` variant, the S/4HANA-era parameters GET_SORTED, USE_ET_DATA_4_RETURN and ET_DATA (C.1).
 */
import type { SapRow } from '../../types.js'
import type { DdicField } from '../ddic/ddic.js'
import { intType } from '../ddic/ddic.js'
import { abapException, dump } from '../errors.js'
import type { FunctionInterface } from '../iface.js'
import { CHAR, INT, NUMC, STRING, TABLE } from '../iface.js'
import type { CallContext, FunctionModule } from '../runtime.js'
import { hash } from '../../model/prng.js'
import { waValue } from './wa.js'
import { parseOptions, WhereSyntaxError } from './where.js'
import { compileWhere } from './whereCompile.js'

/** DDIC structures: RFC_READ_TABLE knows them but they hold no data (C.2 step 2, TABLE_WITHOUT_DATA). */
export const STRUCTURES = new Set(['BAPIRET2', 'RFC_DB_OPT', 'RFC_DB_FLD', 'TAB512'])

/** Extra read-table modules the `readTableModule` variant can install, with their DATA line length. */
export const READ_TABLE_SIBLINGS: Record<string, number> = {
  '/BODS/RFC_READ_TABLE': 2048,
  '/SAPDS/RFC_READ_TABLE': 2048,
  BBP_RFC_READ_TABLE: 512,
}

const FIELDS_ROW = { FIELDNAME: CHAR(30), OFFSET: NUMC(6), LENGTH: NUMC(6), TYPE: CHAR(1), FIELDTEXT: CHAR(60) }

function iface(name: string, lineLength: number, s4: boolean): FunctionInterface {
  return {
    name,
    params: [
      { name: 'QUERY_TABLE', dir: 'IMPORT', type: CHAR(30) },
      { name: 'DELIMITER', dir: 'IMPORT', type: CHAR(1) },
      { name: 'NO_DATA', dir: 'IMPORT', type: CHAR(1) },
      { name: 'ROWSKIPS', dir: 'IMPORT', type: INT },
      { name: 'ROWCOUNT', dir: 'IMPORT', type: INT },
      ...(s4
        ? ([
            { name: 'GET_SORTED', dir: 'IMPORT', type: CHAR(1) },
            { name: 'USE_ET_DATA_4_RETURN', dir: 'IMPORT', type: CHAR(1) },
            { name: 'ET_DATA', dir: 'EXPORT', type: TABLE({ LINE: STRING }) },
          ] as const)
        : []),
      { name: 'OPTIONS', dir: 'TABLES', type: TABLE({ TEXT: CHAR(72) }) },
      { name: 'FIELDS', dir: 'TABLES', type: TABLE(FIELDS_ROW) },
      { name: 'DATA', dir: 'TABLES', type: TABLE({ WA: CHAR(lineLength) }) },
    ],
  }
}

interface Slot {
  field: DdicField
}

function yieldTick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

async function readTable(
  ctx: CallContext,
  input: Record<string, unknown>,
  lineLength: number,
  s4: boolean,
): Promise<Record<string, unknown>> {
  const { state } = ctx
  const tableName = input.QUERY_TABLE as string
  const ds = state.tables.get(tableName)
  // 1. VIEW_AUTHORITY_CHECK: no authority → NOT_AUTHORIZED, any other failure (unknown name) → TABLE_NOT_AVAILABLE
  if (!ds && !STRUCTURES.has(tableName)) throw abapException('TABLE_NOT_AVAILABLE')
  if (state.denied.has(tableName)) throw abapException('NOT_AUTHORIZED')
  // 2. DDIF_FIELDINFO_GET: a structure (INTTAB) has no data
  if (!ds) throw abapException('TABLE_WITHOUT_DATA')
  const model = ds.model

  const noData = input.NO_DATA !== ''
  const useEtData = s4 && input.USE_ET_DATA_4_RETURN === 'X'
  // 3. line length = the length of DATA-WA; STRLEN( DELIMITER ) is 0 for the default blank
  const limit = useEtData ? Number.POSITIVE_INFINITY : lineLength
  const delimiter = input.DELIMITER as string
  const requested = (input.FIELDS as Array<Record<string, unknown>> | undefined) ?? []
  const names = requested.length > 0 ? requested.map((r) => (r.FIELDNAME as string | undefined) ?? '') : model.fields.map((f) => f.name)

  // 4. one output slot per requested field; offsets in characters, width = DDIC LENG
  const slots: Slot[] = []
  const fieldsOut: Array<Record<string, unknown>> = []
  let cursor = 0
  for (const name of names) {
    const field = model.fields.find((f) => f.name === name)
    if (!field) throw abapException('FIELD_NOT_VALID')
    if (cursor !== 0) cursor += delimiter.length
    const offset = cursor
    cursor += field.leng
    if (cursor > limit && !noData) throw abapException('DATA_BUFFER_EXCEEDED')
    slots.push({ field })
    fieldsOut.push({
      FIELDNAME: field.name,
      OFFSET: String(offset),
      LENGTH: String(field.leng),
      TYPE: intType(field),
      FIELDTEXT: field.text,
    })
  }
  if (noData) return { FIELDS: fieldsOut, DATA: [] }
  // C.3: a STRING component cannot be cast into the character work area ("ASSIGN … CASTING"): the module
  // dumps. Some releases dump even when the string is not requested; the simulator dumps when it is.
  // The runtime error's name is [INFERRED] from that statement.
  if (slots.some((s) => intType(s.field) === 'g')) throw dump('ASSIGN_CASTING_ILLEGAL_CAST')

  // 5. SELECT * FROM (table) WHERE (OPTIONS), no ORDER BY
  const rowskips = input.ROWSKIPS as number
  let rowcount = input.ROWCOUNT as number
  if (state.variants.strictRowskips && rowcount > 0 && rowskips > 0 && rowskips % rowcount !== 0) throw abapException('OPTION_NOT_VALID')
  const lines = ((input.OPTIONS as Array<Record<string, unknown>> | undefined) ?? []).map((o) => (o.TEXT as string | undefined) ?? '')
  let where
  try {
    where = compileWhere(parseOptions(lines), model.fields, model.keyFields[0])
  } catch (e) {
    // 6. a malformed dynamic WHERE
    if (e instanceof WhereSyntaxError) throw abapException('OPTION_NOT_VALID')
    throw e
  }
  if (rowcount > 0) rowcount += rowskips

  const snap = ds.table.snapshot()
  const [lo, hi] = model.slotRange ? model.slotRange(where.bounds.min, where.bounds.max, snap.slotCount) : [0, snap.slotCount]
  const span = Math.max(hi - lo, 0)
  const sorted = s4 && input.GET_SORTED === 'X'
  // unstable order: each call starts the scan somewhere else (a rotation), as a database without ORDER BY may
  const rotation = state.variants.unstableOrder && !sorted && span > 0 ? hash(state.seed, ++state.readTableCalls, 77) % span : 0

  const rows: Array<Record<string, unknown>> = []
  let dbcnt = 0
  for (let n = 0; n < span; n++) {
    if ((n & 4095) === 4095) {
      await yieldTick()
      ctx.signal.throwIfAborted()
    }
    const row = ds.table.rowAt(lo + ((n + rotation) % span), snap)
    state.stats.rowsVisited++
    if (row === null || !where.predicate(row)) continue
    dbcnt++
    if (dbcnt > rowskips) {
      const wa = workArea(slots, row, delimiter)
      rows.push(useEtData ? { LINE: wa } : { WA: wa })
      if (rows.length > state.maxReadTableRows) throw dump('TSV_TNEW_PAGE_ALLOC_FAILED')
      if (rowcount > 0 && dbcnt >= rowcount) break
    }
  }
  return useEtData ? { FIELDS: fieldsOut, DATA: [], ET_DATA: rows } : { FIELDS: fieldsOut, DATA: rows }
}

/** The DATA line: each field in its LENG slice, the delimiter between slices (C.2 step 4/5). */
function workArea(slots: readonly Slot[], row: SapRow, delimiter: string): string {
  let wa = ''
  for (let i = 0; i < slots.length; i++) {
    if (i > 0) wa += delimiter
    wa += waValue(slots[i].field, row[slots[i].field.name])
  }
  return wa
}

/** The read-table module named `name` with DATA lines of `lineLength` characters. */
export function readTableModule(name: string, lineLength: number, s4: boolean): FunctionModule {
  return { iface: iface(name, lineLength, s4), handler: (ctx, input) => readTable(ctx, input, lineLength, s4) }
}
