/** TABLE_RFC watermark deltas through the RFC simulator (docs/sap-protocols.md §C.7). */
import { describe, expect, it } from 'vitest'
import type { Row } from '../../../src/sap/fields.js'
import type { TablePosition } from '../../../src/sap/rfc/index.js'
import type { RfcSimulator, SapRow } from '../../../src/simulator/rfc/index.js'
import { drain, expectedRow, rfcSim, signal, simRows, source, sourceError, tableSpec } from './sim.js'

const FIELDS = ['VBELN', 'POSNR', 'ARKTX', 'NETWR', 'WAERK', 'KWMENG', 'ERDAT', 'AEDAT', 'AEZET', 'CHANGED_AT', 'LTEXT']

/** The current rows of the given keys, as the client must deliver them. */
async function current(sim: RfcSimulator, keys: Set<string>): Promise<SapRow[]> {
  return (await simRows(sim, 'ZSD_ITEMS')).filter((r) => keys.has(`${r.VBELN}/${r.POSNR}`))
}

const secondsOf = (s: string) =>
  Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(8, 10), +s.slice(10, 12), +s.slice(12, 14)) / 1000

const keysOf = (changes: Array<{ key: Record<string, unknown> }>) => new Set(changes.map((c) => `${c.key.VBELN}/${c.key.POSNR}`))

async function run(src: ReturnType<typeof source>, spec: ReturnType<typeof tableSpec>, mode: 'DELTA_INIT' | 'DELTA', position?: string) {
  const read = await src.read({ spec, mode, position, signal: signal() })
  return { columns: read.columns, ...(await drain(read)) }
}

