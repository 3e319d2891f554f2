/** ODP_RFC through the RFC simulator: full, delta init, deltas, recovery with mode R, refusals. */
import { describe, expect, it } from 'vitest'
import type { Column, Row } from '../../../src/sap/fields.js'
import type { OdpPosition } from '../../../src/sap/rfc/index.js'
import { comparePointers } from '../../../src/sap/rfc/odq.js'
import type { ChangeRef, RfcSimulator, SapRow } from '../../../src/simulator/rfc/index.js'
import { drain, expectedRow, odpSpec, PARAMS, rfcSim, signal, simRows, source, sourceError } from './sim.js'

const ODP = 'ZSD_ITEMS_CDC'

/** Delta rows the change log implies (§0 change-mode table), in change order. */
function expectedDelta(columns: Column[], changes: ChangeRef[]): Row[] {
  return changes.flatMap((c) =>
    c.mode === 'C'
      ? [expectedRow(columns, c.after!, 'C', '1')]
      : c.mode === 'D'
        ? [expectedRow(columns, c.before!, 'D', '-1')]
        : [expectedRow(columns, c.before!, 'U', '-1'), expectedRow(columns, c.after!, 'U', '1')],
  )
}

function change(sim: RfcSimulator): ChangeRef[] {
  const seen = sim.admin.changeLog(ODP).length
  sim.admin.insert(ODP, 4)
  sim.admin.update(ODP, 5)
  sim.admin.delete(ODP, 2)
  return sim.admin.changeLog(ODP).slice(seen)
}

async function init(sim: RfcSimulator, src = source(sim), spec = odpSpec()) {
  const read = await src.read({ spec, mode: 'DELTA_INIT', signal: signal() })
  const d = await drain(read)
  await read.confirm!(signal())
  return { src, spec, columns: read.columns, ...d }
}

const requests = (sim: RfcSimulator) => sim.admin.subscriptions().flatMap((s) => s.requests)

