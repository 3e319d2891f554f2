/**
 * Discovery modules of the ODP replication API (docs/sap-protocols.md B.1): RODPS_REPL_CONTEXT_GET_LIST,
 * RODPS_REPL_ODP_GET_LIST and RODPS_REPL_ODP_GET_DETAIL. Parameter and ET_FIELDS column names follow B.1
 * ([CODE]: JCo ODPWrapper.parseFieldMeta); the columns of ET_CONTEXT, ET_NODES, ET_SEGMENTS and
 * ET_DELTAMODES and the export parameters of GET_DETAIL are [INFERRED] (B.1 names only the tables).
 * LENGTH, OUTPUTLENG and DECIMALS are NUMC 6 like their DDIC counterparts [INFERRED]: node-rfc returns
 * them as zero-padded strings ('000040').
 */
import type { DdicField } from '../ddic/ddic.js'
import type { RowType } from '../iface.js'
import { BAPIRET2, CHAR, NUMC, TABLE, bapiret } from '../iface.js'
import type { FunctionModule } from '../runtime.js'
import type { OdpDataSet, RfcState } from '../state.js'
import { CONTEXTS } from '../state.js'
import { odpOutputLen } from './raw.js'

const ET_FIELDS_ROW: RowType = {
  NAME: CHAR(30),
  DESCRIPTION: CHAR(60),
  TYPE: CHAR(10),
  LENGTH: NUMC(6),
  OUTPUTLENG: NUMC(6),
  DECIMALS: NUMC(6),
  KEYFLAG: CHAR(1),
  TRANSFER: CHAR(1),
  DELTAFIELD: CHAR(1),
  SEL_EQUAL: CHAR(1),
  SEL_BETWEEN: CHAR(1),
  SEL_PATTERN: CHAR(1),
  SEL_NONDEFAULT: CHAR(1),
}

const flag = (b: boolean | undefined): string => (b ? 'X' : '')

/** The ET_FIELDS line of a field (TYPE = DDIC data type, B.1). */
function fieldMeta(f: DdicField): Record<string, unknown> {
  return {
    NAME: f.name,
    DESCRIPTION: f.text,
    TYPE: f.type,
    LENGTH: String(f.leng),
    OUTPUTLENG: String(odpOutputLen(f)),
    DECIMALS: String(f.decimals ?? 0),
    KEYFLAG: flag(f.key),
    TRANSFER: 'X',
    DELTAFIELD: '',
    SEL_EQUAL: flag(f.sel?.equal),
    SEL_BETWEEN: flag(f.sel?.between),
    SEL_PATTERN: flag(f.sel?.pattern),
    SEL_NONDEFAULT: flag(f.sel?.equal || f.sel?.between || f.sel?.pattern),
  }
}

/** The ODP `name` in `context`, or an ET_RETURN error line. */
export function findOdp(state: RfcState, context: string, name: string): OdpDataSet | Record<string, unknown> {
  if (!CONTEXTS.some((c) => c.name === context)) return bapiret('E', 'RODPS_REPL', '001', `Context ${context} does not exist`, [context])
  const ds = state.odps.get(name)
  if (!ds || ds.context !== context) {
    return bapiret('E', 'RODPS_REPL', '002', `Operational data provider ${name} does not exist in context ${context}`, [name, context])
  }
  return ds
}

export function isOdp(x: OdpDataSet | Record<string, unknown>): x is OdpDataSet {
  return 'model' in x
}

