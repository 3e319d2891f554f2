/**
 * The position an unsplit TABLE_RFC DELTA_INIT commits (docs/sap-protocols.md §C.7, "Split
 * initialisation" and "Limits"): fixed before the read, as for a split one, so a change made while
 * the read is under way is never stamped below where the next DELTA starts. The read is held between
 * its calls with the RFC simulator's `hold`, so each change provably falls between two of them.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Row } from '../../../src/sap/fields.js'
import type { TablePosition } from '../../../src/sap/rfc/index.js'
import type { RfcHold, RfcSimulator, RowKey } from '../../../src/simulator/rfc/index.js'
import { drain, expectedRow, rfcSim, signal, simRows, source, tableSpec } from './sim.js'

/** Narrow enough for one column group: a page is one key probe and one data call. */
const FIELDS = ['VBELN', 'POSNR', 'NETWR', 'AEDAT', 'AEZET', 'CHANGED_AT']

type WatermarkField = 'CHANGED_AT' | 'AEDAT' | 'AEDAT+AEZET'

const text = (r: Row) => JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? v.toString() : v))
/** VBELN/POSNR of a row in the read's column order (MANDT, VBELN, POSNR, …). */
const keyOf = (r: Row) => `${r[1]}/${r[2]}`

/** Holds the next call of the read proper (not the one-row probes, not the field metadata). */
const holdNextPage = (sim: RfcSimulator): RfcHold =>
  sim.admin.hold(({ functionModule, input }) => functionModule === 'RFC_READ_TABLE' && input.NO_DATA !== 'X' && Number(input.ROWCOUNT) > 1)

/**
 * A DELTA_INIT read whole, with `between(callNo)` run while its `callNo`-th page call is held (after
 * the position is fixed, before that call reaches SAP); then `after`, then one DELTA.
 */
async function scenario(
  sim: RfcSimulator,
  watermark: WatermarkField,
  between: (call: number, read: Row[]) => Promise<void>,
  after: (read: Row[]) => Promise<void> = async () => {},
) {
  const src = source(sim)
  const spec = tableSpec('ZSD_ITEMS', { fields: FIELDS, watermarkField: watermark, pageSize: 40 })
  const read = await src.read({ spec, mode: 'DELTA_INIT', signal: signal() })
  expect(read.columns.slice(0, 3).map((c) => c.name)).toEqual(['MANDT', 'VBELN', 'POSNR'])
  const snapshot: Row[] = []
  let hold = holdNextPage(sim)
  const consumed = (async () => {
    for await (const page of read.pages) snapshot.push(...page.rows)
  })()
  let done = false
  void consumed.finally(() => (done = true)).catch(() => {})
  for (let call = 0; ; call++) {
    await Promise.race([hold.arrived, consumed])
    if (done && hold.held() === 0) break
    await between(call, snapshot)
    const held = hold
    hold = holdNextPage(sim)
    held.release()
  }
  hold.release()
  await consumed
  const end = await read.end()
  await after(snapshot)
  const delta = await drain(await src.read({ spec, mode: 'DELTA', position: end.position, signal: signal() }))
  const current = (await simRows(sim, 'ZSD_ITEMS')).map((r) => expectedRow(read.columns, r))
  return { snapshot, end, delta, current }
}

/** The lake after the DELTA is SAP's table, and the DELTA held exactly the rows the snapshot lacked, once each. */
function expectExactlyOnce({ snapshot, delta, current }: Awaited<ReturnType<typeof scenario>>): void {
  const held = new Map(snapshot.map((r) => [keyOf(r), text(r)]))
  expect(held.size, 'a row read twice by the DELTA_INIT').toBe(snapshot.length)
  const lake = new Map(held)
  for (const r of delta.rows) lake.set(keyOf(r), text(r))
  expect([...lake.values()].sort()).toEqual(current.map(text).sort())
  const lacking = current.filter((r) => held.get(keyOf(r)) !== text(r)).map(text)
  expect(delta.rows.map(text).sort()).toEqual(lacking.sort())
}

const rowKey = (r: Row): RowKey => ({ VBELN: String(r[1]), POSNR: String(r[2]) })

