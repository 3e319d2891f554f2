/**
 * OData v2 verbose-JSON rows (A.4/A.5) built by string concatenation from a per-request compiled
 * plan: the benchmark pushes a million rows through here, and JSON.stringify of a fresh object per row
 * costs about twice as much. Only free text goes through JSON.stringify (for escaping).
 */
import { datsToMs, timestampToMs, timsToDuration } from '../model/abapValues.js'
import type { EntityDef, FieldDef } from '../model/fields.js'
import { ODQ_FIELDS } from '../model/fields.js'
import type { SapRow } from '../types.js'

/** A row as a read delivers it: the business image plus its ODQ change mode and entity counter. */
export interface OutRow {
  row: SapRow
  mode: '' | 'C' | 'U' | 'D'
  cntr: '0' | '1' | '-1'
}

export interface SerializeContext {
  /** Absolute service root for `__metadata` ids, e.g. http://127.0.0.1:4711/sap/opu/odata/sap/ZDELTA_DEMO_SRV */
  serviceRoot: string
  namespace: string
  /** Write `"\/Date(…)\/"` (variant escapedDateSlashes). */
  escapeSlashes: boolean
}

type Value = SapRow[string]
type Encoder = (v: Value, row: SapRow) => string

function jsonInner(text: string): string {
  return JSON.stringify(text).slice(1, -1)
}

const datsCache = new Map<string, number | null>()
function datsMs(v: string): number | null {
  let ms = datsCache.get(v)
  if (ms === undefined) {
    ms = datsToMs(v)
    if (datsCache.size < 100_000) datsCache.set(v, ms)
  }
  return ms
}

function offsetText(minutes: number): string {
  return (minutes < 0 ? '-' : '+') + String(Math.abs(minutes)).padStart(4, '0')
}

/** Encoders for the types whose JSON form is computed (/Date(…)/, PT…S); simple types are inlined. */
function encoderFor(def: EntityDef, f: FieldDef, ctx: SerializeContext): Encoder {
  const open = ctx.escapeSlashes ? '"\\/Date(' : '"/Date('
  const close = ctx.escapeSlashes ? ')\\/"' : ')/"'
  switch (f.edm) {
    case 'Edm.Time': {
      const cache = new Map<string, string>()
      return (v) => {
        if (v === null) return 'null'
        let text = cache.get(v as string)
        if (text === undefined) {
          text = '"' + timsToDuration(v as string) + '"'
          if (cache.size < 200_000) cache.set(v as string, text)
        }
        return text
      }
    }
    case 'Edm.DateTime':
      if (f.abap === 'DATS') {
        // the initial date '00000000' has no calendar value: SAP sends null (A.5)
        return (v) => {
          const ms = v === null ? null : datsMs(v as string)
          return ms === null ? 'null' : open + ms + close
        }
      }
      return (v) => {
        const ms = v === null ? null : timestampToMs(v as string)
        return ms === null ? 'null' : open + ms + close
      }
    case 'Edm.DateTimeOffset': {
      const offsetOf = def.offsetMinutes
      return (v, row) => {
        const ms = v === null ? null : timestampToMs(v as string)
        if (ms === null) return 'null'
        // ms stays the UTC instant; the suffix is the minute offset the instant was recorded in (MS-ODATA)
        return open + ms + offsetText(offsetOf ? offsetOf(row, f.name) : 0) + close
      }
    }
    default:
      throw new Error(`no computed encoder for ${f.edm}`)
  }
}

/** Field names are identifiers from the simulator's own model; generated code may use them as properties. */
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/

/**
 * Compiles the writer of one row: `{"__metadata":{…},"F1":…,…}` for the projection `select`.
 * The writer is generated code with direct property reads (`row.VBELN`): keyed reads with changing names
 * are megamorphic and made serialisation ~2x slower, which the million-row benchmark notices.
 */
export function compileRowWriter(def: EntityDef, select: readonly FieldDef[] | undefined, ctx: SerializeContext): (o: OutRow) => string {
  const selected = select ?? [...def.fields, ...ODQ_FIELDS]
  const business = def.fields.filter((f) => selected.includes(f))
  const withMode = selected.some((f) => f.name === 'ODQ_CHANGEMODE')
  const withCntr = selected.some((f) => f.name === 'ODQ_ENTITYCNTR')
  const keyFields = def.keyFields.map((k) => def.fields.find((f) => f.name === k)!)
  for (const f of def.fields) if (!IDENT.test(f.name)) throw new Error(`field name ${f.name} is not an identifier`)

  const consts: unknown[] = []
  const ref = (value: unknown): string => {
    consts.push(value)
    return `c[${consts.length - 1}]`
  }
  const str = (text: string): string => JSON.stringify(text)

  // key predicate of __metadata.id: NUMC/CHAR keys quoted (digits need no escaping), integers bare
  let uri = str(jsonInner(ctx.serviceRoot) + '/' + def.name + '(')
  keyFields.forEach((f, i) => {
    const name = str((i === 0 ? '' : ',') + f.name + '=')
    if (f.edm !== 'Edm.String') uri += ` + ${name} + row.${f.name}`
    else if (f.abap === 'NUMC') uri += ` + ${name} + "'" + row.${f.name} + "'"`
    else uri += ` + ${name} + ${ref(keyLiteral)}(row.${f.name})`
  })
  uri += ` + ",ODQ_CHANGEMODE='" + o.mode + "',ODQ_ENTITYCNTR=" + o.cntr + "M)"`

  const parts: string[] = [
    str('{"__metadata":{"id":"') + ' + uri + ' + str('","uri":"') + ' + uri + ' + str('","type":"' + ctx.namespace + '.' + def.name + '"}'),
  ]
  for (const f of business) {
    const v = `row.${f.name}`
    const label = str(',"' + f.name + '":')
    let expr: string
    // most texts need no escaping; testing for that is about twice as fast as JSON.stringify
    if (f.edm === 'Edm.String') expr = `(${ref(NEEDS_ESCAPE)}.test(${v}) ? JSON.stringify(${v}) : '"' + ${v} + '"')`
    else if (f.edm === 'Edm.Int16' || f.edm === 'Edm.Int32' || f.edm === 'Edm.Byte' || f.edm === 'Edm.Boolean' || f.edm === 'Edm.Double')
      expr = `("" + ${v})`
    else if (f.edm === 'Edm.Int64' || f.edm === 'Edm.Decimal' || f.edm === 'Edm.Guid' || f.edm === 'Edm.Binary') expr = `('"' + ${v} + '"')`
    else expr = `${ref(encoderFor(def, f, ctx))}(${v}, row)`
    if (f.nullable) expr = `(${v} == null ? "null" : ${expr})`
    parts.push(`${label} + ${expr}`)
  }
  if (withMode) parts.push(`',"ODQ_CHANGEMODE":"' + o.mode + '"'`)
  if (withCntr) parts.push(`',"ODQ_ENTITYCNTR":"' + o.cntr + '"'`)
  parts.push('"}"')
  const body = `const row = o.row; const uri = ${uri}; return ${parts.join(' + ')};`
  const factory = new Function('c', `return function writeRow(o) { ${body} }`) as (c: unknown[]) => (o: OutRow) => string
  return factory(consts)
}

function keyLiteral(v: Value): string {
  return "'" + encodeURIComponent(String(v).replace(/'/g, "''")) + "'"
}
