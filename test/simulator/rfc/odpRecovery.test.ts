/**
 * ODQ request lifecycle through the simulator: an interrupted delta recovered with mode R, confirmation by
 * CLOSE, CURSOR_GET_LIST, RESET, and the SAP Note 3255746 block (docs/sap-protocols.md B.3, B.5, B.7;
 * golden scenario F.10).
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { RfcSimulator, SimRfcClient } from '../../../src/simulator/rfc/index.js'
import { ODP_BLOCKED_TEXT } from '../../../src/simulator/rfc/index.js'
import type { OdpFieldMeta } from './helpers.js'
import { allRows, decodeOdp, fetchAll, ODP, odpFields, odpToAbap, openOdp, rejection, start, subscriber } from './helpers.js'

let sim: RfcSimulator
let client: SimRfcClient
let fields: OdpFieldMeta[]
afterEach(async () => {
  await sim.close()
})

async function begin(rows = 40): Promise<void> {
  ;({ sim, client } = await start({ odps: { ZSD_ITEMS_CDC: rows } }))
  fields = await odpFields(client)
}

/** Delta init + CLOSE, so the next D is a real delta. */
async function initAndClose(process: string): Promise<void> {
  const ptr = (await openOdp(client, process, 'D')).E_POINTER as string
  await fetchAll(client, ptr)
  expect((await client.call('RODPS_REPL_ODP_CLOSE', { I_POINTER: ptr })).ET_RETURN).toEqual([])
}

function fetch(pointer: unknown, pkg: string): Promise<Record<string, unknown>> {
  return client.call('RODPS_REPL_ODP_FETCH', { I_POINTER: pointer, I_PACKAGE: pkg, I_MAXPACKAGESIZE: 4000 })
}

async function cursors(process = ''): Promise<Array<Record<string, string>>> {
  const res = await client.call('RODPS_REPL_CURSOR_GET_LIST', { ...subscriber(process), I_EXTRACTION_MODE: '' })
  return res.ET_PROCESS as Array<Record<string, string>>
}

