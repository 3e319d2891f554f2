/**
 * A TABLE_RFC DELTA_INIT split into key-range partitions (docs/sap-protocols.md §C.7, split
 * initialisation), at the source: the partitions read one after another, with changes made between
 * them — to rows of partitions already read and of partitions still to read, with the clock moving
 * further than the overlap window — and after. The next DELTA must deliver exactly the rows whose
 * content the snapshot does not hold: every change, none twice.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Row } from '../../../src/sap/fields.js'
import type { SourceReadEnd } from '../../../src/sap/source.js'
import type { TablePosition } from '../../../src/sap/rfc/index.js'
import type { RfcSimulator, RowKey } from '../../../src/simulator/rfc/index.js'
import { drain, expectedRow, rfcSim, signal, simRows, source, tableSpec } from './sim.js'

const FIELDS = ['VBELN', 'POSNR', 'ARKTX', 'NETWR', 'WAERK', 'KWMENG', 'ERDAT', 'AEDAT', 'AEZET', 'CHANGED_AT', 'LTEXT']

/** What the test does to SAP between two partition reads. */
interface Changes {
  /** Rows updated, each a share of the table's current rows (0 = first key, 1 = last). */
  updates: number[]
  inserts: number
  /** Seconds the clock moves first: 2 h is beyond the 1 h overlap window of a timestamp. */
  advance: number
}

const changesArb: fc.Arbitrary<Changes> = fc.record({
  updates: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
  inserts: fc.integer({ min: 0, max: 2 }),
  advance: fc.constantFrom(0, 60, 7_200, 7_200, 2 * 86_400),
})

type WatermarkField = 'CHANGED_AT' | 'AEDAT' | 'AEDAT+AEZET'

async function change(sim: RfcSimulator, c: Changes, watermark: WatermarkField): Promise<void> {
  if (c.advance) sim.admin.advanceClock(c.advance)
  const rows = await simRows(sim, 'ZSD_ITEMS')
  const keys: RowKey[] = c.updates
    .filter(() => rows.length > 0)
    .map((s) => {
      const r = rows[Math.min(rows.length - 1, Math.floor(s * rows.length))]
      return { VBELN: String(r.VBELN), POSNR: String(r.POSNR) }
    })
  const unique = [...new Map(keys.map((k) => [`${k.VBELN}/${k.POSNR}`, k])).values()]
  if (unique.length) sim.admin.update('ZSD_ITEMS', unique)
  // A date watermark (AEDAT) is set by changes only: inserted rows are invisible to it (§C.7), so none are made.
  if (c.inserts && watermark === 'CHANGED_AT') sim.admin.insert('ZSD_ITEMS', c.inserts)
}

const text = (r: Row) => JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? v.toString() : v))
/** VBELN/POSNR of a row in the read's column order (MANDT, VBELN, POSNR, …). */
const keyOf = (r: Row) => `${r[1]}/${r[2]}`

/**
 * Reads a DELTA_INIT split into `parts` partitions, making `between[i]` before partition i reads
 * (between[0] after the start is fixed, before any partition); then `after`, then one DELTA.
 */
async function scenario(rows: number, parts: number, between: Changes[], after: Changes, watermark: WatermarkField = 'CHANGED_AT') {
  const sim = await rfcSim({ tables: { ZSD_ITEMS: rows } })
  const src = source(sim)
  const spec = tableSpec('ZSD_ITEMS', { fields: FIELDS, watermarkField: watermark, pageSize: 64 })
  const plan = await src.keyRanges!(spec, parts, signal())
  const init = (await src.splitInit!(spec, signal()))!
  const snapshot = new Map<string, string>()
  const ends: SourceReadEnd[] = []
  let columns = undefined as undefined | Awaited<ReturnType<typeof src.read>>['columns']
  const key = (names: string[]) => expect(names.slice(0, 3)).toEqual(['MANDT', 'VBELN', 'POSNR'])
  for (const [i, range] of plan.ranges.entries()) {
    await change(sim, between[i] ?? between.at(-1)!, watermark)
    const read = await src.read({
      spec: { ...spec, ...(plan.field ? { keyRange: { field: plan.field, ...range } } : {}) },
      mode: 'DELTA_INIT',
      position: init.start,
      signal: signal(),
    })
    columns = read.columns
    key(columns.map((c) => c.name))
    const part = await drain(read)
    for (const r of part.rows) {
      const key = keyOf(r)
      expect(snapshot.has(key), `key ${key} read by two partitions`).toBe(false)
      snapshot.set(key, text(r))
    }
    ends.push(part.end)
  }
  const end = init.join(ends)
  await change(sim, after, watermark)
  const delta = await drain(await src.read({ spec, mode: 'DELTA', position: end.position, signal: signal() }))
  const current = (await simRows(sim, 'ZSD_ITEMS')).map((r) => expectedRow(columns!, r))
  return { sim, init, end, snapshot, delta, current, ranges: plan.ranges.length }
}

