/**
 * The in-process control surface of a simulator (`SapSimulator.admin`): change data, inject faults,
 * switch variants, inspect subscriptions. The HTTP admin API is a thin JSON layer over this object.
 */
import type { SimState } from './state.js'
import { tableOf } from './state.js'
import type { ChangeRef, SapRow, SimulatorAdmin } from './types.js'
import { parseFault, parseVariants } from './validation.js'

function copyChange(c: ChangeRef): ChangeRef {
  return { seq: c.seq, mode: c.mode, key: { ...c.key }, before: c.before && { ...c.before }, after: c.after && { ...c.after } }
}

async function* rowsOf(state: SimState, entitySet: string): AsyncGenerator<SapRow> {
  const table = tableOf(state, entitySet)
  const snap = table.snapshot()
  for (let slot = 0; slot < snap.slotCount; slot++) {
    const row = table.rowAt(slot, snap)
    if (row !== null) yield { ...row }
  }
}

export function createAdmin(state: SimState): SimulatorAdmin {
  return {
    insert: (entitySet, count) => tableOf(state, entitySet).insert(count).map(copyChange),
    update: (entitySet, keysOrCount) => tableOf(state, entitySet).update(keysOrCount).map(copyChange),
    delete: (entitySet, keysOrCount) => tableOf(state, entitySet).delete(keysOrCount).map(copyChange),
    changeLog: (entitySet) => tableOf(state, entitySet).log.map(copyChange),
    rows: (entitySet) => {
      tableOf(state, entitySet) // unknown names fail at the call, not at the first iteration
      return rowsOf(state, entitySet)
    },
    rowCount: (entitySet) => tableOf(state, entitySet).rowCount,
    addField: (entitySet, field) => tableOf(state, entitySet).addField(field),
    dropField: (entitySet, name) => tableOf(state, entitySet).dropField(name),
    injectFault: (fault) => {
      const f = parseFault(fault)
      if (f.entitySet !== undefined) tableOf(state, f.entitySet)
      state.faults.add(f)
    },
    clearFaults: () => state.faults.clear(),
    setVariants: (v) => {
      Object.assign(state.variants, parseVariants(v))
    },
    expireTokens: (entitySet, user) => {
      tableOf(state, entitySet)
      state.subs.expire(entitySet, user?.toUpperCase())
    },
    subscriptions: () =>
      state.subs.all().map((s) => ({
        user: s.user,
        service: s.service,
        entitySet: s.entitySet,
        tokens: s.tokens.map((t) => t.token),
        selection: {
          ...(s.selectRaw !== undefined ? { select: s.selectRaw } : {}),
          ...(s.filterRaw !== undefined ? { filter: s.filterRaw } : {}),
        },
      })),
    openRequests: () => state.reads.size,
    stats: () => ({
      requests: state.stats.requests,
      dataPages: state.stats.dataPages,
      faultsFired: state.faults.fired,
      byPath: { ...state.stats.byPath },
      inFlight: state.inFlight.stats(),
      rowsVisited: [...state.tables.values()].reduce((n, t) => n + t.rowsVisited, 0),
    }),
  }
}