describe('TABLE_RFC watermark deltas (RFC simulator)', () => {
  it('CHANGED_AT: init, then exactly the inserted and changed rows; deletes are invisible; nothing repeats', async () => {
    const sim = await rfcSim({ tables: { ZSD_ITEMS: 600 } })
    const src = source(sim)
    const spec = tableSpec('ZSD_ITEMS', { fields: FIELDS, watermarkField: 'CHANGED_AT', pageSize: 64 })
    const init = await run(src, spec, 'DELTA_INIT')
    expect(init.rows).toEqual((await simRows(sim, 'ZSD_ITEMS')).map((r) => expectedRow(init.columns, r)))
    const p0 = JSON.parse(init.end.position!) as TablePosition
    const maxStamp = (await simRows(sim, 'ZSD_ITEMS'))
      .map((r) => String(r.CHANGED_AT))
      .sort()
      .at(-1)
    expect(p0).toMatchObject({ kind: 'TABLE_RFC', table: 'ZSD_ITEMS', watermarkField: 'CHANGED_AT', overlapSeconds: 3600 })
    // the position is fixed before the read (§C.7): the highest stamp the table held then, searched
    // to within 1/16 of the overlap window (225 s) and never above it
    expect(p0.watermark! <= maxStamp!).toBe(true)
    expect(secondsOf(maxStamp!) - secondsOf(p0.watermark!)).toBeLessThanOrEqual(225)
    expect(init.end.token).toBe(p0.watermark)

    const changed = [...sim.admin.update('ZSD_ITEMS', 4), ...sim.admin.insert('ZSD_ITEMS', 3)]
    const deleted = sim.admin.delete('ZSD_ITEMS', 2)
    const calls = sim.admin.stats().byFunction['RFC_READ_TABLE']
    const d1 = await run(src, spec, 'DELTA', init.end.position)
    // a delta that fits one page costs one scan in SAP (plus the NO_DATA metadata call)
    expect(sim.admin.stats().byFunction['RFC_READ_TABLE'] - calls).toBe(2)
    const expected = await current(sim, keysOf(changed))
    expect(expected).toHaveLength(7)
    expect(d1.rows).toEqual(expected.map((r) => expectedRow(d1.columns, r)))
    for (const d of deleted) expect(d1.rows.some((r) => r[1] === d.key.VBELN && r[2] === d.key.POSNR)).toBe(false)
    const p1 = JSON.parse(d1.end.position!) as TablePosition
    expect(p1.watermark! > p0.watermark!).toBe(true)
    expect(p1.seen.length).toBeGreaterThanOrEqual(7)

    // no change: the overlap window is re-read from SAP but nothing is delivered twice
    const d2 = await run(src, spec, 'DELTA', d1.end.position)
    expect(d2.rows).toEqual([])
    expect(JSON.parse(d2.end.position!)).toEqual(p1)

    // a row changed again (the watermark moves) comes again, with its new values
    sim.admin.advanceClock(60)
    const again = sim.admin.update('ZSD_ITEMS', [changed[0].key])
    const d3 = await run(src, spec, 'DELTA', d2.end.position)
    expect(d3.rows).toEqual((await current(sim, keysOf(again))).map((r) => expectedRow(d3.columns, r)))
  })

  it('AEDAT (date only): the boundary day is re-read, de-duplicated by content; a row changed twice on one day comes twice', async () => {
    const sim = await rfcSim({ tables: { ZSD_ITEMS: 400 } })
    const src = source(sim)
    const spec = tableSpec('ZSD_ITEMS', { fields: FIELDS, watermarkField: 'AEDAT', pageSize: 50 })
    const init = await run(src, spec, 'DELTA_INIT')
    expect(init.rows).toHaveLength(400)
    const u1 = sim.admin.update('ZSD_ITEMS', 3)
    const d1 = await run(src, spec, 'DELTA', init.end.position)
    expect(d1.rows).toEqual((await current(sim, keysOf(u1))).map((r) => expectedRow(d1.columns, r)))
    expect(JSON.parse(d1.end.position!).watermark).toBe(sim.admin.now().slice(0, 8))

    // same day, same AEDAT, new content: delivered again; its two unchanged neighbours are not
    const u2 = sim.admin.update('ZSD_ITEMS', [u1[1].key])
    const d2 = await run(src, spec, 'DELTA', d1.end.position)
    expect(d2.rows).toEqual((await current(sim, keysOf(u2))).map((r) => expectedRow(d2.columns, r)))
    const d3 = await run(src, spec, 'DELTA', d2.end.position)
    expect(d3.rows).toEqual([])
    // inserted rows carry no AEDAT (only ERDAT): a change-date watermark cannot see them (§C.7)
    sim.admin.insert('ZSD_ITEMS', 2)
    expect((await run(src, spec, 'DELTA', d3.end.position)).rows).toEqual([])
  })

  it('AEDAT+AEZET: a date and a time field together', async () => {
    const sim = await rfcSim({ tables: { ZSD_ITEMS: 300 } })
    const src = source(sim)
    const spec = tableSpec('ZSD_ITEMS', { fields: ['VBELN', 'POSNR', 'NETWR'], watermarkField: 'AEDAT+AEZET', pageSize: 40 })
    const init = await run(src, spec, 'DELTA_INIT')
    // the watermark fields are read even when not selected
    expect(init.columns.map((c) => c.name)).toEqual(['MANDT', 'VBELN', 'POSNR', 'NETWR', 'AEDAT', 'AEZET'])
    const u = sim.admin.update('ZSD_ITEMS', 5)
    const d1 = await run(src, spec, 'DELTA', init.end.position)
    expect(d1.rows).toEqual((await current(sim, keysOf(u))).map((r) => expectedRow(d1.columns, r)))
    const stamps = (await simRows(sim, 'ZSD_ITEMS')).filter((r) => r.AEDAT !== '00000000').map((r) => `${r.AEDAT}${r.AEZET}`)
    expect(d1.end.token).toBe(stamps.sort().at(-1))
  })

  it('a bare watermark as position (the run token) re-delivers the overlap window, never less', async () => {
    const sim = await rfcSim({ tables: { ZSD_ITEMS: 200 } })
    const src = source(sim, { watermarkOverlapSeconds: 0 })
    const spec = tableSpec('ZSD_ITEMS', { fields: FIELDS, watermarkField: 'CHANGED_AT' })
    const init = await run(src, spec, 'DELTA_INIT')
    const u = sim.admin.update('ZSD_ITEMS', 2)
    const fromToken = await run(src, spec, 'DELTA', init.end.token)
    const rows: Row[] = fromToken.rows
    const expected = (await simRows(sim, 'ZSD_ITEMS')).filter((r) => String(r.CHANGED_AT) >= init.end.token!)
    expect(rows).toEqual(expected.map((r) => expectedRow(fromToken.columns, r)))
    expect(expected.length).toBeGreaterThanOrEqual(u.length)
  })

  it('an empty table: the DELTA after its DELTA_INIT asks for any set watermark with a date SAP accepts, and gets the first changes', async () => {
    for (const watermarkField of ['AEDAT', 'AEDAT+AEZET']) {
      const sim = await rfcSim({ tables: { ZSD_ITEMS: 0 } })
      const src = source(sim)
      const spec = tableSpec('ZSD_ITEMS', { fields: FIELDS, watermarkField })
      const init = await run(src, spec, 'DELTA_INIT')
      expect(init.rows).toEqual([])
      sim.admin.insert('ZSD_ITEMS', 3)
      const u = sim.admin.update('ZSD_ITEMS', 2)
      // year 0000 is no date: '00000101' made SAP dump with SAPSQL_DATA_LOSS (§C.6)
      const d = await run(src, spec, 'DELTA', init.end.position)
      expect(d.rows).toEqual((await current(sim, keysOf(u))).map((r) => expectedRow(d.columns, r)))
    }
  })

  it('refuses deltas it cannot do', async () => {
    const sim = await rfcSim({ tables: { ZSD_ITEMS: 10 } })
    const src = source(sim)
    const read = (spec: ReturnType<typeof tableSpec>, mode: 'DELTA_INIT' | 'DELTA', position?: string) =>
      src.read({ spec, mode, position, signal: signal() })
    expect((await sourceError(read(tableSpec('ZSD_ITEMS'), 'DELTA_INIT'))).message).toMatch(/needs a watermark field/)
    expect((await sourceError(read(tableSpec('ZSD_ITEMS', { watermarkField: 'MATNR' }), 'DELTA_INIT'))).message).toMatch(/neither a date/)
    expect((await sourceError(read(tableSpec('ZSD_ITEMS', { watermarkField: 'AEDAT' }), 'DELTA'))).code).toBe('DELTA_POSITION_LOST')
    const init = await drain(await read(tableSpec('ZSD_ITEMS', { fields: ['NETWR'], watermarkField: 'AEDAT' }), 'DELTA_INIT'))
    expect((await sourceError(read(tableSpec('ZSD_ITEMS', { watermarkField: 'CHANGED_AT' }), 'DELTA', init.end.position))).code).toBe(
      'DELTA_POSITION_LOST',
    )
  })
})
