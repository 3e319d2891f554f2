import { afterEach, describe, expect, it, vi } from 'vitest'
import { sapSourceFactory } from '../../src/orchestrator/sources.js'
import type { ChangeRef, SapRow } from '../../src/simulator/index.js'
import { startRfcSimulator, type RfcSimulatorOptions } from '../../src/simulator/rfc/index.js'
import { graphql } from '../gql/index.js'
import { createLogger, type Logger } from '../../src/util/logger.js'
import { Harness, SAP_PASSWORD, SAP_USER } from '../helpers/harness.js'
import { TEST_OUTBOUND } from '../helpers/outbound.js'
import { readRun, type LakeRow } from '../helpers/lake.js'

const CreateRfcConnection = graphql(`
  mutation RfcCreateConnection($input: CreateConnectionInput!) { createConnection(input: $input) { id rfcConfig { client user hasPassword } } }
`)
const CreateLake = graphql(`mutation RfcCreateLake($input: CreateDestinationInput!) { createDestination(input: $input) { id } }`)
const CreatePipeline = graphql(`
  mutation RfcCreatePipeline($input: CreatePipelineInput!) { createPipeline(input: $input) { id source { kind table odpContext odpName watermarkField } } }
`)
const ForceReset = graphql(`mutation RfcForceReset($id: ID!) { resetDelta(pipelineId: $id, force: true) { id deltaState { token } } }`)
const TestConnection = graphql(`mutation RfcTestConnection($id: ID!) { testConnection(id: $id) { ok code message } }`)
const UpdateRfcConnection = graphql(`
  mutation RfcUpdateConnection($id: ID!, $input: UpdateConnectionInput!) { updateConnection(id: $id, input: $input) { id rfcConfig { lang } } }
`)

type SourceInput = {
  kind: 'TABLE_RFC' | 'ODP_RFC'
  table?: string
  odpContext?: string
  odpName?: string
  fields?: string[]
  watermarkField?: string
  filter?: string
  pageSize?: number
}

/** The service with an RFC connection whose calls reach the RFC simulator (where node-rfc would reach SAP). */
async function start(opts: RfcSimulatorOptions = {}, rfcPoolSize?: number, log?: Logger) {
  const rfc = await startRfcSimulator(opts)
  const h = await Harness.start({
    log,
    orchestrator: {
      sources: sapSourceFactory({
        rfcClientFactory: (p) => rfc.createClient(p),
        rfcPoolSize,
        rfcRetireIdleMs: 1000,
        retries: 1,
        backoffMs: 5,
        outbound: TEST_OUTBOUND,
      }),
    },
  })
  const { createConnection } = await h.gql(CreateRfcConnection, {
    input: {
      name: 'erp',
      protocol: 'RFC',
      rfcConfig: { ashost: 'localhost', sysnr: '00', client: '100', user: SAP_USER, passwd: SAP_PASSWORD, lang: 'EN' },
    },
  })
  const { createDestination } = await h.gql(CreateLake, { input: { name: 'lake', kind: 'LOCAL', local: { path: h.lakeDir } } })
  const pipeline = async (name: string, mode: 'FULL' | 'DELTA', source: SourceInput) =>
    (await h.gql(CreatePipeline, { input: { name, mode, connectionId: createConnection.id, destinationId: createDestination.id, source } }))
      .createPipeline.id
  return { rfc, h, pipeline, connectionId: createConnection.id }
}

/** ABAP notation (the simulator's admin view) as DuckDB renders the Parquet value. */
function lake(row: SapRow, columns: string[], kinds: Record<string, string>): LakeRow {
  const out: LakeRow = {}
  for (const c of columns) {
    const v = row[c]
    if (kinds[c] === 'DATE')
      out[c] =
        v === '00000000' || v == null || v === '' ? null : `${String(v).slice(0, 4)}-${String(v).slice(4, 6)}-${String(v).slice(6, 8)}`
    else if (kinds[c] === 'TIME') out[c] = v == null ? null : `${String(v).slice(0, 2)}:${String(v).slice(2, 4)}:${String(v).slice(4, 6)}`
    else out[c] = v ?? null
  }
  return out
}
const pick = (r: LakeRow, columns: string[]) => Object.fromEntries(columns.map((c) => [c, r[c] ?? null]))
const byKey = (a: LakeRow, b: LakeRow) => `${a.VBELN}${a.POSNR}`.localeCompare(`${b.VBELN}${b.POSNR}`)