describe('the position of an unsplit TABLE_RFC DELTA_INIT', () => {
  it('a row changed early in a long read, stamped more than the overlap below a row changed later and read later, comes in the next DELTA', async () => {
    const sim = await rfcSim({ tables: { ZSD_ITEMS: 400 } })
    const last = (await simRows(sim, 'ZSD_ITEMS')).at(-1)!
    let early: RowKey | undefined
    const s = await scenario(sim, 'CHANGED_AT', async (call, read) => {
      // Held at the third call: the first page is read. Its first row changes now; two hours later
      // (beyond the 1 h overlap) the table's last row, not read yet, changes too.
      if (call !== 2) return
      expect(read.length).toBeGreaterThan(0)
      early = rowKey(read[0])
      expect(read.some((r) => keyOf(r) === `${last.VBELN}/${last.POSNR}`)).toBe(false)
      sim.admin.update('ZSD_ITEMS', [early])
      sim.admin.advanceClock(7_200)
      sim.admin.update('ZSD_ITEMS', [{ VBELN: String(last.VBELN), POSNR: String(last.POSNR) }])
    })
    const [a, b] = sim.admin.changeLog('ZSD_ITEMS').slice(-2)
    expect(String(b.after!.CHANGED_AT) > String(a.after!.CHANGED_AT)).toBe(true)
    // the snapshot holds A's old version and B's new one
    const inSnapshot = (k: RowKey) => s.snapshot.find((r) => keyOf(r) === `${k.VBELN}/${k.POSNR}`)!
    expect(text(inSnapshot(a.key))).not.toEqual(text(s.current.find((r) => keyOf(r) === keyOf(inSnapshot(a.key)))!))
    expect(text(inSnapshot(b.key))).toEqual(text(s.current.find((r) => keyOf(r) === keyOf(inSnapshot(b.key)))!))
    // the position lies below A's change: before the read started, not at the highest stamp read (B's)
    const p = JSON.parse(s.end.position!) as TablePosition
    expect(p.watermark! < String(a.after!.CHANGED_AT)).toBe(true)
    expect(s.end.token).toBe(p.watermark)
    // the DELTA delivers A's change; B's is in the snapshot already and is not delivered twice
    expect(s.delta.rows.map(keyOf)).toEqual([`${early!.VBELN}/${early!.POSNR}`])
    expectExactlyOnce(s)
  })

  it('whatever changes between its calls and after it, the next DELTA delivers exactly what the snapshot lacks', async () => {
    const changes = fc.record({
      // rows to update: one the read has delivered already, or one it has not (a share of either list)
      updates: fc.array(fc.record({ readAlready: fc.boolean(), at: fc.double({ min: 0, max: 1, noNaN: true }) }), { maxLength: 3 }),
      inserts: fc.integer({ min: 0, max: 2 }),
      // 2 h is beyond the 1 h overlap window of a timestamp, 2 days beyond the day of a date
      advance: fc.constantFrom(0, 60, 7_200, 7_200, 2 * 86_400),
    })
    type Changes = { updates: Array<{ readAlready: boolean; at: number }>; inserts: number; advance: number }
    const apply = async (sim: RfcSimulator, c: Changes, watermark: WatermarkField, read: Row[]) => {
      if (c.advance) sim.admin.advanceClock(c.advance)
      const seen = new Set(read.map(keyOf))
      const all = (await simRows(sim, 'ZSD_ITEMS')).map((r): RowKey => ({ VBELN: String(r.VBELN), POSNR: String(r.POSNR) }))
      const [done, notYet] = [all.filter((k) => seen.has(`${k.VBELN}/${k.POSNR}`)), all.filter((k) => !seen.has(`${k.VBELN}/${k.POSNR}`))]
      const keys = c.updates.flatMap(({ readAlready, at }) => {
        const from = readAlready ? done : notYet
        return from.length ? [from[Math.min(from.length - 1, Math.floor(at * from.length))]] : []
      })
      const unique = [...new Map(keys.map((k) => [`${k.VBELN}/${k.POSNR}`, k])).values()]
      if (unique.length) sim.admin.update('ZSD_ITEMS', unique)
      // a date watermark (AEDAT) is set by changes only: inserted rows are invisible to it (§C.7)
      if (c.inserts && watermark === 'CHANGED_AT') sim.admin.insert('ZSD_ITEMS', c.inserts)
    }
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0, 30, 150, 300),
        fc.array(changes, { minLength: 1, maxLength: 8 }),
        changes,
        fc.constantFrom<WatermarkField>('CHANGED_AT', 'CHANGED_AT', 'AEDAT', 'AEDAT+AEZET'),
        async (rows, during, after, watermark) => {
          const sim = await rfcSim({ tables: { ZSD_ITEMS: rows } })
          const s = await scenario(
            sim,
            watermark,
            (call, read) => apply(sim, during[call] ?? { updates: [], inserts: 0, advance: 0 }, watermark, read),
            (read) => apply(sim, after, watermark, read),
          )
          expectExactlyOnce(s)
          await sim.close()
        },
      ),
      { numRuns: 30 },
    )
  })
})
