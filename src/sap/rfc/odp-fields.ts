/**
 * The fields of an ODP (RODPS_REPL_ODP_GET_DETAIL `ET_FIELDS`, docs/sap-protocols.md §B.1) and the layout
 * of its raw rows (§B.4): delivered fields in ET_FIELDS order, OUTPUTLENG characters each, the ODQ
 * change mode and entity counter appended for delta requests.
 */
import { SourceError } from '../errors.js'
import { CHANGE_MODE_COLUMN, ENTITY_COUNTER_COLUMN, type Column, type Row } from '../fields.js'
import type { SapLog } from '../log.js'
import { badValue, ValueError } from '../values.js'
import { checkReturn, ODP_RFC_PREFIX } from './errors.js'
import { RawRowDecoder, type RawLine } from './fragments.js'
import type { RfcPool } from './pool.js'
import { columnOf, kindOf, slotConverter, type RfcField, type SlotConverter } from './values.js'

export interface OdpField extends RfcField {
  /** Characters the field takes in a raw row. */
  outputLength: number
  /** ET_FIELDS-TRANSFER: delivered unless projected away. */
  transfer: boolean
  sel: { equal: boolean; between: boolean; pattern: boolean }
}

/** ODQ_S_DELTA_APPEND (§0): CHAR 1 and DEC 19,0; the counter's slot has a trailing sign position (§B.4 example). */
const ODQ_APPEND: readonly OdpField[] = [
  {
    name: CHANGE_MODE_COLUMN,
    kind: 'char',
    sourceType: 'CHAR',
    length: 1,
    decimals: 0,
    key: false,
    outputLength: 1,
    transfer: true,
    sel: { equal: false, between: false, pattern: false },
  },
  {
    name: ENTITY_COUNTER_COLUMN,
    kind: 'packed',
    sourceType: 'DEC',
    length: 19,
    decimals: 0,
    key: false,
    outputLength: 20,
    transfer: true,
    sel: { equal: false, between: false, pattern: false },
  },
]
const ODQ_NAMES = new Set([CHANGE_MODE_COLUMN, ENTITY_COUNTER_COLUMN])

export class OdpFieldsInfo {
  readonly byName: Map<string, OdpField>
  constructor(
    readonly odp: string,
    /** Business fields in ET_FIELDS order (the ODQ fields, if listed, are not among them). */
    readonly fields: OdpField[],
    /** GET_DETAIL's E_DELTA; true when the system does not say. */
    readonly deltaCapable = true,
  ) {
    this.byName = new Map(fields.map((f) => [f.name, f]))
  }

  get keys(): string[] {
    return this.fields.filter((f) => f.key).map((f) => f.name)
  }

  /** Delivered fields for a requested projection (keys always included), in ET_FIELDS order. */
  select(wanted: string[] | undefined): OdpField[] {
    const base = this.fields.filter((f) => f.transfer)
    if (!wanted || wanted.length === 0) return base
    const upper = wanted.map((n) => n.trim().toUpperCase()).filter((n) => !ODQ_NAMES.has(n))
    const unknown = upper.filter((n) => !this.byName.has(n))
    if (unknown.length > 0)
      throw new SourceError('SOURCE_BAD_REQUEST', `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} in ODP ${this.odp}`)
    const set = new Set([...upper, ...this.keys])
    return base.filter((f) => set.has(f.name))
  }
}

const flag = (v: unknown) => String(v ?? '').trim() === 'X'
const num = (v: unknown) => Number(String(v ?? '').trim() || '0')