/** ODP delta rows the change log implies (§0 change-mode table, before and after images), in change order. */
function odpDeltaRows(changes: ChangeRef[], columns: string[], kinds: Record<string, string>): LakeRow[] {
  const image = (row: SapRow, mode: string, counter: string) => ({
    ...lake(row, columns, kinds),
    ODQ_CHANGEMODE: mode,
    ODQ_ENTITYCNTR: counter,
  })
  return changes.flatMap((c) =>
    c.mode === 'C'
      ? [image(c.after!, 'C', '1')]
      : c.mode === 'D'
        ? [image(c.before!, 'D', '-1')]
        : [image(c.before!, 'U', '-1'), image(c.after!, 'U', '1')],
  )
}

let env: Awaited<ReturnType<typeof start>> | undefined
afterEach(async () => {
  await env?.h.stop()
  await env?.rfc.close()
  env = undefined
})

describe('TABLE_RFC (RFC_READ_TABLE)', () => {
  const FIELDS = [
    'VBELN',
    'POSNR',
    'MATNR',
    'ARKTX',
    'KUNNR',
    'ERDAT',
    'ERZET',
    'NETWR',
    'WAERK',
    'KWMENG',
    'VRKME',
    'AEDAT',
    'AEZET',
    'CHANGED_AT',
    'LTEXT',
  ]

  it('loads a table value for value, and follows a change-timestamp watermark for deltas', async () => {
    env = await start({ tables: { ZSD_ITEMS: 730 } })
    const id = await env.pipeline('items', 'DELTA', {
      kind: 'TABLE_RFC',
      table: 'zsd_items',
      fields: FIELDS,
      watermarkField: 'changed_at',
      pageSize: 200,
    })
    const init = await env.h.run(id)
    expect(init).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '730' })
    const { rows, types } = await readRun(init.manifestUri!)
    expect(types).toMatchObject({
      VBELN: 'VARCHAR',
      ERDAT: 'DATE',
      ERZET: 'TIME',
      NETWR: 'DECIMAL(15,2)',
      KWMENG: 'DECIMAL(13,3)',
      AEDAT: 'DATE',
      AEZET: 'TIME',
      LTEXT: 'VARCHAR',
    })
    const expected: LakeRow[] = []
    for await (const r of env.rfc.admin.rows('ZSD_ITEMS')) expected.push(lake(r, FIELDS, types))
    expect(rows.map((r) => pick(r, FIELDS)).sort(byKey)).toEqual(expected.sort(byKey))
    expect(rows.some((r) => String(r.NETWR).startsWith('-'))).toBe(true)
    expect(rows.some((r) => r.ERZET === '24:00:00')).toBe(true)
    expect(rows.some((r) => r.AEDAT === null)).toBe(true)
    expect(rows.some((r) => /[^\x00-\x7F]/.test(String(r.LTEXT)))).toBe(true)

    env.rfc.admin.advanceClock(3600)
    const changes: ChangeRef[] = [...env.rfc.admin.update('ZSD_ITEMS', 6), ...env.rfc.admin.insert('ZSD_ITEMS', 4)]
    const delta = await env.h.run(id)
    expect(delta).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', changeCounts: null, rowsWritten: '10' })
    // each changed key once, with its values after the last change (a watermark delta sees only the current row)
    const after = new Map(changes.map((c) => [`${c.key.VBELN}/${c.key.POSNR}`, c.after!]))
    const delivered = (await readRun(delta.manifestUri!)).rows.map((r) => pick(r, FIELDS)).sort(byKey)
    expect(delivered).toEqual([...after.values()].map((r) => lake(r, FIELDS, types)).sort(byKey))
    expect(delivered.filter((r) => r.AEDAT !== null)).toHaveLength(6) // the updates carry their change date
  })

  it('reads a table wider than 512 characters in column groups joined on the key', async () => {
    env = await start({ tables: { ZMAT_WIDE: 120 } })
    const id = await env.pipeline('wide', 'FULL', { kind: 'TABLE_RFC', table: 'ZMAT_WIDE', pageSize: 50 })
    const run = await env.h.run(id)
    expect(run).toMatchObject({ status: 'SUCCEEDED', rowsWritten: '120' })
    const { rows, types } = await readRun(run.manifestUri!)
    const columns = Object.keys(types)
    expect(columns.length).toBeGreaterThan(10)
    const expected: LakeRow[] = []
    for await (const r of env.rfc.admin.rows('ZMAT_WIDE')) expected.push(lake(r, columns, types))
    const key = columns.find((c) => c !== 'MANDT')!
    const sort = (a: LakeRow[]) => [...a].sort((x, y) => String(x[key]).localeCompare(String(y[key])))
    expect(sort(rows.map((r) => pick(r, columns)))).toEqual(sort(expected))
  })

  it('fails clearly on a value SAP printed as * (overflow) instead of writing a wrong number', async () => {
    env = await start({ tables: { ZSD_ITEMS: 300 } })
    const id = await env.pipeline('overflow', 'FULL', { kind: 'TABLE_RFC', table: 'ZSD_ITEMS', pageSize: 100 })
    const run = await env.h.run(id)
    expect(run.status).toBe('FAILED')
    expect(run.error?.retryable).toBe(false)
    expect(run.error?.message).toMatch(/\*/)
  })
})

