import { afterEach, describe, expect, it } from 'vitest'
import { SALES_ITEMS, TYPES_SET, type ChangeRef, type SapRow, type SimulatorVariants } from '../../src/simulator/index.js'
import { Harness } from '../helpers/harness.js'
import { readRun, type LakeRow } from '../helpers/lake.js'

/** How each change must appear in a delta file, given how the SAP system reports updates and inserts. */
function expectedKeys(changes: ChangeRef[], v: Partial<SimulatorVariants>): string[] {
  return changes.flatMap((c) => {
    const k = `${c.key.VBELN}/${c.key.POSNR}`
    if (c.mode === 'C') return [`${k}/${v.insertsAsUpdates ? 'U' : 'C'}/1`]
    if (c.mode === 'D') return [`${k}/D/-1`]
    return v.updateImages === 'after-only' ? [`${k}/U/1`] : [`${k}/U/-1`, `${k}/U/1`]
  })
}
const deliveredKey = (r: LakeRow) => `${r.VBELN}/${r.POSNR}/${r.ODQ_CHANGEMODE}/${r.ODQ_ENTITYCNTR}`

describe('SAP behaviours the pipeline must survive (simulator variants)', () => {
  let h: Harness
  afterEach(() => h?.stop())

  it.each<[string, Partial<SimulatorVariants>]>([
    ['the token on d.__delta (documented)', {}],
    ['the token in a terminal __next with empty results', { tokenPlacement: 'terminal-next' }],
    ['no inline token: DeltaLinksOf fallback', { tokenPlacement: 'absent' }],
    ['unquoted tokens', { tokenQuoted: false, tokenPlacement: 'terminal-next' }],
    ['escaped \\/Date()\\/ slashes', { escapedDateSlashes: true }],
    ['after images only (AIE)', { updateImages: 'after-only' }],
    ['inserts delivered as updates (CDS CDC)', { insertsAsUpdates: true }],
    ['paged delta __next links that carry the token', { nextLinkCarriesDeltaToken: true }],
    ['old tokens gone once a newer one is used', { oldTokens: 'gone' }],
    ['preference-applied on every page', { preferenceAppliedOnLastPage: false }],
  ])('%s: init and two delta rounds deliver every change once', async (_, variants) => {
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 90 }, variants } })
    const { pipelineId } = await h.createPipeline({ pageSize: 25 })
    const init = await h.run(pipelineId)
    expect(init).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '90' })
    expect(init.deltaTokenOut).toMatch(/^D\d{14}_\d{9}$/)
    const { rows: snapshot } = await readRun(init.manifestUri!)
    const expectedSnapshot: string[] = []
    for await (const r of h.sim.admin.rows(SALES_ITEMS))
      expectedSnapshot.push(`${r.VBELN}/${r.POSNR}/${r.ERDAT === '00000000' ? null : r.ERDAT}`)
    expect(snapshot.map((r) => `${r.VBELN}/${r.POSNR}/${r.ERDAT === null ? null : String(r.ERDAT).replaceAll('-', '')}`)).toEqual(
      expectedSnapshot,
    )

    let token = init.deltaTokenOut
    for (const round of [1, 2]) {
      const changes = [
        ...h.sim.admin.insert(SALES_ITEMS, 20 * round),
        ...h.sim.admin.update(SALES_ITEMS, 6),
        ...h.sim.admin.delete(SALES_ITEMS, 4),
      ]
      const run = await h.run(pipelineId)
      expect(run).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', deltaTokenIn: token })
      expect(run.deltaTokenOut).not.toBe(token)
      const { rows } = await readRun(run.manifestUri!)
      expect(rows.map(deliveredKey)).toEqual(expectedKeys(changes, variants))
      token = run.deltaTokenOut
    }
  })

  it('an empty delta that returns a new token moves the stored position on', async () => {
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 30 }, variants: { emptyDeltaNewToken: true } } })
    const { pipelineId } = await h.createPipeline({ pageSize: 25 })
    const init = await h.run(pipelineId)
    const empty = await h.run(pipelineId)
    expect(empty).toMatchObject({ status: 'SUCCEEDED', rowsWritten: '0', deltaTokenIn: init.deltaTokenOut })
    expect(empty.deltaTokenOut).not.toBe(init.deltaTokenOut)
    expect(empty.pipeline.deltaState?.token).toBe(empty.deltaTokenOut)
    const changes = h.sim.admin.delete(SALES_ITEMS, 2)
    const next = await h.run(pipelineId)
    expect(next.deltaTokenIn).toBe(empty.deltaTokenOut)
    expect((await readRun(next.manifestUri!)).rows.map(deliveredKey)).toEqual(expectedKeys(changes, {}))
  })

  it('a second delta subscription refused by SAP (replace = error) fails the re-init clearly until the delta is reset', async () => {
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 30 }, variants: { subscriptionConflict: 'error' } } })
    const { pipelineId } = await h.createPipeline({ pageSize: 25 })
    expect((await h.run(pipelineId)).status).toBe('SUCCEEDED')
    const reinit = await h.run(pipelineId, 'DELTA_INIT')
    expect(reinit).toMatchObject({ status: 'FAILED', error: { code: 'SOURCE_BAD_REQUEST', retryable: false } })
    expect(reinit.error?.message).toMatch(/subscription/i)
  })
})