describe('a TABLE_RFC DELTA_INIT split into partitions', () => {
  it('the next DELTA delivers exactly the rows the snapshot does not hold in their current version: nothing missed, nothing twice', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0, 30, 250, 700),
        fc.integer({ min: 1, max: 6 }),
        fc.array(changesArb, { minLength: 6, maxLength: 6 }),
        changesArb,
        fc.constantFrom<WatermarkField>('CHANGED_AT', 'CHANGED_AT', 'AEDAT', 'AEDAT+AEZET'),
        async (rows, parts, between, after, watermark) => {
          const { snapshot, delta, current } = await scenario(rows, parts, between, after, watermark)
          // the DELTA over the snapshot is SAP's table, row for row
          const lake = new Map(snapshot)
          for (const r of delta.rows) lake.set(keyOf(r), text(r))
          expect([...lake.values()].sort()).toEqual(current.map(text).sort())
          // and it delivered only what the snapshot lacked, each row once
          const lacking = current.filter((r) => snapshot.get(keyOf(r)) !== text(r)).map(text)
          expect(delta.rows.map(text).sort()).toEqual(lacking.sort())
        },
      ),
      { numRuns: 40 },
    )
  })

  it('a change to a partition already read, stamped below what a later partition sees, is not lost (the position is fixed before the partitions read)', async () => {
    // p00 is read, then one of its rows changes; two hours later (beyond the 1 h overlap) a row of
    // the last partition changes before that partition reads it. A position taken from the highest
    // stamp the partitions saw would start the next DELTA after the first change.
    const first: Changes = { updates: [], inserts: 0, advance: 0 }
    const laterP00: Changes = { updates: [0], inserts: 0, advance: 60 }
    const lastPart: Changes = { updates: [1], inserts: 0, advance: 7_200 }
    const { init, end, delta, sim, ranges } = await scenario(400, 3, [first, laterP00, lastPart], { updates: [], inserts: 0, advance: 0 })
    expect(ranges).toBe(3)
    const p = JSON.parse(end.position!) as TablePosition
    expect(p.watermark).toBe(init.token)
    const log = sim.admin.changeLog('ZSD_ITEMS')
    const [early, late] = [log.at(-2)!, log.at(-1)!]
    expect(String(late.after!.CHANGED_AT) > String(early.after!.CHANGED_AT)).toBe(true)
    expect(p.watermark! < String(early.after!.CHANGED_AT)).toBe(true)
    // the first change comes in the DELTA; the second was read by its partition already, and is not repeated
    expect(delta.rows.map(keyOf)).toEqual([`${early.key.VBELN}/${early.key.POSNR}`])
  })

  it('fixes the start at the highest watermark the table holds (a lower bound within 1/16 of the overlap)', async () => {
    const sim = await rfcSim({ tables: { ZSD_ITEMS: 300 } })
    const src = source(sim)
    const spec = tableSpec('ZSD_ITEMS', { fields: FIELDS, watermarkField: 'CHANGED_AT', pageSize: 64 })
    const highest = (await simRows(sim, 'ZSD_ITEMS'))
      .map((r) => String(r.CHANGED_AT))
      .sort()
      .at(-1)!
    expect(highest <= sim.admin.now()).toBe(true)
    const init = (await src.splitInit!(spec, signal()))!
    // a lower bound within 1/16 of the overlap window (225 s): the next DELTA re-reads a little more, never less
    expect(init.token! <= highest).toBe(true)
    const seconds = (s: string) =>
      Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(8, 10), +s.slice(10, 12), +s.slice(12, 14)) / 1000
    expect(seconds(highest) - seconds(init.token!)).toBeLessThanOrEqual(225)
    expect(JSON.parse(init.start)).toMatchObject({ kind: 'TABLE_RFC', watermark: init.token, seen: [] })
  })
})
