/**
 * The RFC simulator for source tests, and expectations computed from its admin rows (ABAP notation)
 * independently of the client's converters, so a client bug cannot agree with itself.
 */
import { afterEach } from 'vitest'
import type { Column, Row, Value } from '../../../src/sap/fields.js'
import { SourceError } from '../../../src/sap/errors.js'
import { createRfcSource, type RfcSource, type RfcSourceOptions } from '../../../src/sap/rfc/index.js'
import type { SourceRead, SourceReadEnd, SourceSpec } from '../../../src/sap/source.js'
import { startRfcSimulator, type RfcSimulator, type RfcSimulatorOptions, type SapRow } from '../../../src/simulator/rfc/index.js'

export const PASSWORD = 'Welcome1!'
export const PARAMS = { ashost: '127.0.0.1', sysnr: '00', client: '100', user: 'DEMO', passwd: PASSWORD, lang: 'EN' }

const running: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()))
})

export async function rfcSim(opts: RfcSimulatorOptions = {}): Promise<RfcSimulator> {
  const s = await startRfcSimulator(opts)
  running.push(s)
  return s
}

/** The simulated system's clock ('YYYYMMDDhhmmss', UTC) as a Date: future watermarks are judged by it, not by this machine's date. */
export function simNow(sim: RfcSimulator): Date {
  const s = sim.admin.now()
  return new Date(`${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(8, 10)}:${s.slice(10, 12)}:${s.slice(12, 14)}Z`)
}

export function source(sim: RfcSimulator, opts: RfcSourceOptions = {}, params: typeof PARAMS = PARAMS): RfcSource {
  const src = createRfcSource(params, {
    clientFactory: (p) => sim.createClient(p),
    retries: 2,
    backoffMs: 1,
    now: () => simNow(sim),
    ...opts,
  })
  running.unshift(src)
  return src
}

export const signal = (): AbortSignal => new AbortController().signal

export function tableSpec(table: string, extra: Partial<SourceSpec> = {}): SourceSpec {
  return { kind: 'TABLE_RFC', table, pageSize: 250, subscriber: 'pipe_t', ...extra }
}

export function odpSpec(extra: Partial<SourceSpec> = {}): SourceSpec {
  return { kind: 'ODP_RFC', odpContext: 'ABAP_CDS', odpName: 'ZSD_ITEMS_CDC', pageSize: 200, subscriber: 'pipe_o', ...extra }
}

export interface Drained {
  rows: Row[]
  pageSizes: number[]
  end: SourceReadEnd
}

export async function drain(r: SourceRead): Promise<Drained> {
  const rows: Row[] = []
  const pageSizes: number[] = []
  for await (const p of r.pages) {
    rows.push(...p.rows)
    pageSizes.push(p.rows.length)
  }
  return { rows, pageSizes, end: await r.end() }
}

export async function simRows(sim: RfcSimulator, name: string): Promise<SapRow[]> {
  const out: SapRow[] = []
  for await (const r of sim.admin.rows(name)) out.push(r)
  return out
}

export async function sourceError(p: Promise<unknown>): Promise<SourceError> {
  try {
    await p
  } catch (e) {
    if (!(e instanceof SourceError)) throw e
    return e
  }
  throw new Error('expected a SourceError, the call succeeded')
}

/** An ABAP-notation value as the column model must carry it (src/sap/fields.ts). */
export function expectedValue(col: Column, v: SapRow[string]): Value {
  if (v === null || v === undefined) return null
  const s = String(v)
  switch (col.type.kind) {
    case 'string':
      return s.replace(/ +$/, '')
    case 'decimal': {
      // canonical: no leading zeros, exactly `scale` decimals, no negative zero
      const scale = col.type.scale
      const neg = s.startsWith('-')
      const [i, f = ''] = (neg ? s.slice(1) : s).split('.')
      const frac = f.padEnd(scale, '0').slice(0, scale)
      const int = i.replace(/^0+(?=\d)/, '') || '0'
      const zero = /^0*$/.test(int + frac)
      return (neg && !zero ? '-' : '') + int + (scale > 0 ? `.${frac}` : '')
    }
    case 'date':
      return s === '00000000' ? null : new Date(`${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T00:00:00Z`)
    case 'time':
      return (Number(s.slice(0, 2)) * 3600 + Number(s.slice(2, 4)) * 60 + Number(s.slice(4, 6))) * 1_000_000
    case 'int32':
    case 'int16':
    case 'uint8':
      return Number(v)
    case 'int64':
      return BigInt(s)
    default:
      return v as Value
  }
}

export function expectedRow(columns: Column[], row: SapRow, mode = '', counter = '0'): Row {
  return columns.map((c) => (c.name === 'ODQ_CHANGEMODE' ? mode : c.name === 'ODQ_ENTITYCNTR' ? counter : expectedValue(c, row[c.name])))
}

export const keyOf = (r: SapRow, keys: string[]) => keys.map((k) => String(r[k])).join('/')
