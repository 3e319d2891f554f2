/** Starting the SAP simulator for client tests, and small helpers to drain reads. */
import { afterEach } from 'vitest'
import type { Row } from '../../../src/sap/fields.js'
import { SourceError } from '../../../src/sap/errors.js'
import { ODataOdpClient, type ClientOptions, type ReadEnd, type ReadResult } from '../../../src/sap/odata/index.js'
import { startSapSimulator, type SapRow, type SapSimulator, type SapSimulatorOptions } from '../../../src/simulator/index.js'

export const USER = 'DEMO'
export const PASSWORD = 'Welcome1!'
export const SALES = 'EntityOfZSALES_ITEMS'
export const TYPES = 'FactsOfZTYPES'

const running: SapSimulator[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()))
})

export async function sim(opts: SapSimulatorOptions = {}): Promise<SapSimulator> {
  const s = await startSapSimulator({ users: { [USER]: PASSWORD }, sapClient: '100', ...opts })
  running.push(s)
  return s
}

export function client(s: SapSimulator, opts: ClientOptions = {}, password = PASSWORD): ODataOdpClient {
  return new ODataOdpClient({ serviceUrl: s.serviceUrl, user: USER, password, sapClient: '100' }, { retries: 3, backoffMs: 1, ...opts })
}

export interface Drained {
  rows: Row[]
  pageSizes: number[]
  indexes: number[]
  end: ReadEnd
}

export async function drain(r: ReadResult): Promise<Drained> {
  const rows: Row[] = []
  const pageSizes: number[] = []
  const indexes: number[] = []
  for await (const p of r.pages) {
    rows.push(...p.rows)
    pageSizes.push(p.rows.length)
    indexes.push(p.index)
  }
  return { rows, pageSizes, indexes, end: await r.end() }
}

export async function tableRows(s: SapSimulator, es: string): Promise<SapRow[]> {
  const out: SapRow[] = []
  for await (const r of s.admin.rows(es)) out.push(r)
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

export const TOKEN_RE = /^D\d{14}_\d{9}$/
