/**
 * Everything one simulator instance knows, shared by the HTTP handlers and the admin API.
 */
import { FaultRegistry } from './data/faults.js'
import { SubscriptionRegistry } from './data/subscriptions.js'
import { WorkProcessMeter } from './data/work-processes.js'
import type { SeqClock } from './data/table.js'
import { Table } from './data/table.js'
import { ENTITY_DEFS } from './model/entitySets.js'
import { ReadRegistry } from './odata/reads.js'
import type { SapSimulatorOptions, SimulatorVariants } from './types.js'
import { DEFAULT_VARIANTS, DEMO_SERVICE } from './types.js'

export interface SimStats {
  requests: number
  dataPages: number
  byPath: Record<string, number>
}

export interface SimState {
  service: string
  seed: number
  sapClient: string
  /** Upper-case user → password (SAP user names are case-insensitive). */
  users: Map<string, string>
  variants: SimulatorVariants
  tables: Map<string, Table>
  clock: SeqClock
  subs: SubscriptionRegistry
  faults: FaultRegistry
  reads: ReadRegistry
  stats: SimStats
  /** OData requests being served at once, by SAP user (each holds a work process in SAP). */
  inFlight: WorkProcessMeter
  latencyMs: number
  rowsPerSecondPerRead: number
  /** Aborted on close: cuts 'slow' faults and latency waits short. */
  shutdown: AbortController
}

export function createState(opts: SapSimulatorOptions): SimState {
  const seed = opts.seed ?? 1
  const clock: SeqClock = { current: 0 }
  const rows = opts.rows ?? {}
  for (const name of Object.keys(rows)) {
    if (!ENTITY_DEFS.some((d) => d.name === name)) throw new Error(`rows: unknown entity set ${name}`)
  }
  const tables = new Map<string, Table>()
  for (const def of ENTITY_DEFS) {
    const count = rows[def.name] ?? def.defaultRows
    if (!Number.isInteger(count) || count < 0) throw new Error(`rows.${def.name} must be a non-negative integer`)
    tables.set(def.name, new Table(def, seed, count, clock))
  }
  const users = new Map(Object.entries(opts.users ?? { DEMO: 'Welcome1!' }).map(([u, p]) => [u.toUpperCase(), p]))
  return {
    service: DEMO_SERVICE,
    seed,
    sapClient: opts.sapClient ?? '100',
    users,
    variants: { ...DEFAULT_VARIANTS, ...opts.variants },
    tables,
    clock,
    subs: new SubscriptionRegistry(),
    faults: new FaultRegistry(),
    reads: new ReadRegistry(opts.openRequestIdleMs ?? 30_000),
    stats: { requests: 0, dataPages: 0, byPath: {} },
    inFlight: new WorkProcessMeter(),
    latencyMs: opts.latencyMs ?? 0,
    rowsPerSecondPerRead: opts.rowsPerSecondPerRead ?? 0,
    shutdown: new AbortController(),
  }
}

/** The table of an entity set; throws for names the service does not have. */
export function tableOf(state: SimState, entitySet: string): Table {
  const table = state.tables.get(entitySet)
  if (!table) throw new Error(`unknown entity set ${entitySet}`)
  return table
}