describe('an interrupted delta recovered with mode R (B.2, B.5)', () => {
  it('repeats the unconfirmed request with exactly the same records', async () => {
    await begin()
    await initAndClose('P1')
    await initAndClose('REF')
    sim.admin.update(ODP.odp, 12)
    sim.admin.insert(ODP.odp, 3)
    // the same delta for a second, never interrupted subscriber process
    const reference = await fetchAll(client, (await openOdp(client, 'REF', 'D')).E_POINTER as string, 4000)
    const delta = await openOdp(client, 'P1', 'D')
    const p1 = await fetch(delta.E_POINTER, '')
    expect(p1.E_NO_MORE_DATA).toBe('')
    // package 2 is cut on the server, then the connection breaks before the answer arrives
    sim.admin.injectFault({ kind: 'communication-failure', functionModule: 'RODPS_REPL_ODP_FETCH', package: 2 })
    const broken = await rejection(fetch(delta.E_POINTER, p1.E_PACKAGE as string))
    expect(broken).toMatchObject({
      name: 'RfcLibError',
      group: 4,
      code: 1,
      codeString: 'RFC_COMMUNICATION_FAILURE',
      key: 'RFC_COMMUNICATION_FAILURE',
    })
    expect(client.alive).toBe(true)

    // the request is still open and unconfirmed: a new D is refused, the cursor list shows it
    expect(await cursors('P1')).toEqual([
      expect.objectContaining({ SUBSCRIBER_PROC: 'P1', CLOSED: 'X', EXTRACTION_MODE: 'D' }),
      { POINTER: delta.E_POINTER, SUBSCRIBER_PROC: 'P1', CLOSED: '', EXTRACTION_MODE: 'D' },
    ])
    const refused = await openOdp(client, 'P1', 'D')
    expect(refused).toMatchObject({
      E_POINTER: '',
      ET_RETURN: [{ TYPE: 'E', ID: 'RODPS_REPL', MESSAGE: expect.stringMatching(/is not confirmed; repeat it/) }],
    })

    const repeat = await openOdp(client, 'P1', 'R')
    expect(repeat.ET_RETURN).toEqual([])
    const repeated = await fetchAll(client, repeat.E_POINTER as string, 4000)
    // the old pointer is gone; the repeat starts from the first package again
    expect((await fetch(delta.E_POINTER, '')).ET_RETURN).toMatchObject([{ TYPE: 'E' }])
    expect(repeated.packages[0].lines).toEqual((p1.ET_DATA as Array<{ DATA: Buffer }>).map((l) => l.DATA))

    expect(repeated.lines).toEqual(reference.lines)
    const records = decodeOdp(repeated.lines, fields, true)
    expect(records.filter((r) => r.ODQ_CHANGEMODE === 'U')).toHaveLength(24)
    expect(records.filter((r) => r.ODQ_CHANGEMODE === 'C')).toHaveLength(3)
    expect((await client.call('RODPS_REPL_ODP_CLOSE', { I_POINTER: repeat.E_POINTER })).ET_RETURN).toEqual([])
    expect(
      sim.admin
        .subscriptions()
        .find((x) => x.subscriberProcess === 'P1')!
        .requests.map((r) => [r.mode, r.kind, r.state]),
    ).toEqual([
      ['D', 'init', 'closed'],
      ['D', 'delta', 'cancelled'],
      ['R', 'delta', 'closed'],
    ])

    const after = sim.admin.delete(ODP.odp, [{ VBELN: '0000000001', POSNR: '000010' }])
    const next = await openOdp(client, 'P1', 'D')
    const nextRecords = decodeOdp((await fetchAll(client, next.E_POINTER as string)).lines, fields, true)
    expect(nextRecords.map((r) => [r.ODQ_CHANGEMODE, odpToAbap(r, fields)])).toEqual([['D', after[0].before]])
  })

  it('repeats an interrupted delta init with the original snapshot, changes follow in the next delta', async () => {
    await begin(30)
    const before = await allRows(sim, ODP.odp)
    const init = await openOdp(client, 'P2', 'D')
    await fetch(init.E_POINTER, '')
    const changes = sim.admin.update(ODP.odp, [{ VBELN: '0000000001', POSNR: '000020' }])
    const repeat = await openOdp(client, 'P2', 'R')
    const rows = decodeOdp((await fetchAll(client, repeat.E_POINTER as string)).lines, fields, true).map((r) => odpToAbap(r, fields))
    expect(rows).toEqual(before)
    await client.call('RODPS_REPL_ODP_CLOSE', { I_POINTER: repeat.E_POINTER })
    const delta = await openOdp(client, 'P2', 'D')
    const records = decodeOdp((await fetchAll(client, delta.E_POINTER as string)).lines, fields, true)
    expect(records.map((r) => odpToAbap(r, fields))).toEqual([changes[0].before, changes[0].after])
  })

  it('without I_EXPLICIT_CLOSE the next D confirms the previous request', async () => {
    await begin(10)
    const open = (mode: string) => client.call('RODPS_REPL_ODP_OPEN', { ...subscriber('P3'), I_EXTRACTION_MODE: mode })
    const init = await open('D')
    await fetchAll(client, init.E_POINTER as string)
    const changes = sim.admin.insert(ODP.odp, 1)
    const delta = await open('D')
    expect(delta.ET_RETURN).toEqual([])
    const records = decodeOdp((await fetchAll(client, delta.E_POINTER as string)).lines, fields, true)
    expect(records.map((r) => [r.ODQ_CHANGEMODE, odpToAbap(r, fields)])).toEqual([['C', changes[0].after]])
  })
})

