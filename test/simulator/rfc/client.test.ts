/**
 * The node-rfc-shaped client of the RFC simulator: logon, error shapes, parameter checks, cancel and
 * timeouts, fault injection (docs/sap-protocols.md D.2, D.3). Expected shapes are those of node-rfc's own
 * test suite (see src/simulator/rfc/errors.ts for the citations).
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { RfcSimulator, SimRfcClient } from '../../../src/simulator/rfc/index.js'
import { startRfcSimulator } from '../../../src/simulator/rfc/index.js'
import { LOGON, rejection, start } from './helpers.js'

let sim: RfcSimulator
let client: SimRfcClient
afterEach(async () => {
  await sim.close()
})

const LOGON_FAILURE = { name: 'RfcLibError', group: 3, code: 2, codeString: 'RFC_LOGON_FAILURE', key: 'RFC_LOGON_FAILURE' }
const CANCELED = {
  name: 'RfcLibError',
  group: 4,
  code: 7,
  codeString: 'RFC_CANCELED',
  key: 'RFC_CANCELED',
  message: 'Connection was canceled.',
}

describe('logon (D.2)', () => {
  it('opens with the right user (any case), password and client', async () => {
    sim = await startRfcSimulator({ users: { ALICE: 's3cret' }, client: '200' })
    const c = sim.createClient({ ...LOGON, user: 'alice', passwd: 's3cret', client: '200' })
    expect(c.alive).toBe(false)
    expect(await c.open()).toBe(c)
    expect(c.alive).toBe(true)
    expect(await c.ping()).toBe(true)
    expect(c.id).toBe(1)
    expect(sim.createClient(LOGON).id).toBe(2)
    await c.close()
    expect(c.alive).toBe(false)
  })

  it('counts logged-on connections: now, the peak, and logons in total', async () => {
    sim = await startRfcSimulator()
    const [a, b] = [sim.createClient(LOGON), sim.createClient(LOGON)]
    await a.open()
    await b.open()
    await a.open() // already open: no second logon
    await a.close()
    await a.close()
    expect(sim.admin.stats().connections).toEqual({ open: 1, peak: 2, logons: 2 })
    await expect(sim.createClient({ ...LOGON, passwd: 'nope' }).open()).rejects.toMatchObject({ key: 'RFC_LOGON_FAILURE' })
    expect(sim.admin.stats().connections).toEqual({ open: 1, peak: 2, logons: 2 })
    await sim.close()
    expect(sim.admin.stats().connections.open).toBe(0)
  })

  it('rejects wrong credentials and clients like node-rfc, without opening', async () => {
    sim = await startRfcSimulator()
    const message = 'Name or password is incorrect (repeat logon)'
    for (const wrong of [{ passwd: 'nope' }, { user: 'MALLORY' }, { passwd: 'welcome1!' }]) {
      const c = sim.createClient({ ...LOGON, ...wrong })
      expect(await rejection(c.open())).toEqual({ ...LOGON_FAILURE, message })
      expect(c.alive).toBe(false)
    }
    expect(await rejection(sim.createClient({ ...LOGON, client: '999' }).open())).toEqual({
      ...LOGON_FAILURE,
      message: 'Client 999 is not available in this system',
    })
    const noHost = await rejection(sim.createClient({ client: '100', user: 'DEMO', passwd: 'Welcome1!' }).open())
    expect(noHost).toMatchObject({
      name: 'RfcLibError',
      group: 5,
      code: 20,
      key: 'RFC_INVALID_PARAMETER',
      message: 'Parameter ASHOST, GWHOST, MSHOST or PORT is missing.',
    })
  })

  it('refuses calls over a closed connection', async () => {
    sim = await startRfcSimulator()
    const c = sim.createClient(LOGON)
    expect(await rejection(c.call('RFC_PING', {}))).toEqual({
      name: 'nodeRfcError',
      message: 'RFM client request over closed connection: invoke() RFC_PING',
    })
    expect(await rejection(c.ping())).toMatchObject({ name: 'nodeRfcError' })
  })
})

describe('calls and their errors (D.2, D.3)', () => {
  it('answers unknown function modules with FU_NOT_FOUND and stays usable', async () => {
    ;({ sim, client } = await start())
    expect(await rejection(client.call('Z_DOES_NOT_EXIST', {}))).toEqual({
      name: 'ABAPError',
      group: 1,
      code: 5,
      codeString: 'RFC_ABAP_EXCEPTION',
      key: 'FU_NOT_FOUND',
      message: 'ID:FL Type:E Number:046 Z_DOES_NOT_EXIST',
      abapMsgClass: 'FL',
      abapMsgType: 'E',
      abapMsgNumber: '046',
      abapMsgV1: 'Z_DOES_NOT_EXIST',
      abapMsgV2: '',
      abapMsgV3: '',
      abapMsgV4: '',
    })
    expect(await client.call('RFC_PING', {})).toEqual({})
  })

  it('checks parameter names and types before anything is sent', async () => {
    ;({ sim, client } = await start())
    expect(await rejection(client.call('RFC_READ_TABLE', { QUERY_TABLE: 'ZSD_ITEMS', ROWCNT: 5 }))).toEqual({
      name: 'RfcLibError',
      group: 5,
      code: 20,
      codeString: 'RFC_INVALID_PARAMETER',
      key: 'RFC_INVALID_PARAMETER',
      message: "field 'ROWCNT' not found",
      rfmPath: { rfm: 'RFC_READ_TABLE', parameter: 'ROWCNT' },
    })
    expect(await rejection(client.call('RFC_READ_TABLE', { QUERY_TABLE: 'ZSD_ITEMS', ROWCOUNT: '5' }))).toMatchObject({
      name: 'nodeRfcError',
      message: 'Integer number expected from NodeJS for ABAP field of type 8',
    })
    expect(await rejection(client.call('RFC_READ_TABLE', { QUERY_TABLE: 'ZSD_ITEMS', FIELDS: ['VBELN'] }))).toMatchObject({
      name: 'RfcLibError',
      key: 'RFC_INVALID_PARAMETER',
      message: "field '' not found",
      rfmPath: { table: 'FIELDS', table_line: 0 },
    })
    expect(await rejection(client.call('RFC_READ_TABLE', { QUERY_TABLE: 'ZSD_ITEMS', OPTIONS: 'x' }))).toMatchObject({
      name: 'nodeRfcError',
    })
    expect(await rejection(client.call('RFC_READ_TABLE', { 'QUERY-TABLE': 'x' }))).toBeInstanceOf(TypeError)
  })

  it('returns every parameter of the interface the way node-rfc does', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 3 } }))
    const res = await client.call('RFC_READ_TABLE', {
      QUERY_TABLE: 'ZSD_ITEMS',
      DELIMITER: '|',
      FIELDS: [{ FIELDNAME: 'VBELN' }],
      OPTIONS: [{ TEXT: "POSNR = '000010'   " }],
    })
    expect(res).toEqual({
      QUERY_TABLE: 'ZSD_ITEMS',
      DELIMITER: '|',
      NO_DATA: '',
      ROWSKIPS: 0,
      ROWCOUNT: 0,
      OPTIONS: [{ TEXT: "POSNR = '000010'" }],
      FIELDS: [{ FIELDNAME: 'VBELN', OFFSET: '000000', LENGTH: '000010', TYPE: 'N', FIELDTEXT: 'Sales Document' }],
      DATA: [{ WA: '0000000001' }],
    })
    const info = await client.call('RFC_SYSTEM_INFO', {})
    expect(info.RFCSI_EXPORT).toMatchObject({ RFCSYSID: 'SIM', RFCCHARTYP: '4103', RFCSAPRL: '758' })
  })

  it('cancel() aborts a running call with RFC_CANCELED and the client stays usable', async () => {
    ;({ sim, client } = await start())
    const running = client.call('RFC_PING_AND_WAIT', { SECONDS: 30 })
    const queued = client.call('RFC_PING', {})
    await vi.waitFor(() => expect(sim.admin.stats()).toMatchObject({ running: 1, byFunction: { RFC_PING_AND_WAIT: 1 } }), { timeout: 5000 })
    await client.cancel()
    expect(await rejection(running)).toEqual(CANCELED)
    expect(await queued).toEqual({})
    expect(sim.admin.stats()).toMatchObject({ running: 0, byFunction: { RFC_PING_AND_WAIT: 1, RFC_PING: 1 } })
    expect(client.alive).toBe(true)
    await client.cancel() // nothing running: a no-op
  })

  it('the timeout call option (seconds) cancels like node-rfc', async () => {
    ;({ sim, client } = await start())
    const t0 = Date.now()
    expect(await rejection(client.call('RFC_PING_AND_WAIT', { SECONDS: 10 }, { timeout: 0.05 }))).toEqual(CANCELED)
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(await client.call('RFC_PING_AND_WAIT', { SECONDS: 0 }, { timeout: 5 })).toEqual({ SECONDS: 0 })
  })

  it('injects slow calls, dumps and lost connections; the client reconnects like node-rfc', async () => {
    ;({ sim, client } = await start({ tables: { ZSD_ITEMS: 3 } }))
    sim.admin.injectFault({ kind: 'dump', functionModule: 'RFC_READ_TABLE', dumpKey: 'TIME_OUT' })
    expect(await rejection(client.call('RFC_READ_TABLE', { QUERY_TABLE: 'ZSD_ITEMS' }))).toMatchObject({
      name: 'ABAPError',
      group: 2,
      code: 3,
      key: 'TIME_OUT',
      message: 'Time limit exceeded.',
    })
    sim.admin.injectFault({ kind: 'communication-failure', times: 2 })
    expect(await rejection(client.call('RFC_PING', {}))).toMatchObject({ key: 'RFC_COMMUNICATION_FAILURE', group: 4, code: 1 })
    expect(await rejection(client.call('RFC_PING', {}))).toMatchObject({ key: 'RFC_COMMUNICATION_FAILURE' })
    expect(client.alive).toBe(true)
    sim.admin.injectFault({ kind: 'slow', delayMs: 5000, functionModule: 'RFC_PING' })
    expect(await rejection(client.call('RFC_PING', {}, { timeout: 0.05 }))).toEqual(CANCELED)
    expect(await client.call('RFC_PING', {})).toEqual({})
    expect(sim.admin.stats()).toMatchObject({ faultsFired: 4, byFunction: { RFC_READ_TABLE: 1, RFC_PING: 4 } })
  })

  it('answers a missing S_RFC authorization with the runtime error RFC_NO_AUTHORITY', async () => {
    ;({ sim, client } = await start())
    sim.admin.setFunctionAuthorization('RODPS_REPL_ODP_OPEN', false)
    expect(await rejection(client.call('RODPS_REPL_ODP_OPEN', {}))).toMatchObject({
      name: 'ABAPError',
      group: 2,
      code: 3,
      codeString: 'RFC_ABAP_RUNTIME_FAILURE',
      key: 'RFC_NO_AUTHORITY',
      message: 'User DEMO has no RFC authorization for function module RODPS_REPL_ODP_OPEN.',
    })
    sim.admin.setFunctionAuthorization('RODPS_REPL_ODP_OPEN', true)
    expect((await client.call('RODPS_REPL_ODP_OPEN', {})).ET_RETURN).toMatchObject([{ TYPE: 'E', NUMBER: '001' }])
  })

  it('closing the simulator breaks running and later calls with RFC_COMMUNICATION_FAILURE', async () => {
    ;({ sim, client } = await start())
    const running = client.call('RFC_PING_AND_WAIT', { SECONDS: 30 })
    await vi.waitFor(() => expect(sim.admin.stats().running).toBe(1), { timeout: 5000 })
    await sim.close()
    expect(await rejection(running)).toMatchObject({ name: 'RfcLibError', key: 'RFC_COMMUNICATION_FAILURE' })
    expect(await rejection(client.call('RFC_PING', {}))).toMatchObject({ key: 'RFC_COMMUNICATION_FAILURE' })
    expect(client.alive).toBe(false)
  })

  it('rejects unknown variants and faults loudly', async () => {
    sim = await startRfcSimulator()
    expect(() => sim.admin.setVariants({ odpBlock: true } as never)).toThrow(/unknown RFC simulator variant odpBlock/)
    expect(() => sim.admin.injectFault({ kind: 'boom' } as never)).toThrow(/fault.kind/)
    await expect(startRfcSimulator({ tables: { VBAP: 5 } })).rejects.toThrow(/unknown name VBAP/)
  })
})
