/**
 * Everything one RFC simulator instance knows: the generated tables and ODPs (each a `Table` of the OData
 * simulator's store, so rows are pure functions of (seed, slot) plus a small overlay of changes), the
 * system clock that stamps changes, the ODQ, faults, variants and counters.
 */
import type { SeqClock, Table } from '../data/table.js'
import { Table as TableStore } from '../data/table.js'
import { timestampFromMs, timestampToMs } from '../model/abapValues.js'
import type { RowModel } from './ddic/ddic.js'
import { toEntityDef } from './ddic/ddic.js'
import { salesItemsModel } from './ddic/salesItems.js'
import { qmResultsModel } from './ddic/qmResults.js'
import { materialTextModel, wideTableModel } from './ddic/wideTable.js'
import { RfcHolds } from './holds.js'
import { RfcFaultRegistry } from './faults.js'
import { OdqStore } from './odp/queue.js'
import type { RfcSimulatorOptions, RfcSimulatorVariants } from './types.js'
import { DEFAULT_RFC_VARIANTS } from './types.js'

/** A generated table or ODP with its change store. */
export interface DataSet {
  model: RowModel
  table: Table
  /** Creation stamps of inserted slots (row content must stay a function of the slot once inserted). */
  stamps: Map<number, string>
}

export interface OdpDataSet extends DataSet {
  context: string
  /** Delta-capable (ODQ subscriptions, modes D and R). */
  delta: boolean
}

/** System time (UTC 'YYYYMMDDhhmmss'); starts after every generated date so watermarks work. */
export interface SystemClock {
  now: string
}

const TABLE_NAMES = { SALES_ITEMS: 'ZSD_ITEMS', WIDE: 'ZMAT_WIDE', QM_RESULTS: 'ZQM_RESULTS' } as const
const ODP_NAMES = { SALES_ITEMS: 'ZSD_ITEMS_CDC', MATERIAL_TEXT: '0MATERIAL_TEXT' } as const
export const CONTEXTS = [
  { name: 'ABAP_CDS', text: 'ABAP Core Data Services', release: 'SBC758' },
  { name: 'SAPI', text: 'DataSources/Extractors', release: 'SDE758' },
] as const

export interface RfcState {
  seed: number
  client: string
  /** Upper-case user → password. */
  users: Map<string, string>
  variants: RfcSimulatorVariants
  callLatencyMs: number
  maxReadTableRows: number
  /** Global change sequence shared by every table and ODP (ODQ orders by it, like TSNs). */
  seq: SeqClock
  clock: SystemClock
  tables: Map<string, DataSet>
  odps: Map<string, OdpDataSet>
  /** Tables whose S_TABU_* authorization the user lacks. */
  denied: Set<string>
  /** Calls a test holds (admin.hold). */
  holds: RfcHolds
  /** Function modules whose S_RFC authorization the user lacks. */
  deniedFunctions: Set<string>
  faults: RfcFaultRegistry
  odq: OdqStore
  /** `rowsVisited`: table rows RFC_READ_TABLE looked at, matching or not (how much of a table a read scanned). */
  stats: { calls: number; byFunction: Record<string, number>; rowsVisited: number }
  /** Logged-on connections now, the most there ever were at once, and logons in total. */
  connections: { open: number; peak: number; logons: number }
  /** RFC_READ_TABLE executions, the salt of `unstableOrder`. */
  readTableCalls: number
  nextClientId: number
  closed: boolean
  /** Aborts running calls on close. */
  running: Set<AbortController>
}

const CLOCK_START = '20260601080000'

function dataSet(model: RowModel, seed: number, rows: number, seq: SeqClock, clock: SystemClock): DataSet {
  if (!Number.isInteger(rows) || rows < 0) throw new Error(`row count of ${model.name} must be a non-negative integer, got ${rows}`)
  const stamps = new Map<number, string>()
  const generate = (s: number, slot: number) => {
    const row = model.generate(s, slot)
    const created = stamps.get(slot)
    return created === undefined ? row : model.stamp(row, created, false)
  }
  const mutate = (s: number, row: Parameters<RowModel['mutate']>[1], salt: number) =>
    model.stamp(model.mutate(s, row, salt), clock.now, true)
  return { model, table: new TableStore(toEntityDef(model, generate, mutate), seed, rows, seq), stamps }
}

function counts(given: Partial<Record<string, number>> | undefined, known: string[], what: string): Partial<Record<string, number>> {
  for (const name of Object.keys(given ?? {}))
    if (!known.includes(name)) throw new Error(`${what}: unknown name ${name} (known: ${known.join(', ')})`)
  return given ?? {}
}

export function createRfcState(opts: RfcSimulatorOptions): RfcState {
  const seed = opts.seed ?? 1
  const client = opts.client ?? '100'
  const seq: SeqClock = { current: 0 }
  const clock: SystemClock = { now: CLOCK_START }
  const tableModels = [salesItemsModel(TABLE_NAMES.SALES_ITEMS, client), wideTableModel(client), qmResultsModel(client)]
  const tableRows = counts(
    opts.tables,
    tableModels.map((m) => m.name),
    'tables',
  )
  const tables = new Map(tableModels.map((m) => [m.name, dataSet(m, seed, tableRows[m.name] ?? m.defaultRows, seq, clock)]))
  const odpModels = [
    { model: salesItemsModel(ODP_NAMES.SALES_ITEMS), context: 'ABAP_CDS', delta: true },
    { model: materialTextModel(), context: 'SAPI', delta: false },
  ]
  const odpRows = counts(
    opts.odps,
    odpModels.map((o) => o.model.name),
    'odps',
  )
  const odps = new Map(
    odpModels.map((o) => [
      o.model.name,
      { ...dataSet(o.model, seed, odpRows[o.model.name] ?? o.model.defaultRows, seq, clock), context: o.context, delta: o.delta },
    ]),
  )
  return {
    seed,
    client,
    users: new Map(Object.entries(opts.users ?? { DEMO: 'Welcome1!' }).map(([u, p]) => [u.toUpperCase(), p])),
    variants: { ...DEFAULT_RFC_VARIANTS, ...opts.variants },
    callLatencyMs: opts.callLatencyMs ?? 0,
    maxReadTableRows: opts.maxReadTableRows ?? 1_000_000,
    seq,
    clock,
    tables,
    odps,
    denied: new Set(),
    deniedFunctions: new Set(),
    faults: new RfcFaultRegistry(),
    holds: new RfcHolds(),
    odq: new OdqStore(),
    stats: { calls: 0, byFunction: {}, rowsVisited: 0 },
    connections: { open: 0, peak: 0, logons: 0 },
    readTableCalls: 0,
    nextClientId: 1,
    closed: false,
    running: new Set(),
  }
}

export function advanceClock(clock: SystemClock, seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 0) throw new Error(`seconds must be a non-negative integer, got ${seconds}`)
  clock.now = timestampFromMs(timestampToMs(clock.now)! + seconds * 1000)
}

/** A table or an ODP by name (names are unique across both). */
export function dataSetOf(state: RfcState, name: string): DataSet {
  const ds = state.tables.get(name) ?? state.odps.get(name)
  if (!ds) throw new Error(`unknown table or ODP ${name}`)
  return ds
}