describe('CLOSE, RESET and CURSOR_GET_LIST (B.1, B.3)', () => {
  it('closes once, warns on a second close and errs on unknown pointers', async () => {
    await begin(5)
    const ptr = (await openOdp(client, 'C1', 'F')).E_POINTER
    expect((await client.call('RODPS_REPL_ODP_CLOSE', { I_POINTER: ptr })).ET_RETURN).toEqual([])
    expect((await client.call('RODPS_REPL_ODP_CLOSE', { I_POINTER: ptr })).ET_RETURN).toMatchObject([
      { TYPE: 'W', MESSAGE: `Request ${ptr} is already closed` },
    ])
    expect((await client.call('RODPS_REPL_ODP_CLOSE', { I_POINTER: 'NOPE' })).ET_RETURN).toMatchObject([{ TYPE: 'E', NUMBER: '040' }])
    expect((await fetch(ptr, '')).ET_RETURN).toMatchObject([{ TYPE: 'E', MESSAGE: `Request ${ptr} does not exist or is not open` }])
  })

  it('RESET deletes the subscription: the next D is a new delta init with every row', async () => {
    await begin(12)
    await initAndClose('R1')
    sim.admin.insert(ODP.odp, 2)
    const open = await openOdp(client, 'R1', 'D')
    expect((await client.call('RODPS_REPL_ODP_RESET', subscriber('R1'))).ET_RETURN).toEqual([])
    expect(sim.admin.subscriptions()).toEqual([])
    expect(await cursors('R1')).toEqual([])
    expect((await fetch(open.E_POINTER, '')).ET_RETURN).toMatchObject([{ TYPE: 'E' }])
    expect((await client.call('RODPS_REPL_ODP_RESET', subscriber('R1'))).ET_RETURN).toMatchObject([{ TYPE: 'W' }])
    const init = await openOdp(client, 'R1', 'D')
    const records = decodeOdp((await fetchAll(client, init.E_POINTER as string)).lines, fields, true)
    expect(records.every((r) => r.ODQ_CHANGEMODE === ' ')).toBe(true)
    expect(records.map((r) => odpToAbap(r, fields))).toEqual(await allRows(sim, ODP.odp))
  })

  it('lists the pointers of one subscriber, all processes when the process is blank', async () => {
    await begin(5)
    const a = (await openOdp(client, 'L1', 'D')).E_POINTER
    const b = (await openOdp(client, 'L2', 'D')).E_POINTER
    await client.call('RODPS_REPL_ODP_CLOSE', { I_POINTER: b })
    expect(await cursors()).toEqual([
      { POINTER: a, SUBSCRIBER_PROC: 'L1', CLOSED: '', EXTRACTION_MODE: 'D' },
      { POINTER: b, SUBSCRIBER_PROC: 'L2', CLOSED: 'X', EXTRACTION_MODE: 'D' },
    ])
    expect((await cursors('L2')).map((c) => c.POINTER)).toEqual([b])
    // variant odpCursorModes false: only the columns B.1 names
    sim.admin.setVariants({ odpCursorModes: false })
    expect(await cursors()).toEqual([
      { POINTER: a, SUBSCRIBER_PROC: 'L1', CLOSED: '' },
      { POINTER: b, SUBSCRIBER_PROC: 'L2', CLOSED: 'X' },
    ])
  })
})

describe('ET_RETURN messages of type A and X (B.8)', () => {
  it('an injected A or X line answers the call instead of the module, which leaves the ODQ untouched', async () => {
    await begin(5)
    sim.admin.injectFault({
      kind: 'return-message',
      functionModule: 'RODPS_REPL_ODP_OPEN',
      messageType: 'X',
      message: 'Internal error in ODQ',
    })
    const refused = await openOdp(client, 'AX', 'D')
    expect(refused.E_POINTER).toBe('')
    expect(refused.ET_RETURN).toMatchObject([{ TYPE: 'X', ID: 'RODPS_REPL', NUMBER: '090', MESSAGE: 'Internal error in ODQ' }])
    expect(sim.admin.subscriptions()).toEqual([])
    const pointer = (await openOdp(client, 'AX', 'D')).E_POINTER as string
    sim.admin.injectFault({ kind: 'return-message', functionModule: 'RODPS_REPL_ODP_FETCH' })
    const aborted = await fetch(pointer, '')
    expect(aborted.ET_RETURN).toMatchObject([{ TYPE: 'A', MESSAGE: 'Processing of RODPS_REPL_ODP_FETCH terminated (message type A)' }])
    expect(aborted.ET_DATA).toEqual([])
    expect(sim.admin.subscriptions()[0].requests[0].packagesFetched).toBe(0)
    expect(() => sim.admin.injectFault({ kind: 'return-message', functionModule: 'RFC_READ_TABLE' })).toThrow(/RODPS_REPL_/)
    expect(() =>
      sim.admin.injectFault({ kind: 'return-message', functionModule: 'RODPS_REPL_ODP_FETCH', messageType: 'W' as never }),
    ).toThrow(/E, A or X/)
  })
})

