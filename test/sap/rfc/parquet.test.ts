/**
 * What the RFC sources produce, written by the project's Parquet writer and read back by DuckDB (an
 * independent reader), compared value by value with the simulator's rows — the same check as for OData.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SourceRead } from '../../../src/sap/source.js'
import type { SapRow } from '../../../src/simulator/rfc/index.js'
import { ParquetRoller } from '../../../src/transform/index.js'
import { odpSpec, rfcSim, signal, simRows, source, tableSpec } from './sim.js'

let dir: string
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rfc-parquet-'))
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

type LakeRow = Record<string, unknown>

/** Streams a read into Parquet files and returns DuckDB's rows (JSON forms: exact decimal text, ISO dates). */
async function lake(read: SourceRead, name: string): Promise<{ rows: LakeRow[]; types: Record<string, string> }> {
  const sub = path.join(dir, name)
  fs.mkdirSync(sub)
  const roller = new ParquetRoller(read.columns, {
    dir: sub,
    fileName: (i) => `part-${String(i).padStart(5, '0')}.parquet`,
    compression: 'SNAPPY',
    rowGroupRows: 1000,
    maxFileBytes: 256 * 1024,
  })
  const files = []
  for await (const page of read.pages) files.push(...(await roller.write(page.rows)))
  files.push(...(await roller.finish()))
  await read.end()
  const db = await DuckDBInstance.create(':memory:')
  const conn = await db.connect()
  const list = files.map((f) => `'${f.localPath}'`).join(', ')
  const r = await conn.runAndReadAll(
    `SELECT * EXCLUDE (filename, file_row_number) FROM read_parquet([${list}], filename = true, file_row_number = true) ORDER BY filename, file_row_number`,
  )
  const types = Object.fromEntries(r.columnNames().map((n, i) => [n, r.columnTypes()[i].toString()]))
  const rows = r.getRowObjectsJson() as LakeRow[]
  conn.closeSync()
  db.closeSync()
  return { rows, types }
}

/** A simulator row (ABAP notation) as DuckDB renders it, by the column's DuckDB type. */
function lakeRow(types: Record<string, string>, r: SapRow, extra: LakeRow = {}): LakeRow {
  const out: LakeRow = {}
  for (const [name, type] of Object.entries(types)) {
    if (name in extra) {
      out[name] = extra[name]
      continue
    }
    const v = r[name]
    const s = String(v)
    if (type === 'DATE') out[name] = s === '00000000' ? null : `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}`
    else if (type === 'TIME') out[name] = `${s.slice(0, 2)}:${s.slice(2, 4)}:${s.slice(4, 6)}`
    else if (type.startsWith('DECIMAL')) {
      const scale = Number(/,(\d+)\)/.exec(type)![1])
      const neg = s.startsWith('-')
      const [i, f = ''] = (neg ? s.slice(1) : s).split('.')
      out[name] = `${neg ? '-' : ''}${BigInt(i)}${scale ? '.' + f.padEnd(scale, '0') : ''}`
    } else if (type === 'INTEGER') out[name] = Number(v)
    else out[name] = v
  }
  return out
}

describe('RFC reads → Parquet → DuckDB', () => {
  it('TABLE_RFC: a wide table in column groups, every value as written', async () => {
    const sim = await rfcSim({ tables: { ZMAT_WIDE: 450 } })
    const read = await source(sim).read({ spec: tableSpec('ZMAT_WIDE', { pageSize: 120 }), mode: 'FULL', signal: signal() })
    const { rows, types } = await lake(read, 'wide')
    expect(types).toMatchObject({ MATNR: 'VARCHAR', BRGEW: 'DECIMAL(13,3)', STPRS: 'DECIMAL(11,2)', LAEDA: 'DATE' })
    expect(rows).toEqual((await simRows(sim, 'ZMAT_WIDE')).map((r) => lakeRow(types, r)))
    expect(rows.some((r) => String(r.STPRS).startsWith('-'))).toBe(true)
    expect(rows.some((r) => r.LAEDA === null)).toBe(true)
  })

  it('ODP_RFC: a delta with change modes, negative numbers, 24:00:00 and multi-byte text', async () => {
    const sim = await rfcSim({ odps: { ZSD_ITEMS_CDC: 400 } })
    const src = source(sim)
    const init = await src.read({ spec: odpSpec(), mode: 'DELTA_INIT', signal: signal() })
    const initLake = await lake(init, 'init')
    const { types } = initLake
    expect(types).toMatchObject({
      NETWR: 'DECIMAL(15,2)',
      KWMENG: 'DECIMAL(13,3)',
      ERDAT: 'DATE',
      ERZET: 'TIME',
      ANZPK: 'INTEGER',
      ODQ_CHANGEMODE: 'VARCHAR',
      ODQ_ENTITYCNTR: 'DECIMAL(19,0)',
    })
    expect(initLake.rows).toEqual(
      (await simRows(sim, 'ZSD_ITEMS_CDC')).map((r) => lakeRow(types, r, { ODQ_CHANGEMODE: '', ODQ_ENTITYCNTR: '0' })),
    )
    expect(initLake.rows.some((r) => r.ERZET === '24:00:00')).toBe(true)
    const { position } = await init.end()
    await init.confirm!(signal())

    const seen = sim.admin.changeLog('ZSD_ITEMS_CDC').length
    sim.admin.insert('ZSD_ITEMS_CDC', 5)
    sim.admin.update('ZSD_ITEMS_CDC', 6)
    sim.admin.delete('ZSD_ITEMS_CDC', 3)
    const changes = sim.admin.changeLog('ZSD_ITEMS_CDC').slice(seen)
    const delta = await src.read({ spec: odpSpec(), mode: 'DELTA', position, signal: signal() })
    const d = await lake(delta, 'delta')
    const m = (mode: string, counter: string) => ({ ODQ_CHANGEMODE: mode, ODQ_ENTITYCNTR: counter })
    const expected = changes.flatMap((c) =>
      c.mode === 'C'
        ? [lakeRow(types, c.after!, m('C', '1'))]
        : c.mode === 'D'
          ? [lakeRow(types, c.before!, m('D', '-1'))]
          : [lakeRow(types, c.before!, m('U', '-1')), lakeRow(types, c.after!, m('U', '1'))],
    )
    expect(d.rows).toEqual(expected)
    expect(d.rows).toHaveLength(5 + 12 + 3)
  })
})