describe('RFC connection pool', () => {
  /** A wide table: each slice reads its column groups in parallel, so one run alone wants several connections. */
  const WIDE = { kind: 'TABLE_RFC' as const, table: 'ZMAT_WIDE', pageSize: 25 }

  async function expectWideTable(run: { status: string; manifestUri?: string | null }) {
    expect(run.status).toBe('SUCCEEDED')
    const { rows, types } = await readRun(run.manifestUri!)
    const columns = Object.keys(types)
    const expected: LakeRow[] = []
    for await (const r of env!.rfc.admin.rows('ZMAT_WIDE')) expected.push(lake(r, columns, types))
    const sort = (a: LakeRow[]) => [...a].sort((x, y) => `${x.MATNR}/${x.WERKS}`.localeCompare(`${y.MATNR}/${y.WERKS}`))
    expect(sort(rows.map((r) => pick(r, columns)))).toEqual(sort(expected))
  }

  it('two runs at once on one RFC connection share its pool: never more logons open than the limit', async () => {
    env = await start({ tables: { ZMAT_WIDE: 200 }, callLatencyMs: 2 }, 2)
    const [a, b] = [await env.pipeline('wide-a', 'FULL', WIDE), await env.pipeline('wide-b', 'FULL', WIDE)]
    const runs = await Promise.all([env.h.run(a), env.h.run(b)])
    for (const run of runs) await expectWideTable(run)
    // one pool of two for both runs: two logons in all, reused; separate pools would have logged on four times
    expect(env.rfc.admin.stats().connections).toMatchObject({ peak: 2, logons: 2 })
  })

  it('a connection changed while a run reads: that run reads on to the end, the next one gets a new pool', async () => {
    env = await start({ tables: { ZMAT_WIDE: 300 }, callLatencyMs: 2 }, 2)
    const [a, b] = [await env.pipeline('wide-a', 'FULL', WIDE), await env.pipeline('wide-b', 'FULL', WIDE)]
    const first = env.h.run(a)
    await vi.waitFor(() => expect(env!.rfc.admin.stats().byFunction['RFC_READ_TABLE']).toBeGreaterThan(4), { timeout: 10_000 })
    await env.h.gql(UpdateRfcConnection, {
      id: env.connectionId,
      input: { rfcConfig: { ashost: 'localhost', sysnr: '00', client: '100', user: SAP_USER, lang: 'DE' } },
    })
    const second = await env.h.run(b) // replaces the source of the connection while the first run still reads
    await expectWideTable(await first)
    await expectWideTable(second)
    // each pool logged on at most its limit (the old run reused its connections), and the replaced
    // pool closed its own once unused: only the new pool's stay logged on
    expect(env.rfc.admin.stats().connections.logons).toBeLessThanOrEqual(4)
    expect(env.rfc.admin.stats().connections.logons).toBeGreaterThan(2)
    await vi.waitFor(() => expect(env!.rfc.admin.stats().connections.open).toBeLessThanOrEqual(2), { timeout: 10_000 })
  })

  it('each run on a shared RFC connection logs under its own run id, not under the id of the run that opened the pool', async () => {
    const lines: Array<{ msg: string; runId?: string; pipelineId?: string }> = []
    const log = createLogger('debug', { write: (l: string) => void lines.push(JSON.parse(l)) })
    env = await start({ tables: { ZSD_ITEMS: 120 }, odps: { ZSD_ITEMS_CDC: 40 } }, 2, log)
    const table = await env.pipeline('items', 'FULL', {
      kind: 'TABLE_RFC',
      table: 'ZSD_ITEMS',
      fields: ['VBELN', 'POSNR', 'MATNR', 'NETWR'],
      pageSize: 50,
    })
    const odp = await env.pipeline('cdc', 'DELTA', { kind: 'ODP_RFC', odpContext: 'ABAP_CDS', odpName: 'ZSD_ITEMS_CDC', pageSize: 50 })
    /** The lines the RFC source and its pool wrote while one run ran, by message. */
    const rfcLinesOf = async (pipelineId: string) => {
      const from = lines.length
      const run = await env!.h.run(pipelineId)
      expect(run, JSON.stringify(run.error)).toMatchObject({ status: 'SUCCEEDED' })
      const rfcLines = lines.slice(from).filter((l) => /^(TABLE_RFC|ODP|RFC )/.test(l.msg))
      return {
        run,
        runIds: [...new Set(rfcLines.map((l) => l.runId))],
        pipelineIds: [...new Set(rfcLines.map((l) => l.pipelineId))],
        messages: rfcLines.map((l) => l.msg),
      }
    }
    const first = await rfcLinesOf(table)
    expect(first.messages).toEqual(expect.arrayContaining(['RFC connection opened', 'TABLE_RFC read planned', 'TABLE_RFC read finished']))
    expect(first.runIds).toEqual([first.run.id])
    // the same connection, so the same source and pool: every line of the later runs under their own id
    const second = await rfcLinesOf(odp)
    expect(second.messages).toEqual(expect.arrayContaining(['ODP request opened', 'ODP request read', 'ODP request closed (confirmed)']))
    expect(second.runIds).toEqual([second.run.id])
    expect(second.pipelineIds).toEqual([odp])
    const third = await rfcLinesOf(table)
    expect(third.messages).toEqual(expect.arrayContaining(['TABLE_RFC read planned', 'TABLE_RFC read finished']))
    expect(third.runIds).toEqual([third.run.id])
    expect(new Set([first.run.id, second.run.id, third.run.id]).size).toBe(3)
    expect(env.rfc.admin.stats().connections.logons).toBeLessThanOrEqual(2)
  })
})