describe('SAP Note 3255746 block (B.7)', () => {
  it('refuses every RODPS_REPL_* call while RFC_READ_TABLE keeps working', async () => {
    await begin(5)
    const pointer = (await openOdp(client, 'B1', 'D')).E_POINTER
    sim.admin.setVariants({ odpBlocked: true })
    const calls: Array<[string, Record<string, unknown>]> = [
      ['RODPS_REPL_CONTEXT_GET_LIST', {}],
      ['RODPS_REPL_ODP_GET_LIST', { I_CONTEXT: 'ABAP_CDS' }],
      ['RODPS_REPL_ODP_GET_DETAIL', { I_CONTEXT: 'ABAP_CDS', I_ODPNAME: ODP.odp }],
      ['RODPS_REPL_ODP_OPEN', { ...subscriber('B1'), I_EXTRACTION_MODE: 'D' }],
      ['RODPS_REPL_ODP_FETCH', { I_POINTER: pointer }],
      ['RODPS_REPL_ODP_CLOSE', { I_POINTER: pointer }],
      ['RODPS_REPL_ODP_RESET', subscriber('B1')],
      ['RODPS_REPL_CURSOR_GET_LIST', subscriber('B1')],
    ]
    for (const [fm, params] of calls) {
      expect(await rejection(client.call(fm, params))).toEqual({
        name: 'ABAPError',
        group: 2,
        code: 4,
        codeString: 'RFC_ABAP_MESSAGE',
        key: ODP_BLOCKED_TEXT,
        message: 'Unknown caller; Call rejected. See SAP Note 3635619',
        abapMsgClass: 'RODPS_REPL',
        abapMsgType: 'E',
        abapMsgNumber: '100',
        abapMsgV1: '',
        abapMsgV2: '',
        abapMsgV3: '',
        abapMsgV4: '',
      })
    }
    expect(client.alive).toBe(true)
    expect((await client.call('RFC_READ_TABLE', { QUERY_TABLE: 'ZSD_ITEMS', ROWCOUNT: 1 })).DATA).toHaveLength(1)
    sim.admin.setVariants({ odpBlocked: false })
    expect((await fetch(pointer, '')).ET_RETURN).toEqual([])
  })

  it('as an authorization error (B.8): RFC_AUTHORIZATION_FAILURE in the logon group, on a connection that stays logged on', async () => {
    await begin(5)
    sim.admin.setVariants({ odpBlocked: true, odpBlockedAs: 'authorization' })
    for (const fm of ['RODPS_REPL_ODP_GET_DETAIL', 'RODPS_REPL_ODP_OPEN']) {
      expect(await rejection(client.call(fm, { I_CONTEXT: 'ABAP_CDS', I_ODPNAME: ODP.odp }))).toEqual({
        name: 'RfcLibError',
        group: 3,
        code: 29,
        codeString: 'RFC_AUTHORIZATION_FAILURE',
        key: 'RFC_AUTHORIZATION_FAILURE',
        message: `Access of user DEMO to function module ${fm} denied`,
      })
    }
    expect(client.alive).toBe(true)
    expect((await client.call('RFC_READ_TABLE', { QUERY_TABLE: 'ZSD_ITEMS', ROWCOUNT: 1 })).DATA).toHaveLength(1)
    expect(() => sim.admin.setVariants({ odpBlockedAs: 'dump' as never })).toThrow(/invalid value for variant odpBlockedAs/)
  })
})
