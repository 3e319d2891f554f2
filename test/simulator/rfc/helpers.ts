/**
 * Test helpers for the RFC simulator: logon, a WA slicer for RFC_READ_TABLE (C.3) and a decoder of the
 * raw ODP rows written from docs/sap-protocols.md B.4 alone — it shares no code with src/simulator, so a
 * format bug on one side shows up as a test failure instead of cancelling out.
 */
import { expect } from 'vitest'
import type { RfcSimulator, RfcSimulatorOptions, SapRow, SimRfcClient } from '../../../src/simulator/rfc/index.js'
import { startRfcSimulator } from '../../../src/simulator/rfc/index.js'

export const LOGON = { ashost: '127.0.0.1', sysnr: '00', client: '100', user: 'DEMO', passwd: 'Welcome1!', lang: 'EN' }

export async function start(opts: RfcSimulatorOptions = {}): Promise<{ sim: RfcSimulator; client: SimRfcClient }> {
  const sim = await startRfcSimulator(opts)
  const client = await sim.createClient(LOGON).open()
  return { sim, client }
}

export async function allRows(sim: RfcSimulator, name: string): Promise<SapRow[]> {
  const rows: SapRow[] = []
  for await (const row of sim.admin.rows(name)) rows.push(row)
  return rows
}

/** Awaits a rejection and returns the rejected value (node-rfc rejects with plain objects). */
export async function rejection(p: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await p
  } catch (e) {
    return e as Record<string, unknown>
  }
  throw new Error('expected the call to reject')
}

export function expectAbapException(e: Record<string, unknown>, key: string): void {
  expect(e).toMatchObject({ name: 'ABAPError', group: 1, code: 5, codeString: 'RFC_ABAP_EXCEPTION', key })
}

export type Row = Record<string, unknown>

export interface FieldSlot {
  FIELDNAME: string
  OFFSET: string
  LENGTH: string
  TYPE: string
}

/** Slices a DATA-WA by the FIELDS offsets (characters). node-rfc trimmed trailing blanks, so pad first. */
export function sliceWa(wa: string, fields: readonly FieldSlot[]): Record<string, string> {
  const out: Record<string, string> = {}
  const end = Math.max(...fields.map((f) => Number(f.OFFSET) + Number(f.LENGTH)))
  const line = wa.padEnd(end)
  for (const f of fields) out[f.FIELDNAME] = line.slice(Number(f.OFFSET), Number(f.OFFSET) + Number(f.LENGTH))
  return out
}

/** A packed/integer WA or raw value ('  12.50-', '7 ') → canonical decimal text ('-12.50', '7'). */
export function signedValue(text: string): string {
  const m = /^ *(\d+(?:\.\d+)?)([- ]?)$/.exec(text)
  if (!m) throw new Error(`not a number with trailing sign: ${JSON.stringify(text)}`)
  return m[2] === '-' && /[1-9]/.test(m[1]) ? `-${m[1]}` : m[1]
}

/** ABAP notation of a WA slice by internal type (for comparison with admin rows). */
export function abapValue(type: string, text: string): string | number {
  if (type === 'I') return Number(signedValue(text))
  if (type === 'P') return signedValue(text)
  return type === 'C' ? text.replace(/ +$/, '') : text
}

export interface OdpFieldMeta {
  NAME: string
  TYPE: string
  OUTPUTLENG: string
  DECIMALS: string
}

/**
 * Decoder of FETCH's ET_DATA from B.4: a record is the fields at OUTPUTLENG characters each (ODQ_CHANGEMODE
 * + ODQ_ENTITYCNTR appended for delta requests), UTF-8, cut into 250-byte lines padded with NUL. We walk
 * the bytes counting characters (a 4-byte UTF-8 sequence is a surrogate pair: two ABAP characters), so
 * the number of lines per record is never assumed.
 */