describe('ODP_RFC (RODPS_REPL_*)', () => {
  const CDC = { kind: 'ODP_RFC' as const, odpContext: 'ABAP_CDS', odpName: 'ZSD_ITEMS_CDC', pageSize: 100 }

  it('initialises, delivers C/U/D deltas, and re-reads an interrupted delta with mode R', async () => {
    env = await start({ odps: { ZSD_ITEMS_CDC: 240 } })
    const id = await env.pipeline('cdc', 'DELTA', CDC)
    const init = await env.h.run(id)
    expect(init).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '240' })
    const { rows: initRows, types } = await readRun(init.manifestUri!)
    const business = Object.keys(types).filter((c) => !c.startsWith('ODQ_'))
    expect(business).toEqual(expect.arrayContaining(['VBELN', 'POSNR', 'ARKTX', 'NETWR', 'NETPR', 'RABAT', 'ANZPK', 'ERDAT', 'ERZET']))
    const expected: LakeRow[] = []
    for await (const r of env.rfc.admin.rows('ZSD_ITEMS_CDC')) expected.push(lake(r, business, types))
    expect(initRows.map((r) => pick(r, business)).sort(byKey)).toEqual(expected.sort(byKey))
    expect(initRows.some((r) => String(r.NETWR).startsWith('-'))).toBe(true) // negative packed numbers
    expect(new Set(initRows.map((r) => r.ODQ_CHANGEMODE))).toEqual(new Set([''])) // the initial load has no change mode
    expect(initRows.some((r) => /[^\x00-\x7F]/.test(String(r.ARKTX)))).toBe(true) // multi-byte text survived the 250-byte fragments

    const changes = [
      ...env.rfc.admin.insert('ZSD_ITEMS_CDC', 300),
      ...env.rfc.admin.update('ZSD_ITEMS_CDC', 10),
      ...env.rfc.admin.delete('ZSD_ITEMS_CDC', 5),
    ]
    env.rfc.admin.injectFault({ kind: 'communication-failure', functionModule: 'RODPS_REPL_ODP_FETCH', package: 2, times: 5 })
    const failed = await env.h.run(id)
    expect(failed).toMatchObject({ status: 'FAILED', extractionMode: 'DELTA', error: { code: 'SOURCE_UNAVAILABLE', retryable: true } })
    expect(failed.pipeline.deltaState?.recoveryPending).toBe(true)

    env.rfc.admin.clearFaults()
    const recovered = await env.h.run(id) // starts the queued automatic retry now
    expect(recovered).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'RECOVERY' })
    // every value of every image, in change order, with change mode and entity counter
    const all = Object.keys(types)
    const recoveredRows = (await readRun(recovered.manifestUri!)).rows
    expect(recoveredRows.map((r) => pick(r, all))).toEqual(odpDeltaRows(changes, business, types))
    expect(recovered.changeCounts).toEqual({ created: '300', updated: '10', deleted: '5' })

    // confirmed after the commit: the next delta holds only what changed since
    const later = [...env.rfc.admin.insert('ZSD_ITEMS_CDC', 2), ...env.rfc.admin.update('ZSD_ITEMS_CDC', 1)]
    const next = await env.h.run(id)
    expect(next).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', changeCounts: { created: '2', updated: '1', deleted: '0' } })
    expect((await readRun(next.manifestUri!)).rows.map((r) => pick(r, all))).toEqual(odpDeltaRows(later, business, types))
  })

  it("a subscription a forced resetDelta left in ODQ is not this pipeline's: the next DELTA_INIT refuses it until told to take it over", async () => {
    env = await start({ odps: { ZSD_ITEMS_CDC: 30 } })
    const id = await env.pipeline('forced', 'DELTA', CDC)
    expect(await env.h.run(id)).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '30' })
    // SAP cannot be reached for the reset: forced, the service forgets its position anyway.
    env.rfc.admin.injectFault({ kind: 'communication-failure', functionModule: 'RODPS_REPL_ODP_RESET', lost: 'request', times: 10 })
    expect((await env.h.gql(ForceReset, { id })).resetDelta.deltaState).toBeNull()
    env.rfc.admin.clearFaults()
    expect(env.rfc.admin.subscriptions()).toHaveLength(1) // still in ODQ

    const refused = await env.h.run(id)
    expect(refused).toMatchObject({
      status: 'FAILED',
      extractionMode: 'DELTA_INIT',
      error: { code: 'SUBSCRIPTION_IN_USE', retryable: false },
    })
    expect(refused.error!.message).toMatch(
      /ODQ already holds a subscription of SAP_BW\/DELTA_EXTRACTOR, process .* on ABAP_CDS\/ZSD_ITEMS_CDC/,
    )
    const taken = await env.h.run(id, 'DELTA_INIT', true)
    expect(taken).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '30' })
    const changes = env.rfc.admin.insert('ZSD_ITEMS_CDC', 3)
    expect(await env.h.run(id)).toMatchObject({
      status: 'SUCCEEDED',
      extractionMode: 'DELTA',
      changeCounts: { created: String(changes.length) },
    })
  })

  it("refused by SAP Note 3255746: the run fails at once with SAP's text, points to ODP over OData and says the opt-out expires", async () => {
    env = await start({ variants: { odpBlocked: true } })
    const id = await env.pipeline('blocked', 'DELTA', CDC)
    const run = await env.h.run(id)
    expect(run).toMatchObject({ status: 'FAILED', error: { code: 'SOURCE_FORBIDDEN', retryable: false } })
    expect(run.error?.message).toContain('Unknown caller; Call rejected. See SAP Note 3635619')
    expect(run.error?.message).toMatch(/ODP over OData is the supported path/)
    expect(run.error?.message).toMatch(/report RODPS_REPL_SECUREACCESS_OPTOUT .*expires at the end of 2026/)
    // refused at the first call: nothing opened in ODQ
    expect(env.rfc.admin.subscriptions()).toEqual([])
  })

  it('missing authorization for RODPS_REPL_ODP_OPEN: the run fails at once, not retried, and points to ODP over OData', async () => {
    env = await start({ odps: { ZSD_ITEMS_CDC: 20 } })
    env.rfc.admin.setFunctionAuthorization('RODPS_REPL_ODP_OPEN', false)
    const id = await env.pipeline('unauthorized', 'DELTA', CDC)
    const run = await env.h.run(id)
    expect(run).toMatchObject({ status: 'FAILED', extractionMode: 'DELTA_INIT', error: { code: 'SOURCE_FORBIDDEN', retryable: false } })
    expect(run.error?.message).toMatch(/RODPS_REPL_ODP_OPEN/)
    expect(run.error?.message).toMatch(/ODP over OData/)
    expect(run.error?.message).not.toContain(SAP_PASSWORD)
    expect(env.rfc.admin.stats().byFunction['RODPS_REPL_ODP_OPEN']).toBe(1)
    expect(env.rfc.admin.subscriptions()).toEqual([])
  })

  it('refuses RFC input that cannot work, before saving it', async () => {
    env = await start()
    const bad = async (source: SourceInput, mode: 'FULL' | 'DELTA' = 'FULL') =>
      env!.h.gqlError(CreatePipeline, {
        input: {
          name: 'bad',
          mode,
          connectionId: env!.connectionId,
          destinationId: (
            await env!.h.gql(CreateLake, { input: { name: `l${Math.random()}`, kind: 'LOCAL', local: { path: env!.h.lakeDir } } })
          ).createDestination.id,
          source,
        },
      })
    expect((await bad({ kind: 'TABLE_RFC', table: 'ZSD_ITEMS', filter: "VBELN = '1" })).extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'source.filter',
    })
    expect((await bad({ kind: 'TABLE_RFC', table: 'ZSD_ITEMS' }, 'DELTA')).extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'source.watermarkField',
    })
    expect((await bad({ kind: 'TABLE_RFC', table: 'ZSD ITEMS' })).extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'source.table',
    })
    expect((await bad({ kind: 'ODP_RFC', odpName: 'X' })).extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'source.odpContext' })
  })
})

describe('without SAP NW RFC SDK', () => {
  it('testConnection says which driver is missing and that OData needs none', async () => {
    const h = await Harness.start() // the real default: node-rfc, which cannot load here
    try {
      const { createConnection } = await h.gql(CreateRfcConnection, {
        input: { name: 'erp', protocol: 'RFC', rfcConfig: { ashost: 'localhost', sysnr: '00', client: '100', user: 'U', passwd: 'p' } },
      })
      expect(createConnection.rfcConfig).toEqual({ client: '100', user: 'U', hasPassword: true })
      const { testConnection } = await h.gql(TestConnection, { id: createConnection.id })
      expect(testConnection).toMatchObject({ ok: false, code: 'SOURCE_DRIVER_MISSING' })
      expect(testConnection.message).toMatch(/NW RFC SDK/)
      expect(testConnection.message).toMatch(/OData/)
    } finally {
      await h.stop()
    }
  })
})
