/**
 * DDIF_FIELDINFO_GET: the dictionary view of a table (DFIES), which RFC_READ_TABLE itself calls (C.2 step
 * 2) and which clients need for what RFC_READ_TABLE's FIELDS does not say: key flags (column groups must
 * each carry the full key, C.5), DDIC data types (CURR vs DEC), decimals and conversion exits.
 *
 * Deviation: DFIES has ~60 components; we return the ones a reader needs (listed in DFIES below). OFFSET
 * is the running sum of INTLEN without alignment gaps [INFERRED is enough for a reader: RFC_READ_TABLE
 * reports its own offsets].
 */
import type { DdicField } from '../ddic/ddic.js'
import { ddicOutputLen, intLen, intType } from '../ddic/ddic.js'
import { abapException } from '../errors.js'
import type { RowType } from '../iface.js'
import { BAPIRET2, CHAR, NUMC, STRUCT, TABLE } from '../iface.js'
import type { FunctionModule } from '../runtime.js'
import { STRUCTURES } from './readTable.js'

const DFIES: RowType = {
  TABNAME: CHAR(30),
  FIELDNAME: CHAR(30),
  LANGU: CHAR(1),
  POSITION: NUMC(4),
  OFFSET: NUMC(6),
  DOMNAME: CHAR(30),
  ROLLNAME: CHAR(30),
  LENG: NUMC(6),
  INTLEN: NUMC(6),
  OUTPUTLEN: NUMC(6),
  DECIMALS: NUMC(6),
  DATATYPE: CHAR(4),
  INTTYPE: CHAR(1),
  REFTABLE: CHAR(30),
  REFFIELD: CHAR(30),
  KEYFLAG: CHAR(1),
  LOWERCASE: CHAR(1),
  SIGN: CHAR(1),
  CONVEXIT: CHAR(5),
  FIELDTEXT: CHAR(60),
  REPTEXT: CHAR(55),
  SCRTEXT_S: CHAR(10),
  SCRTEXT_M: CHAR(20),
  SCRTEXT_L: CHAR(40),
  LFIELDNAME: CHAR(132),
}

/** CHAR keys stored with leading zeros through the ALPHA exit (not applied over RFC, C.3). */
const ALPHA = new Set(['MATNR', 'KUNNR'])
const TEXTS = new Set(['ARKTX', 'LTEXT', 'MAKTX', 'TEXT1', 'TEXT2', 'TEXT3', 'TXTMD', 'GROES', 'WRKST'])

function dfies(table: string, fields: readonly DdicField[], langu: string): Array<Record<string, unknown>> {
  let offset = 0
  return fields.map((f, i) => {
    const row = {
      TABNAME: table,
      FIELDNAME: f.name,
      LANGU: langu,
      POSITION: String(i + 1),
      OFFSET: String(offset),
      ROLLNAME: f.name,
      LENG: String(f.leng),
      INTLEN: String(intLen(f)),
      OUTPUTLEN: String(ddicOutputLen(f)),
      DECIMALS: String(f.decimals ?? 0),
      DATATYPE: f.type,
      INTTYPE: intType(f),
      REFTABLE: f.ref ? table : '',
      REFFIELD: f.ref ?? '',
      KEYFLAG: f.key ? 'X' : '',
      LOWERCASE: TEXTS.has(f.name) ? 'X' : '',
      SIGN: intType(f) === 'P' || intType(f) === 'I' ? 'X' : '',
      CONVEXIT: ALPHA.has(f.name) ? 'ALPHA' : '',
      FIELDTEXT: f.text,
      REPTEXT: f.text.slice(0, 55),
      SCRTEXT_S: f.text.slice(0, 10),
      SCRTEXT_M: f.text.slice(0, 20),
      SCRTEXT_L: f.text.slice(0, 40),
      LFIELDNAME: f.name,
    }
    offset += intLen(f)
    return row
  })
}

/** DDIC fields of the known structures, derived from their RFC row types. */
function structureFields(name: string): DdicField[] {
  const rows: Record<string, RowType> = {
    BAPIRET2,
    RFC_DB_OPT: { TEXT: CHAR(72) },
    RFC_DB_FLD: { FIELDNAME: CHAR(30), OFFSET: NUMC(6), LENGTH: NUMC(6), TYPE: CHAR(1), FIELDTEXT: CHAR(60) },
    TAB512: { WA: CHAR(512) },
  }
  return Object.entries(rows[name] ?? {}).map(([fieldName, t]) => ({
    name: fieldName,
    type: t.t === 'NUMC' ? 'NUMC' : t.t === 'INT' ? 'INT4' : 'CHAR',
    leng: 'len' in t ? t.len : 10,
    text: fieldName,
  }))
}

export const FIELDINFO_MODULE: FunctionModule = {
  iface: {
    name: 'DDIF_FIELDINFO_GET',
    params: [
      { name: 'TABNAME', dir: 'IMPORT', type: CHAR(30) },
      { name: 'FIELDNAME', dir: 'IMPORT', type: CHAR(30) },
      { name: 'LANGU', dir: 'IMPORT', type: CHAR(1), default: 'E' },
      { name: 'LFIELDNAME', dir: 'IMPORT', type: CHAR(132) },
      { name: 'ALL_TYPES', dir: 'IMPORT', type: CHAR(1) },
      { name: 'DDOBJTYPE', dir: 'EXPORT', type: CHAR(8) },
      { name: 'DFIES_WA', dir: 'EXPORT', type: STRUCT(DFIES) },
      { name: 'DFIES_TAB', dir: 'TABLES', type: TABLE(DFIES) },
    ],
  },
  handler: (ctx, input) => {
    const name = input.TABNAME as string
    const ds = ctx.state.tables.get(name)
    const fields = ds ? ds.model.fields : STRUCTURES.has(name) ? structureFields(name) : undefined
    if (!fields) throw abapException('NOT_FOUND')
    let tab = dfies(name, fields, input.LANGU as string)
    const only = (input.FIELDNAME as string) || (input.LFIELDNAME as string)
    if (only) {
      tab = tab.filter((r) => r.FIELDNAME === only)
      if (tab.length === 0) throw abapException('NOT_FOUND')
    }
    return { DDOBJTYPE: ds ? 'TRANSP' : 'INTTAB', DFIES_WA: only ? tab[0] : {}, DFIES_TAB: tab }
  },
}