describe('every EDM type lands in Parquet exactly', () => {
  let h: Harness
  afterEach(() => h?.stop())

  it('FactsOfZTYPES: integers, 64-bit, doubles, booleans, binary, GUIDs, timestamps, dates, times, max-precision decimals', async () => {
    h = await Harness.start({ sim: { rows: { [TYPES_SET]: 60 } } })
    const { pipelineId } = await h.createPipeline({ mode: 'FULL', entitySet: TYPES_SET, pageSize: 16 })
    const run = await h.run(pipelineId)
    expect(run).toMatchObject({ status: 'SUCCEEDED', rowsWritten: '60' })
    const { rows, types } = await readRun(run.manifestUri!)
    expect(types).toMatchObject({
      ID: 'INTEGER',
      TXT: 'VARCHAR',
      NUMC10: 'VARCHAR',
      INT1: 'UTINYINT',
      INT2: 'SMALLINT',
      INT4: 'INTEGER',
      INT8: 'BIGINT',
      FLTP: 'DOUBLE',
      FLAG: 'BOOLEAN',
      RAW16: 'BLOB',
      GUID: 'VARCHAR',
      DATS: 'DATE',
      TIMS: 'TIME',
      DEC31: 'DECIMAL(31,14)',
      DEC37: 'DECIMAL(37,0)',
    })
    expect(types.TSTMP).toMatch(/^TIMESTAMP/)
    const expected: SapRow[] = []
    for await (const r of h.sim.admin.rows(TYPES_SET)) expected.push(r)
    expect(rows).toHaveLength(expected.length)
    rows.forEach((row, i) => {
      const e = expected[i]
      expect({
        ID: row.ID,
        TXT: row.TXT,
        NUMC10: row.NUMC10,
        INT1: row.INT1,
        INT2: row.INT2,
        INT4: row.INT4,
        INT8: row.INT8,
        FLAG: row.FLAG,
        GUID: row.GUID,
        DEC31: row.DEC31,
        DEC37: row.DEC37,
        FLTP: row.FLTP,
      }).toEqual({
        ID: e.ID,
        TXT: e.TXT,
        NUMC10: e.NUMC10,
        INT1: e.INT1,
        INT2: e.INT2,
        INT4: e.INT4,
        INT8: e.INT8,
        FLAG: e.FLAG,
        GUID: e.GUID,
        DEC31: e.DEC31,
        DEC37: e.DEC37,
        FLTP: e.FLTP,
      })
      expect(row.DATS).toBe(
        e.DATS === '00000000' || e.DATS === null
          ? null
          : `${String(e.DATS).slice(0, 4)}-${String(e.DATS).slice(4, 6)}-${String(e.DATS).slice(6)}`,
      )
      const t = String(e.TIMS)
      const [hms, ms] = t.split('.')
      const fraction = (ms ?? '').replace(/0+$/, '') // DuckDB prints 09:50:50.82 for .820
      expect(row.TIMS).toBe(`${hms.slice(0, 2)}:${hms.slice(2, 4)}:${hms.slice(4, 6)}${fraction ? '.' + fraction : ''}`)
      expect(row.RAW16 == null ? null : blobHex(String(row.RAW16))).toBe(
        e.RAW16 == null ? null : Buffer.from(String(e.RAW16), 'base64').toString('hex'),
      )
      if (e.TSTMP == null) expect(row.TSTMP).toBeNull()
      else expect(new Date(String(row.TSTMP)).toISOString().replace(/\D/g, '').slice(0, 14)).toBe(e.TSTMP)
    })
    // the extremes really were there
    expect(rows.some((r) => r.TIMS === '24:00:00')).toBe(true)
    expect(rows.some((r) => r.INT8 === '-9223372036854775808')).toBe(true)
    expect(rows.some((r) => r.DEC37 === '9999999999999999999999999999999999999')).toBe(true)
  })
})

/** DuckDB renders a BLOB as text with \xNN escapes for non-printable bytes. */
function blobHex(rendered: string): string {
  const bytes: number[] = []
  for (let i = 0; i < rendered.length; ) {
    if (rendered.startsWith('\\x', i)) {
      bytes.push(parseInt(rendered.slice(i + 2, i + 4), 16))
      i += 4
    } else bytes.push(rendered.charCodeAt(i++))
  }
  return Buffer.from(bytes).toString('hex')
}