export async function readOdpFields(
  ctx: { pool: RfcPool; log: SapLog; timeout?: number; subscriberType: string },
  context: string,
  odp: string,
  signal: AbortSignal,
): Promise<OdpFieldsInfo> {
  const fm = `${ODP_RFC_PREFIX}ODP_GET_DETAIL`
  const res = await ctx.pool.call(
    fm,
    { I_SUBSCRIBER_TYPE: ctx.subscriberType, I_CONTEXT: context, I_ODPNAME: odp },
    { signal, timeout: ctx.timeout, what: `${context}/${odp}`, log: ctx.log },
  )
  checkReturn(res['ET_RETURN'], { functionModule: fm, what: `${context}/${odp}`, secrets: ctx.pool.secrets })
  const raw = Array.isArray(res['ET_FIELDS']) ? (res['ET_FIELDS'] as Record<string, unknown>[]) : []
  if (raw.length === 0)
    throw new SourceError('SOURCE_NOT_FOUND', `ODP ${context}/${odp} has no fields (does it exist in context ${context}?)`)
  const hasTransfer = raw.some((f) => 'TRANSFER' in f)
  const fields = raw
    .map((f): OdpField => {
      const type = String(f['TYPE'] ?? '').trim()
      const length = num(f['LENGTH'])
      return {
        name: String(f['NAME'] ?? '').trim(),
        kind: kindOf(type),
        sourceType: type,
        length,
        decimals: num(f['DECIMALS']),
        key: flag(f['KEYFLAG']),
        label: String(f['DESCRIPTION'] ?? '').trim() || undefined,
        outputLength: num(f['OUTPUTLENG']) || length,
        transfer: hasTransfer ? flag(f['TRANSFER']) : true,
        sel: { equal: flag(f['SEL_EQUAL']), between: flag(f['SEL_BETWEEN']), pattern: flag(f['SEL_PATTERN']) },
      }
    })
    .filter((f) => !ODQ_NAMES.has(f.name))
  return new OdpFieldsInfo(odp, fields, 'E_DELTA' in res ? flag(res['E_DELTA']) : true)
}

/** Columns of an ODP read: the delivered fields, then change mode and entity counter (as for OData). */
export function odpColumns(delivered: OdpField[]): Column[] {
  return [
    ...delivered.map(columnOf),
    {
      name: CHANGE_MODE_COLUMN,
      type: { kind: 'string', maxLength: 1 },
      nullable: true,
      key: false,
      semantics: 'change-mode',
      sourceType: 'CHAR(1)',
    },
    {
      name: ENTITY_COUNTER_COLUMN,
      type: { kind: 'decimal', precision: 19, scale: 0 },
      nullable: true,
      key: false,
      semantics: 'entity-counter',
      sourceType: 'DEC(19,0)',
    },
  ]
}

/** Decodes and converts the raw rows of one request. */
export class OdpLayout {
  private readonly decoder: RawRowDecoder
  private readonly fields: OdpField[]
  private readonly converters: SlotConverter[]

  constructor(
    delivered: OdpField[],
    /** Delta requests carry ODQ_CHANGEMODE and ODQ_ENTITYCNTR at the end of each row (§B.4). */
    private readonly withOdqFields: boolean,
  ) {
    this.fields = withOdqFields ? [...delivered, ...ODQ_APPEND] : delivered
    this.decoder = new RawRowDecoder(this.fields.map((f) => f.outputLength))
    this.converters = this.fields.map(slotConverter)
  }

  /** A generous byte estimate of a row (UTF-8, up to 3 bytes per character) for I_MAXPACKAGESIZE. */
  get rowBytes(): number {
    return this.decoder.rowWidth * 3
  }

  rows(lines: RawLine[], rowBase: number): Row[] {
    const texts = this.decoder.decodeRows(lines)
    const { offsets, widths } = this.decoder
    const n = this.fields.length
    const out: Row[] = new Array(texts.length)
    for (let r = 0; r < texts.length; r++) {
      const text = texts[r]
      const row: Row = new Array(this.withOdqFields ? n : n + 2)
      for (let i = 0; i < n; i++) {
        try {
          row[i] = this.converters[i](text, offsets[i], widths[i])
        } catch (e) {
          if (!(e instanceof ValueError)) throw e
          throw this.badValue(text, i, rowBase + r + 1, e.message)
        }
      }
      if (this.withOdqFields) {
        if (row[n - 2] === null) row[n - 2] = ''
        if (row[n - 1] === null) row[n - 1] = '0'
      } else {
        // Full and initial rows carry no change semantics: blank mode, counter 0 (§0, as OData sends them).
        row[n] = ''
        row[n + 1] = '0'
      }
      out[r] = row
    }
    return out
  }

  private badValue(text: string, i: number, row: number, reason: string): SourceError {
    const { offsets, widths } = this.decoder
    const slot = (j: number) => text.substr(offsets[j], widths[j]).trim()
    const key = this.fields.flatMap((f, j) => (f.key ? [`${f.name}=${slot(j)}`] : [])).join(', ')
    const f = this.fields[i]
    return badValue({ column: `ODP column ${f.name} (${f.sourceType})`, row, key, value: JSON.stringify(slot(i)), reason })
  }
}