export function decodeOdp(lines: readonly Buffer[], fields: readonly OdpFieldMeta[], withOdq: boolean): Array<Record<string, string>> {
  const widths = fields.map((f) => ({ name: f.NAME, width: Number(f.OUTPUTLENG) }))
  if (withOdq) widths.push({ name: 'ODQ_CHANGEMODE', width: 1 }, { name: 'ODQ_ENTITYCNTR', width: 20 })
  const recordChars = widths.reduce((s, w) => s + w.width, 0)
  const records: Array<Record<string, string>> = []
  let line = 0
  let off = 0
  while (line < lines.length) {
    const bytes: number[] = []
    let chars = 0
    const take = (): number => {
      if (line >= lines.length) throw new Error('record runs past the last line')
      const b = lines[line][off++]
      if (off === 250) {
        line++
        off = 0
      }
      bytes.push(b)
      return b
    }
    while (chars < recordChars) {
      const lead = take()
      const n = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2
      for (let k = 1; k < n; k++) take()
      chars += n === 4 ? 2 : 1
    }
    if (off !== 0) {
      expect(lines[line].subarray(off).every((b) => b === 0)).toBe(true)
      line++
      off = 0
    }
    const text = Buffer.from(bytes).toString('utf8')
    expect(text.length).toBe(recordChars)
    const record: Record<string, string> = {}
    let pos = 0
    for (const w of widths) {
      record[w.name] = text.slice(pos, pos + w.width)
      pos += w.width
    }
    records.push(record)
  }
  return records
}

/** A decoded raw record → ABAP notation by ET_FIELDS TYPE. */
export function odpToAbap(record: Record<string, string>, fields: readonly OdpFieldMeta[]): SapRow {
  const row: SapRow = {}
  for (const f of fields) {
    const text = record[f.NAME]
    if (['CURR', 'QUAN', 'DEC'].includes(f.TYPE)) row[f.NAME] = signedValue(text)
    else if (f.TYPE === 'INT4') row[f.NAME] = Number(signedValue(text))
    else row[f.NAME] = text.replace(/ +$/, '')
  }
  return row
}

export const ODP = { type: 'SAP_BW', name: 'DXTEST', context: 'ABAP_CDS', odp: 'ZSD_ITEMS_CDC' }

export function subscriber(process: string): Row {
  return {
    I_SUBSCRIBER_TYPE: ODP.type,
    I_SUBSCRIBER_NAME: ODP.name,
    I_SUBSCRIBER_PROCESS: process,
    I_CONTEXT: ODP.context,
    I_ODPNAME: ODP.odp,
  }
}

export async function odpFields(client: SimRfcClient, context = ODP.context, odp = ODP.odp): Promise<OdpFieldMeta[]> {
  const detail = await client.call('RODPS_REPL_ODP_GET_DETAIL', { I_SUBSCRIBER_TYPE: ODP.type, I_CONTEXT: context, I_ODPNAME: odp })
  expect(detail.ET_RETURN).toEqual([])
  return detail.ET_FIELDS as OdpFieldMeta[]
}

export interface FetchResult {
  packages: Array<{ id: string; lines: Buffer[]; noMore: string }>
  lines: Buffer[]
}

/** FETCH with I_PACKAGE = previous E_PACKAGE until E_NO_MORE_DATA = 'X'. */
export async function fetchAll(client: SimRfcClient, pointer: string, maxBytes = 0): Promise<FetchResult> {
  const packages: FetchResult['packages'] = []
  let pkg = ''
  for (let i = 0; i < 10_000; i++) {
    const res = await client.call('RODPS_REPL_ODP_FETCH', { I_POINTER: pointer, I_PACKAGE: pkg, I_MAXPACKAGESIZE: maxBytes })
    expect(res.ET_RETURN).toEqual([])
    const lines = (res.ET_DATA as Array<{ DATA: Buffer }>).map((l) => l.DATA)
    packages.push({ id: res.E_PACKAGE as string, lines, noMore: res.E_NO_MORE_DATA as string })
    if (res.E_NO_MORE_DATA === 'X') return { packages, lines: packages.flatMap((p) => p.lines) }
    pkg = res.E_PACKAGE as string
  }
  throw new Error('FETCH never said E_NO_MORE_DATA')
}

export async function openOdp(client: SimRfcClient, process: string, mode: string, extra: Row = {}): Promise<Row> {
  return client.call('RODPS_REPL_ODP_OPEN', { ...subscriber(process), I_EXTRACTION_MODE: mode, I_EXPLICIT_CLOSE: 'X', ...extra })
}
