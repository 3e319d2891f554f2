/**
 * The in-process control surface of an RFC simulator (`RfcSimulator.admin`): change data (stamping the
 * change date/time fields with the system clock), read it back in ABAP notation for comparisons, switch
 * variants, inject faults and inspect the ODQ.
 */
import type { AddedField, ChangeRef, SapRow } from '../types.js'
import type { DdicField } from './ddic/ddic.js'
import type { RfcState } from './state.js'
import { advanceClock, dataSetOf } from './state.js'
import type { RfcFault, RfcSimulatorAdmin, RfcSimulatorVariants } from './types.js'
import { DEFAULT_RFC_VARIANTS } from './types.js'

function copyChange(c: ChangeRef): ChangeRef {
  return { seq: c.seq, mode: c.mode, key: { ...c.key }, before: c.before && { ...c.before }, after: c.after && { ...c.after } }
}

async function* rowsOf(state: RfcState, name: string): AsyncGenerator<SapRow> {
  const { table } = dataSetOf(state, name)
  const snap = table.snapshot()
  for (let slot = 0; slot < snap.slotCount; slot++) {
    const row = table.rowAt(slot, snap)
    if (row !== null) yield { ...row }
  }
}

const VARIANT_CHECKS: { [K in keyof RfcSimulatorVariants]: (v: unknown) => boolean } = {
  odpBlocked: (v) => typeof v === 'boolean',
  odpBlockedAs: (v) => v === 'call-rejected' || v === 'authorization',
  strictRowskips: (v) => typeof v === 'boolean',
  readTableModule: (v) => typeof v === 'string',
  unstableOrder: (v) => typeof v === 'boolean',
  s4ReadTable: (v) => typeof v === 'boolean',
  odpNoMoreData: (v) => v === 'with-last-package' || v === 'after-last-package',
  odpUpdateImages: (v) => v === 'before-and-after' || v === 'after-only',
  odpCursorModes: (v) => typeof v === 'boolean',
}

/** Rejects unknown variant names and wrong value types, so a typo fails loudly. */
export function checkVariants(v: Partial<RfcSimulatorVariants>): Partial<RfcSimulatorVariants> {
  for (const [name, value] of Object.entries(v)) {
    const check = VARIANT_CHECKS[name as keyof RfcSimulatorVariants]
    if (!check) throw new Error(`unknown RFC simulator variant ${name} (known: ${Object.keys(DEFAULT_RFC_VARIANTS).join(', ')})`)
    if (!check(value)) throw new Error(`invalid value for variant ${name}: ${JSON.stringify(value)}`)
  }
  return v
}

/** The DDIC description of a field the admin switch adds (the OData side's is `fieldDefOf`). */
function ddicFieldOf({ name, type }: AddedField): DdicField {
  switch (type.abap) {
    case 'CHAR':
      return { name, type: 'CHAR', leng: type.length, text: name }
    case 'DEC':
      return { name, type: 'DEC', leng: type.precision, decimals: type.scale, text: name }
    case 'INT4':
      return { name, type: 'INT4', leng: 10, text: name }
  }
}

export function createRfcAdmin(state: RfcState): RfcSimulatorAdmin {
  /** Runs one change batch at the current system time, then moves the clock on by a second. */
  const batch = (changes: ChangeRef[]): ChangeRef[] => {
    advanceClock(state.clock, 1)
    return changes.map(copyChange)
  }
  return {
    tables: () => [...state.tables.keys()],
    odps: () => [...state.odps.values()].map((o) => ({ context: o.context, name: o.model.name })),
    insert: (name, count) => {
      const ds = dataSetOf(state, name)
      const first = ds.table.snapshot().slotCount
      for (let i = 0; i < count; i++) ds.stamps.set(first + i, state.clock.now)
      return batch(ds.table.insert(count))
    },
    update: (name, keysOrCount) => batch(dataSetOf(state, name).table.update(keysOrCount)),
    delete: (name, keysOrCount) => batch(dataSetOf(state, name).table.delete(keysOrCount)),
    changeLog: (name) => dataSetOf(state, name).table.log.map(copyChange),
    rows: (name) => {
      dataSetOf(state, name) // unknown names fail at the call, not at the first iteration
      return rowsOf(state, name)
    },
    rowCount: (name) => dataSetOf(state, name).table.rowCount,
    addField: (name, field) => {
      const ds = dataSetOf(state, name)
      ds.table.addField(field)
      ds.model = { ...ds.model, fields: [...ds.model.fields, ddicFieldOf(field)] }
    },
    dropField: (name, field) => {
      const ds = dataSetOf(state, name)
      ds.table.dropField(field)
      ds.model = { ...ds.model, fields: ds.model.fields.filter((f) => f.name !== field) }
    },
    now: () => state.clock.now,
    advanceClock: (seconds) => advanceClock(state.clock, seconds),
    setTableAuthorization: (table, allowed) => {
      if (!state.tables.has(table)) throw new Error(`unknown table ${table}`)
      if (allowed) state.denied.delete(table)
      else state.denied.add(table)
    },
    setFunctionAuthorization: (fm, allowed) => {
      if (allowed) state.deniedFunctions.delete(fm)
      else state.deniedFunctions.add(fm)
    },
    setVariants: (v) => {
      Object.assign(state.variants, checkVariants(v))
    },
    variants: () => ({ ...state.variants }),
    injectFault: (fault: RfcFault) => state.faults.add(fault),
    clearFaults: () => state.faults.clear(),
    hold: (match) => state.holds.add(match),
    subscriptions: () =>
      [...state.odq.subs.values()].map((s) => ({
        subscriberType: s.subscriber.type,
        subscriberName: s.subscriber.name,
        subscriberProcess: s.subscriber.process,
        context: s.context,
        odpName: s.odpName,
        selection: s.selection.lines.map((l) => ({ ...l })),
        confirmedSeq: s.confirmedSeq,
        requests: s.requests.map((r) => ({
          pointer: r.pointer,
          mode: r.mode,
          kind: r.kind,
          state: r.state,
          explicitClose: r.explicitClose,
          packagesFetched: r.packages.length,
          ...(r.repeatOf !== undefined ? { repeatOf: r.repeatOf } : {}),
        })),
      })),
    stats: () => ({
      calls: state.stats.calls,
      byFunction: { ...state.stats.byFunction },
      rowsVisited: state.stats.rowsVisited,
      faultsFired: state.faults.fired,
      running: state.running.size,
      connections: { ...state.connections },
    }),
  }
}