describe('ODP_RFC (RFC simulator)', () => {
  it('raw rows are split over 250-byte lines, multi-byte characters included; FULL decodes every value', async () => {
    const sim = await rfcSim({ odps: { [ODP]: 700 } })
    // look at the wire: some ET_DATA line must start inside a multi-byte UTF-8 character
    const c = await sim.createClient(PARAMS).open()
    const open = await c.call('RODPS_REPL_ODP_OPEN', {
      I_SUBSCRIBER_TYPE: 'SAP_BW',
      I_CONTEXT: 'ABAP_CDS',
      I_ODPNAME: ODP,
      I_EXTRACTION_MODE: 'F',
    })
    const lines: Buffer[] = []
    for (let pkg = ''; ; ) {
      const f = await c.call('RODPS_REPL_ODP_FETCH', { I_POINTER: open['E_POINTER'], I_PACKAGE: pkg })
      lines.push(...(f['ET_DATA'] as Array<{ DATA: Buffer }>).map((l) => l.DATA))
      pkg = f['E_PACKAGE'] as string
      if (f['E_NO_MORE_DATA'] === 'X') break
    }
    await c.close()
    expect(lines.every((l) => l.length === 250)).toBe(true)
    expect(lines.some((l) => (l[0] & 0xc0) === 0x80)).toBe(true)

    const read = await source(sim).read({ spec: odpSpec({ pageSize: 150 }), mode: 'FULL', signal: signal() })
    expect(read.columns.slice(-2)).toEqual([
      {
        name: 'ODQ_CHANGEMODE',
        type: { kind: 'string', maxLength: 1 },
        nullable: true,
        key: false,
        semantics: 'change-mode',
        sourceType: 'CHAR(1)',
      },
      {
        name: 'ODQ_ENTITYCNTR',
        type: { kind: 'decimal', precision: 19, scale: 0 },
        nullable: true,
        key: false,
        semantics: 'entity-counter',
        sourceType: 'DEC(19,0)',
      },
    ])
    const d = await drain(read)
    expect(d.pageSizes.every((n) => n <= 150)).toBe(true)
    expect(d.end).toEqual({ token: expect.any(String) })
    const table = await simRows(sim, ODP)
    expect(d.rows).toEqual(table.map((r) => expectedRow(read.columns, r)))
    const col = (n: string) => read.columns.findIndex((x) => x.name === n)
    expect(d.rows.some((r) => /😀|🚀|日本|Ελλ|Кир/.test(String(r[col('LTEXT')])))).toBe(true)
    // negative packed numbers and INT4 extremes survive (they overflow RFC_READ_TABLE, not ODP)
    expect(d.rows.some((r) => String(r[col('NETPR')]).startsWith('-'))).toBe(true)
    expect(d.rows.some((r) => String(r[col('RABAT')]).startsWith('-'))).toBe(true)
    expect(d.rows.some((r) => r[col('ANZPK')] === -2_147_483_648)).toBe(true)
    // a FULL creates no subscription
    await read.confirm!(signal())
    expect(sim.admin.subscriptions()).toEqual([])
  })

  it('DELTA_INIT, then C/U/D images in change order; the request is closed only by confirm()', async () => {
    // E_NO_MORE_DATA only on an extra, empty FETCH: the client must not stop early or loop
    const sim = await rfcSim({ odps: { [ODP]: 300 }, variants: { odpNoMoreData: 'after-last-package' } })
    const src = source(sim)
    const read = await src.read({ spec: odpSpec(), mode: 'DELTA_INIT', signal: signal() })
    const first = await drain(read)
    expect(first.rows).toEqual((await simRows(sim, ODP)).map((r) => expectedRow(read.columns, r)))
    const p0 = JSON.parse(first.end.position!) as OdpPosition
    expect(p0).toEqual({
      v: 1,
      kind: 'ODP_RFC',
      context: 'ABAP_CDS',
      odp: ODP,
      subscriberType: 'SAP_BW',
      subscriberName: 'DELTA_EXTRACTOR',
      process: 'PIPE_O',
      pointer: first.end.token,
    })
    expect(requests(sim)).toMatchObject([{ pointer: p0.pointer, kind: 'init', state: 'open' }])
    await read.confirm!(signal())
    expect(requests(sim)).toMatchObject([{ pointer: p0.pointer, state: 'closed' }])

    const changes = change(sim)
    const r1 = await src.read({ spec: odpSpec(), mode: 'DELTA', position: first.end.position, signal: signal() })
    const d1 = await drain(r1)
    expect(d1.rows).toEqual(expectedDelta(r1.columns, changes))
    expect(d1.rows.map((r) => r.at(-2))).toEqual(expect.arrayContaining(['C', 'U', 'D']))
    await r1.confirm!(signal())
    // nothing new: an empty delta that still moves the position
    const r2 = await src.read({ spec: odpSpec(), mode: 'DELTA', position: d1.end.position, signal: signal() })
    const d2 = await drain(r2)
    expect(d2.rows).toEqual([])
    expect(d2.end.token! > d1.end.token!).toBe(true)
  })

  it('an interrupted delta is repeated with mode R: the same rows, then only new changes after confirm', async () => {
    const sim = await rfcSim({ odps: { [ODP]: 200 } })
    const first = await init(sim)
    const changes = change(sim)
    // a run reads part of the delta and dies: no commit, no confirm
    const spec = odpSpec({ pageSize: 3 })
    const broken = await first.src.read({ spec, mode: 'DELTA', position: first.end.position, signal: signal() })
    for await (const page of broken.pages) {
      expect(page.rows).toHaveLength(3)
      break
    }
    await expect(broken.end()).rejects.toThrow()
    await expect(broken.confirm!(signal())).rejects.toMatchObject({ code: 'SOURCE_BAD_REQUEST' })
    expect(requests(sim).at(-1)).toMatchObject({ mode: 'D', state: 'open' })
    // the next run starts from the stored (old) position
    const retry = await first.src.read({ spec, mode: 'DELTA', position: first.end.position, signal: signal() })
    const again = await drain(retry)
    expect(again.rows).toEqual(expectedDelta(retry.columns, changes))
    const reqs = requests(sim)
    expect(reqs.at(-1)).toMatchObject({ mode: 'R', repeatOf: reqs.at(-2)!.pointer, state: 'open' })
    expect(reqs.at(-2)).toMatchObject({ mode: 'D', state: 'cancelled' })
    await retry.confirm!(signal())
    const more = change(sim)
    const next = await first.src.read({ spec, mode: 'DELTA', position: again.end.position, signal: signal() })
    expect((await drain(next)).rows).toEqual(expectedDelta(next.columns, more))
  })

  it('a connection lost during FETCH fails the run as retryable; the retry repeats the request completely', async () => {
    const sim = await rfcSim({ odps: { [ODP]: 200 } })
    const first = await init(sim)
    const changes = change(sim)
    sim.admin.injectFault({ kind: 'communication-failure', functionModule: 'RODPS_REPL_ODP_FETCH', package: 2 })
    const spec = odpSpec({ pageSize: 4 })
    const failed = await first.src.read({ spec, mode: 'DELTA', position: first.end.position, signal: signal() })
    const e = await sourceError(drain(failed))
    expect(e).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true })
    const retry = await first.src.read({ spec, mode: 'DELTA', position: first.end.position, signal: signal() })
    expect((await drain(retry)).rows).toEqual(expectedDelta(retry.columns, changes))
  })

  it('committed but not confirmed: the next delta closes the old request and reads on, nothing doubled', async () => {
    const sim = await rfcSim({ odps: { [ODP]: 100 } })
    const first = await init(sim)
    change(sim)
    const r1 = await first.src.read({ spec: odpSpec(), mode: 'DELTA', position: first.end.position, signal: signal() })
    const d1 = await drain(r1) // committed with d1.end.position, then the process died before confirm()
    expect(d1.rows.length).toBeGreaterThan(0)
    const more = change(sim)
    const r2 = await first.src.read({ spec: odpSpec(), mode: 'DELTA', position: d1.end.position, signal: signal() })
    expect((await drain(r2)).rows).toEqual(expectedDelta(r2.columns, more))
    expect(requests(sim).find((r) => r.pointer === d1.end.token)).toMatchObject({ state: 'closed' })
  })

  it('explicit recovery: the position a committed delta started from repeats that delta (token or position)', async () => {
    const sim = await rfcSim({ odps: { [ODP]: 100 } })
    const first = await init(sim)
    const changes = change(sim)
    const r1 = await first.src.read({ spec: odpSpec(), mode: 'DELTA', position: first.end.position, signal: signal() })
    const d1 = await drain(r1)
    await r1.confirm!(signal())
    for (const position of [first.end.token!, first.end.position!]) {
      const rep = await first.src.read({ spec: odpSpec(), mode: 'DELTA', position, signal: signal() })
      const d = await drain(rep)
      expect(d.rows).toEqual(d1.rows)
      expect(d.rows).toEqual(expectedDelta(rep.columns, changes))
      await rep.confirm!(signal())
    }
    // two requests behind: ODQ cannot repeat that far
    change(sim)
    const r3 = await first.src.read({ spec: odpSpec(), mode: 'DELTA', position: d1.end.position, signal: signal() })
    await drain(r3)
    await r3.confirm!(signal())
    expect(
      (await sourceError(first.src.read({ spec: odpSpec(), mode: 'DELTA', position: first.end.position, signal: signal() }).then(drain)))
        .code,
    ).toBe('DELTA_POSITION_LOST')
  })

  it('without EXTRACTION_MODE in ET_PROCESS: recovery where it is certain, DELTA_POSITION_LOST where it would be a guess', async () => {
    for (const odpCursorModes of [true, false]) {
      const sim = await rfcSim({ odps: { [ODP]: 60 }, variants: { odpCursorModes } })
      const first = await init(sim)
      const changes = change(sim)
      // a delta dies half-way and is repeated (R) by the next run, which commits
      const spec = odpSpec({ pageSize: 2 })
      const broken = await first.src.read({ spec, mode: 'DELTA', position: first.end.position, signal: signal() })
      for await (const _ of broken.pages) break
      const retry = await first.src.read({ spec, mode: 'DELTA', position: first.end.position, signal: signal() })
      const repeated = await drain(retry)
      expect(repeated.rows).toEqual(expectedDelta(retry.columns, changes))
      await retry.confirm!(signal())
      expect(requests(sim).map((r) => [r.mode, r.state])).toEqual([
        ['D', 'closed'],
        ['D', 'cancelled'],
        ['R', 'closed'],
      ])
      // explicit recovery from the position before: one delta and its repeat lie after it
      const recovery = first.src.read({ spec, mode: 'DELTA', position: first.end.position, signal: signal() }).then(drain)
      if (odpCursorModes) expect((await recovery).rows).toEqual(repeated.rows)
      else {
        const e = await sourceError(recovery)
        expect(e.code).toBe('DELTA_POSITION_LOST')
        expect(e.message).toMatch(/does not say which of them are repeats/)
        expect(requests(sim)).toHaveLength(3) // nothing opened on a guess
      }
    }
    // one request after the stored position is certain without the column: R repeats exactly it
    const sim = await rfcSim({ odps: { [ODP]: 60 }, variants: { odpCursorModes: false } })
    const first = await init(sim)
    const changes = change(sim)
    const r1 = await first.src.read({ spec: odpSpec(), mode: 'DELTA', position: first.end.position, signal: signal() })
    await drain(r1)
    await r1.confirm!(signal())
    const rep = await first.src.read({ spec: odpSpec(), mode: 'DELTA', position: first.end.position, signal: signal() })
    expect((await drain(rep)).rows).toEqual(expectedDelta(rep.columns, changes))
    expect(requests(sim).at(-1)).toMatchObject({ mode: 'R' })
  })

  it('two pipelines on one ODP: own subscriber processes, both see every change; a failed init is redone cleanly', async () => {
    const sim = await rfcSim({ odps: { [ODP]: 80 } })
    const src = source(sim)
    // pipeline B's first init dies half-way
    const broken = await src.read({ spec: odpSpec({ subscriber: 'pipe_b', pageSize: 10 }), mode: 'DELTA_INIT', signal: signal() })
    for await (const _ of broken.pages) break
    const a = await init(sim, src, odpSpec({ subscriber: 'pipe_a' }))
    const b = await init(sim, src, odpSpec({ subscriber: 'pipe_b' }))
    expect(b.rows).toEqual(a.rows)
    expect(sim.admin.subscriptions().map((x) => [x.subscriberProcess, x.requests.map((r) => r.state)])).toEqual([
      ['PIPE_A', ['closed']],
      ['PIPE_B', ['closed']],
    ])
    const changes = change(sim)
    for (const p of [a, b]) {
      const r = await src.read({ spec: p.spec, mode: 'DELTA', position: p.end.position, signal: signal() })
      expect((await drain(r)).rows).toEqual(expectedDelta(r.columns, changes))
      await r.confirm!(signal())
    }
  })

  it('reset() ends the subscription; a DELTA afterwards is a lost position, never a silent re-init', async () => {
    const sim = await rfcSim({ odps: { [ODP]: 50 } })
    const first = await init(sim)
    await first.src.reset(odpSpec(), signal())
    expect(sim.admin.subscriptions()).toEqual([])
    const e = await sourceError(
      first.src.read({ spec: odpSpec(), mode: 'DELTA', position: first.end.position, signal: signal() }).then(drain),
    )
    expect(e.code).toBe('DELTA_POSITION_LOST')
    expect(sim.admin.subscriptions()).toEqual([])
    await first.src.reset(odpSpec(), signal()) // nothing to reset: fine
    const again = await init(sim, first.src)
    expect(again.rows).toHaveLength(50)
  })

  it('selection and projection; a changed selection is refused; a full-only ODP refuses deltas', async () => {
    const sim = await rfcSim({ odps: { [ODP]: 300 } })
    const spec = odpSpec({ fields: ['NETWR', 'WAERK'], filter: "WAERK = 'EUR' AND VBELN BETWEEN '0000000010' AND '0000000040'" })
    const first = await init(sim, source(sim), spec)
    expect(first.columns.map((c) => c.name)).toEqual(['VBELN', 'POSNR', 'NETWR', 'WAERK', 'ODQ_CHANGEMODE', 'ODQ_ENTITYCNTR'])
    const match = (r: SapRow) => r.WAERK === 'EUR' && String(r.VBELN) >= '0000000010' && String(r.VBELN) <= '0000000040'
    const expected = (await simRows(sim, ODP)).filter(match)
    expect(expected.length).toBeGreaterThan(10)
    expect(first.rows).toEqual(expected.map((r) => expectedRow(first.columns, r)))
    expect(sim.admin.subscriptions()[0].selection).toEqual(
      expect.arrayContaining([{ FIELDNAME: 'WAERK', SIGN: 'I', OPTION: 'EQ', LOW: 'EUR', HIGH: '' }]),
    )

    const changed = odpSpec({ fields: ['NETWR', 'WAERK'], filter: "WAERK = 'USD'" })
    const e = await sourceError(
      first.src.read({ spec: changed, mode: 'DELTA', position: first.end.position, signal: signal() }).then(drain),
    )
    expect(e.code).toBe('SOURCE_BAD_REQUEST')
    expect(e.message).toMatch(/Illegal change in selection parameters/)
    expect(
      (await sourceError(first.src.read({ spec: odpSpec({ filter: "LTEXT = 'x'" }), mode: 'FULL', signal: signal() }))).message,
    ).toMatch(/cannot be restricted/)

    const text = odpSpec({ odpContext: 'SAPI', odpName: '0MATERIAL_TEXT' })
    expect((await sourceError(first.src.read({ spec: text, mode: 'DELTA_INIT', signal: signal() }))).message).toMatch(/has no delta/)
    const full = await first.src.read({ spec: text, mode: 'FULL', signal: signal() })
    const d = await drain(full)
    expect(d.rows).toEqual((await simRows(sim, '0MATERIAL_TEXT')).map((r) => expectedRow(full.columns, r)))
    expect((await sourceError(first.src.read({ spec: odpSpec({ odpName: 'ZNOPE' }), mode: 'FULL', signal: signal() }))).code).toBe(
      'SOURCE_NOT_FOUND',
    )
  })

  it.each([
    ['A', 'RODPS_REPL_ODP_FETCH'],
    ['X', 'RODPS_REPL_ODP_OPEN'],
  ] as const)(
    'an ET_RETURN line of type %s from %s fails the read, not retryable; the delta is repeated afterwards',
    async (messageType, functionModule) => {
      const sim = await rfcSim({ odps: { [ODP]: 60 } })
      const first = await init(sim)
      const changes = change(sim)
      sim.admin.injectFault({ kind: 'return-message', functionModule, messageType, message: 'Request terminated in ODQ' })
      const e = await sourceError(
        first.src.read({ spec: odpSpec(), mode: 'DELTA', position: first.end.position, signal: signal() }).then(drain),
      )
      expect(e).toMatchObject({ code: 'SOURCE_PROTOCOL', retryable: false, sapCode: 'RODPS_REPL/090' })
      expect(e.message).toContain(
        `${functionModule} (ABAP_CDS/${ODP}, process PIPE_O) returned ${messageType} RODPS_REPL/090: Request terminated in ODQ`,
      )
      expect(e.message).toMatch(/ODP over OData/)
      const retry = await first.src.read({ spec: odpSpec(), mode: 'DELTA', position: first.end.position, signal: signal() })
      expect((await drain(retry)).rows).toEqual(expectedDelta(retry.columns, changes))
    },
  )

  it('a missing S_RFC authorization for RODPS_REPL_ODP_OPEN: SOURCE_FORBIDDEN pointing to ODP over OData, nothing opened', async () => {
    const sim = await rfcSim({ odps: { [ODP]: 20 } })
    sim.admin.setFunctionAuthorization('RODPS_REPL_ODP_OPEN', false)
    const e = await sourceError(source(sim).read({ spec: odpSpec(), mode: 'DELTA_INIT', signal: signal() }).then(drain))
    expect(e).toMatchObject({ code: 'SOURCE_FORBIDDEN', retryable: false, sapCode: 'RFC_NO_AUTHORITY' })
    expect(e.message).toMatch(/RODPS_REPL_ODP_OPEN/)
    expect(e.message).toMatch(/ODP over OData/)
    expect(sim.admin.subscriptions()).toEqual([])
    expect(sim.admin.stats().byFunction['RODPS_REPL_ODP_FETCH']).toBeUndefined()
  })

  it.each([
    ['an ABAP message', 'call-rejected', /Unknown caller; Call rejected/],
    ['an authorization error', 'authorization', /RFC_AUTHORIZATION_FAILURE: Access of user DEMO to function module RODPS_REPL_\w+ denied/],
  ] as const)(
    'the SAP Note 3255746 block as %s: SOURCE_FORBIDDEN that points to ODP over OData and to the expiring opt-out',
    async (_shape, odpBlockedAs, text) => {
      const sim = await rfcSim({ variants: { odpBlocked: true, odpBlockedAs } })
      const src = source(sim)
      for (const p of [src.read({ spec: odpSpec(), mode: 'DELTA_INIT', signal: signal() }), src.reset(odpSpec(), signal())]) {
        const e = await sourceError(p)
        expect(e).toMatchObject({ code: 'SOURCE_FORBIDDEN', retryable: false })
        expect(e.message).toMatch(text)
        expect(e.message).toMatch(/3255746/)
        expect(e.message).toMatch(/ODP over OData is the supported path/)
        expect(e.message).toMatch(/RODPS_REPL_SECUREACCESS_OPTOUT .*expires at the end of 2026/)
        expect(e.message).not.toMatch(/password/)
      }
      // RFC_READ_TABLE is not covered by the note
      expect(
        (
          await drain(
            await src.read({
              spec: { kind: 'TABLE_RFC', table: 'ZMAT_WIDE', pageSize: 500, subscriber: 'x' },
              mode: 'FULL',
              signal: signal(),
            }),
          )
        ).rows,
      ).toHaveLength(300)
    },
  )
})

describe('comparePointers', () => {
  it('orders TSNs as numbers, whatever their rendering', () => {
    const sorted = ['20260601080000.000000010', '9.5', '20260601080000.00000002', '20260601080000.000000001', '10'].sort(comparePointers)
    expect(sorted).toEqual(['9.5', '10', '20260601080000.000000001', '20260601080000.000000010', '20260601080000.00000002'])
    expect(comparePointers('0042.10', '42.1')).toBe(0)
  })
})