/** ABAP CP-style search pattern ('*' any, '+' one character), case-insensitive like SAP's F4 search. */
function searchRegex(pattern: string): RegExp {
  const p = pattern.trim() === '' ? '*' : pattern.trim()
  const re = [...p].map((c) => (c === '*' ? '.*' : c === '+' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('')
  return new RegExp(`^${re}$`, 'i')
}

export const CATALOG_MODULES: readonly FunctionModule[] = [
  {
    iface: {
      name: 'RODPS_REPL_CONTEXT_GET_LIST',
      params: [
        { name: 'I_INCLUDE_HIDDEN', dir: 'IMPORT', type: CHAR(1) },
        { name: 'ET_CONTEXT', dir: 'TABLES', type: TABLE({ CONTEXT: CHAR(20), DESCRIPTION: CHAR(60), RELEASE: CHAR(10) }) },
        { name: 'ET_RETURN', dir: 'TABLES', type: TABLE(BAPIRET2) },
      ],
    },
    handler: () => ({ ET_CONTEXT: CONTEXTS.map((c) => ({ CONTEXT: c.name, DESCRIPTION: c.text, RELEASE: c.release })), ET_RETURN: [] }),
  },
  {
    iface: {
      name: 'RODPS_REPL_ODP_GET_LIST',
      params: [
        { name: 'I_SUBSCRIBER_TYPE', dir: 'IMPORT', type: CHAR(30) },
        { name: 'I_CONTEXT', dir: 'IMPORT', type: CHAR(20) },
        { name: 'I_SEARCH_PATTERN', dir: 'IMPORT', type: CHAR(40) },
        { name: 'ET_NODES', dir: 'TABLES', type: TABLE({ ODPNAME: CHAR(40), DESCRIPTION: CHAR(60), DELTA: CHAR(1) }) },
        { name: 'ET_RETURN', dir: 'TABLES', type: TABLE(BAPIRET2) },
      ],
    },
    handler: (ctx, input) => {
      const context = input.I_CONTEXT as string
      if (!CONTEXTS.some((c) => c.name === context)) {
        return { ET_NODES: [], ET_RETURN: [bapiret('E', 'RODPS_REPL', '001', `Context ${context} does not exist`, [context])] }
      }
      const re = searchRegex(input.I_SEARCH_PATTERN as string)
      const nodes = [...ctx.state.odps.values()]
        .filter((o) => o.context === context && re.test(o.model.name))
        .map((o) => ({ ODPNAME: o.model.name, DESCRIPTION: o.model.text, DELTA: flag(o.delta) }))
      return { ET_NODES: nodes, ET_RETURN: [] }
    },
  },
  {
    iface: {
      name: 'RODPS_REPL_ODP_GET_DETAIL',
      params: [
        { name: 'I_SUBSCRIBER_TYPE', dir: 'IMPORT', type: CHAR(30) },
        { name: 'I_CONTEXT', dir: 'IMPORT', type: CHAR(20) },
        { name: 'I_ODPNAME', dir: 'IMPORT', type: CHAR(40) },
        { name: 'E_DESCRIPTION', dir: 'EXPORT', type: CHAR(60) },
        { name: 'E_DELTA', dir: 'EXPORT', type: CHAR(1) },
        { name: 'E_SEMANTICS', dir: 'EXPORT', type: CHAR(1) },
        { name: 'ET_FIELDS', dir: 'TABLES', type: TABLE(ET_FIELDS_ROW) },
        { name: 'ET_SEGMENTS', dir: 'TABLES', type: TABLE({ SEGMENT_NAME: CHAR(30), DESCRIPTION: CHAR(60) }) },
        { name: 'ET_DELTAMODES', dir: 'TABLES', type: TABLE({ EXTRACTION_MODE: CHAR(1), DESCRIPTION: CHAR(60) }) },
        { name: 'ET_RETURN', dir: 'TABLES', type: TABLE(BAPIRET2) },
      ],
    },
    handler: (ctx, input) => {
      const odp = findOdp(ctx.state, input.I_CONTEXT as string, input.I_ODPNAME as string)
      if (!isOdp(odp)) return { ET_FIELDS: [], ET_RETURN: [odp] }
      const modes = [{ EXTRACTION_MODE: 'F', DESCRIPTION: 'Full' }]
      if (odp.delta)
        modes.push(
          { EXTRACTION_MODE: 'D', DESCRIPTION: 'Delta (first request: delta init with data)' },
          { EXTRACTION_MODE: 'R', DESCRIPTION: 'Repeat last delta request' },
        )
      return {
        E_DESCRIPTION: odp.model.text,
        E_DELTA: flag(odp.delta),
        E_SEMANTICS: odp.context === 'SAPI' ? 'T' : 'F',
        ET_FIELDS: odp.model.fields.map(fieldMeta),
        ET_SEGMENTS: [{ SEGMENT_NAME: odp.model.name, DESCRIPTION: odp.model.text }],
        ET_DELTAMODES: modes,
        ET_RETURN: [],
      }
    },
  },
]
