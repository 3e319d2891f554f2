/**
 * The current-state table (`output: { table: ICEBERG, currentState: true }`, issue 13 points 2 and 5,
 * docs/architecture.md#lake-commit): after every run, icebird (a reader the project did not write,
 * applying Iceberg v2 equality and position deletes) reads the table and it must equal the
 * simulator's own table, field by field — after the initial load, deltas with creates, updates
 * (one key twice in a delta) and deletes, a commit interrupted between the two tables, and a field
 * SAP adds mid-life; on LOCAL, Azurite and s3rver.
 */
import { icebergMetadata, icebergRead } from 'icebird'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { LAST_RUN_PROPERTY, SUMMARY_KEYS } from '../../src/lake/iceberg/index.js'
import { sapSourceFactory } from '../../src/orchestrator/sources.js'
import { SALES_ITEMS, type SapRow } from '../../src/simulator/index.js'
import { startRfcSimulator, type RfcSimulator } from '../../src/simulator/rfc/index.js'
import type { CreateDestinationInput } from '../gql/graphql.js'
import { graphql } from '../gql/index.js'
import { Azurite } from '../helpers/azurite.js'
import { FaultProxy } from '../helpers/fault-proxy.js'
import { Harness, SAP_PASSWORD, SAP_USER, type HarnessOptions } from '../helpers/harness.js'
import { expectedLakeRow, readManifest } from '../helpers/lake.js'
import { fileObjects, s3rverObjects, withObjectFetch } from '../helpers/object-fetch.js'
import { TEST_OUTBOUND } from '../helpers/outbound.js'
import { S3RVER_KEY_ID, S3RVER_SECRET, S3rverEmulator } from '../helpers/s3rver.js'

const TablesOf = graphql(`
  query LakeCurrentStateTables($id: ID!) {
    pipeline(id: $id) {
      lakeTable { path location currentSnapshotId }
      currentStateTable { format path location version currentSnapshotId schemaId fields { id name type required } }
    }
  }
`)
const UpdateOutput = graphql(`
  mutation LakeCurrentStateOutput($id: ID!, $input: UpdatePipelineInput!) { updatePipeline(id: $id, input: $input) { id } }
`)
const CreateRfcConnection = graphql(
  `mutation LakeStateRfcConnection($input: CreateConnectionInput!) { createConnection(input: $input) { id } }`,
)
const CreateLake = graphql(`mutation LakeStateRfcLake($input: CreateDestinationInput!) { createDestination(input: $input) { id } }`)
const CreateRfcPipeline = graphql(`mutation LakeStateRfcPipeline($input: CreatePipelineInput!) { createPipeline(input: $input) { id } }`)
const ResetDelta = graphql(`mutation LakeCurrentStateReset($id: ID!) { resetDelta(pipelineId: $id) { id } }`)

let h: Harness | undefined
let s3: S3rverEmulator | undefined
let restoreFetch: () => void
beforeAll(async () => {
  s3 = await S3rverEmulator.start()
  restoreFetch = withObjectFetch(fileObjects, s3rverObjects(s3))
})
afterAll(async () => {
  restoreFetch()
  await s3?.dispose()
})
afterEach(async () => {
  await h?.stop()
  h = undefined
})

/**
 * One value as both sides render it: the simulator's row through expectedLakeRow (dates as
 * YYYY-MM-DD, times as HH:MM:SS), icebird's dates as Date and times as microseconds; numbers and
 * decimals by value (icebird reads DECIMAL as a JS number), text as is.
 */
function norm(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (v instanceof Date) return v.toISOString().slice(0, 10)
  // 15 significant digits: what a double holds of a decimal exactly (icebird reads DECIMAL as a double)
  if (typeof v === 'bigint' || typeof v === 'number') return String(Number(Number(v).toPrecision(15)))
  if (typeof v === 'string' && /^-?\d+\.\d+$/.test(v)) return String(Number(Number(v).toPrecision(15)))
  return String(v)
}
const TIME_FIELDS = new Set(['ERZET'])
/** Microseconds since midnight as HH:MM:SS; 24:00:00 stays (SAP's TIMS allows it). */
const clock = (micros: unknown) => {
  const seconds = Math.floor(Number(micros) / 1e6)
  return [seconds / 3600, (seconds / 60) % 60, seconds % 60].map((n) => String(Math.floor(n)).padStart(2, '0')).join(':')
}

/** A row as the SAP table holds it: every business field, in the simulator's field order. */
const sig = (fields: readonly string[], r: Record<string, unknown>) => fields.map((f) => `${f}=${norm(r[f])}`).join('|')
const tableSig = (fields: readonly string[], r: Record<string, unknown>) =>
  sig(fields, Object.fromEntries(fields.map((f) => [f, TIME_FIELDS.has(f) && r[f] != null ? clock(r[f]) : r[f]])))

async function simulatorTable(h: Harness): Promise<{ fields: string[]; rows: string[] }> {
  const rows: SapRow[] = []
  for await (const r of h.sim.admin.rows(SALES_ITEMS)) rows.push(r)
  const fields = Object.keys(rows[0] ?? {})
  return { fields, rows: rows.map((r) => sig(fields, expectedLakeRow(r))).sort() }
}

async function currentState(tableUrl: string, fields: readonly string[]): Promise<string[]> {
  return (await icebergRead({ tableUrl })).map((r) => tableSig(fields, r)).sort()
}

/** The current-state table equals the simulator's table, and its last applied run is `runId`. */
async function expectInStep(h: Harness, tableUrl: string, runId: string) {
  const sap = await simulatorTable(h)
  expect(await currentState(tableUrl, sap.fields)).toEqual(sap.rows)
  const meta = await icebergMetadata({ tableUrl })
  expect(meta.properties?.[LAST_RUN_PROPERTY]).toBe(runId)
  return meta
}

type DestinationInput = Omit<CreateDestinationInput, 'name'>

async function initialised(rows: number, destination?: DestinationInput, opts: HarnessOptions = {}) {
  h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: rows } }, ...opts })
  const { pipelineId } = await h.createPipeline({
    name: 'items',
    pageSize: 15,
    output: { table: 'ICEBERG', currentState: true },
    destination,
  })
  const init = await h.run(pipelineId)
  expect(init).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: String(rows) })
  const { pipeline } = await h.gql(TablesOf, { id: pipelineId })
  expect(pipeline?.currentStateTable).toMatchObject({ format: 'ICEBERG', path: 'items_current', version: 1 })
  const tableUrl = pipeline!.currentStateTable!.location
  await expectInStep(h, tableUrl, init.id)
  return { h, pipelineId, init, tableUrl }
}

/** Initial load, then two deltas with every kind of change, one key updated twice and one updated then deleted. */
async function threeRuns(destination?: DestinationInput) {
  const { h, pipelineId, init, tableUrl } = await initialised(40, destination)
  const keyOf = (c: { key: unknown }) => c.key as never
  const [twice, gone] = h.sim.admin.update(SALES_ITEMS, 2)
  h.sim.admin.update(SALES_ITEMS, [keyOf(twice)])
  h.sim.admin.delete(SALES_ITEMS, [keyOf(gone)])
  h.sim.admin.insert(SALES_ITEMS, 4)
  h.sim.admin.update(SALES_ITEMS, 3)
  h.sim.admin.delete(SALES_ITEMS, 2)
  const d1 = await h.run(pipelineId)
  expect(d1).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA' })
  await expectInStep(h, tableUrl, d1.id)

  const [created] = h.sim.admin.insert(SALES_ITEMS, 2)
  h.sim.admin.update(SALES_ITEMS, [keyOf(created)])
  h.sim.admin.update(SALES_ITEMS, 2)
  h.sim.admin.delete(SALES_ITEMS, 1)
  const d2 = await h.run(pipelineId)
  expect(d2).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA' })
  const meta = await expectInStep(h, tableUrl, d2.id)

  // One snapshot per run, each naming its run; the deltas carry both kinds of delete file.
  const summaries = meta.snapshots!.map((s) => s.summary as Record<string, string>)
  expect(summaries.map((s) => s[SUMMARY_KEYS.runId])).toEqual([init.id, d1.id, d2.id])
  expect(summaries.slice(1).map((s) => [Number(s['added-equality-deletes']) > 0, Number(s['added-position-deletes']) > 0])).toEqual([
    [true, true],
    [true, true],
  ])
  // The API and the manifests name both tables' snapshots; the change log still holds every image.
  const { pipeline } = await h.gql(TablesOf, { id: pipelineId })
  expect(pipeline?.currentStateTable).toMatchObject({ version: 3, currentSnapshotId: String(meta['current-snapshot-id']) })
  const changeLog = await icebergRead({ tableUrl: pipeline!.lakeTable!.location })
  expect(changeLog.filter((r) => r._RUN_ID === d2.id)).toHaveLength(Number(d2.rowsWritten))
  if (!destination) {
    const manifest = await readManifest(d2.manifestUri!)
    expect(manifest.table?.currentState).toEqual({
      path: 'items_current',
      location: tableUrl,
      continuesFrom: d1.id,
      snapshotId: meta['current-snapshot-id'],
    })
    expect(manifest.table?.snapshotId).toBe(Number(pipeline!.lakeTable!.currentSnapshotId))
  }
  return { h, pipelineId, tableUrl }
}

it('LOCAL: the initial load and two deltas leave the current-state table equal to the SAP table after each run', async () => {
  await threeRuns()
})

it('a FULL pipeline: each load replaces the table', async () => {
  h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 30 } } })
  const { pipelineId } = await h.createPipeline({ name: 'full', mode: 'FULL', output: { table: 'ICEBERG', currentState: true } })
  const first = await h.run(pipelineId)
  const tableUrl = (await h.gql(TablesOf, { id: pipelineId })).pipeline!.currentStateTable!.location
  await expectInStep(h, tableUrl, first.id)
  h.sim.admin.delete(SALES_ITEMS, 5)
  h.sim.admin.update(SALES_ITEMS, 5)
  h.sim.admin.insert(SALES_ITEMS, 3)
  const second = await h.run(pipelineId)
  expect(second).toMatchObject({ status: 'SUCCEEDED', rowsWritten: '28' })
  const meta = await expectInStep(h, tableUrl, second.id)
  expect(meta.snapshots!.at(-1)!.summary).toMatchObject({ operation: 'overwrite', 'total-records': '28' })
})

it('a field SAP adds mid-life becomes a column of both tables with one field id; rows changed since hold its values', async () => {
  const { h, pipelineId, tableUrl } = await initialised(10)
  h.sim.admin.addField(SALES_ITEMS, { name: 'ZZCOLOR', type: { abap: 'CHAR', length: 8 } })
  const changes = [...h.sim.admin.insert(SALES_ITEMS, 2), ...h.sim.admin.update(SALES_ITEMS, 2)]
  const run = await h.run(pipelineId)
  expect(run).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA' })
  const { pipeline } = await h.gql(TablesOf, { id: pipelineId })
  const changeLog = await icebergMetadata({ tableUrl: pipeline!.lakeTable!.location })
  const state = await icebergMetadata({ tableUrl })
  const fieldOf = (m: typeof state) =>
    m.schemas.find((s) => s['schema-id'] === m['current-schema-id'])!.fields.find((f) => f.name === 'ZZCOLOR')
  expect(fieldOf(state)).toMatchObject({ required: false, type: 'string' })
  expect(fieldOf(state)?.id).toBe(fieldOf(changeLog)?.id)
  // SAP gives rows that exist its initial value without a change record: the table reads null there
  // until the row changes or a full load replaces it (README, Current-state table).
  const touched = new Set(changes.map((c) => JSON.stringify(c.key)))
  const sap = await simulatorTable(h)
  const expected: string[] = []
  for await (const r of h.sim.admin.rows(SALES_ITEMS)) {
    const key = JSON.stringify({ VBELN: r.VBELN, POSNR: r.POSNR })
    expected.push(sig(sap.fields, expectedLakeRow(touched.has(key) ? r : { ...r, ZZCOLOR: null })))
  }
  expect(changes.every((c) => touched.has(JSON.stringify({ VBELN: c.key.VBELN, POSNR: c.key.POSNR })))).toBe(true)
  expect(await currentState(tableUrl, sap.fields)).toEqual(expected.sort())
})

it('turned on mid-life, a delta is refused with nothing committed until the table is loaded whole', async () => {
  h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 12 } } })
  const { pipelineId } = await h.createPipeline({ name: 'late', output: { table: 'ICEBERG' } })
  expect(await h.run(pipelineId)).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT' })
  await h.gql(UpdateOutput, { id: pipelineId, input: { output: { currentState: true } } })
  const { db } = h.app.services
  const before = await db.deltaState.findUniqueOrThrow({ where: { pipelineId } })
  const changeLog = (await h.gql(TablesOf, { id: pipelineId })).pipeline!.lakeTable!
  h.sim.admin.insert(SALES_ITEMS, 3)
  const refused = await h.run(pipelineId)
  expect(refused).toMatchObject({ status: 'FAILED', error: { code: 'CURRENT_STATE_REFUSED', retryable: false } })
  expect(refused.error?.message).toMatch(/does not exist yet.*DELTA_INIT/)
  expect(await db.deltaState.findUniqueOrThrow({ where: { pipelineId } })).toMatchObject({ token: before.token })
  expect((await h.gql(TablesOf, { id: pipelineId })).pipeline?.lakeTable?.currentSnapshotId).toBe(changeLog.currentSnapshotId)
  expect((await h.gql(TablesOf, { id: pipelineId })).pipeline?.currentStateTable?.version).toBeNull()

  await h.gql(ResetDelta, { id: pipelineId })
  const init = await h.run(pipelineId)
  expect(init).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '15' })
  const tableUrl = (await h.gql(TablesOf, { id: pipelineId })).pipeline!.currentStateTable!.location
  await expectInStep(h, tableUrl, init.id)
  h.sim.admin.update(SALES_ITEMS, 4)
  const d = await h.run(pipelineId)
  expect(d).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA' })
  await expectInStep(h, tableUrl, d.id)
})

describe('on object stores', () => {
  let azurite: Azurite
  beforeAll(async () => {
    azurite = await Azurite.start()
    // Public read: icebird fetches the URLs recorded in the metadata without credentials.
    await azurite.client().getContainerClient('lake').create({ access: 'container' })
  })
  afterAll(() => azurite?.dispose())

  it('AZURE_BLOB: the same three runs, in step with SAP after each', async () => {
    await threeRuns({
      kind: 'AZURE_BLOB',
      azureBlob: { container: 'lake', prefix: 'root', connectionString: azurite.connectionString, blockSizeMb: 1 },
    })
  })

  it('S3: the same three runs, in step with SAP after each', async () => {
    await s3!.createBucket('lake')
    await threeRuns({
      kind: 'S3',
      s3: {
        bucket: 'lake',
        prefix: 'root',
        endpoint: s3!.endpoint,
        forcePathStyle: true,
        accessKeyId: S3RVER_KEY_ID,
        secretAccessKey: S3RVER_SECRET,
      },
    })
  })

  /**
   * A delta whose every write into the current-state table is refused by the store (a 503 proxy in
   * front of s3rver): the change log commits it, this table cannot, and the worker leaves the run,
   * COMMITTING, to the sweep (which the test runs by hand).
   */
  async function cutRun(bucket: string, proxy: FaultProxy) {
    await s3!.createBucket(bucket)
    const { h, pipelineId, tableUrl, init } = await initialised(
      20,
      {
        kind: 'S3',
        s3: {
          bucket,
          prefix: 'root',
          endpoint: proxy.url,
          forcePathStyle: true,
          accessKeyId: S3RVER_KEY_ID,
          secretAccessKey: S3RVER_SECRET,
        },
      },
      { orchestrator: { sweepEveryMs: 0 } },
    )
    const { db, orchestrator } = h.app.services
    h.sim.admin.insert(SALES_ITEMS, 3)
    h.sim.admin.update(SALES_ITEMS, 3)
    h.sim.admin.delete(SALES_ITEMS, 2)
    const refused = proxy.inject('503', (r) => r.method === 'PUT' && r.path.includes('/items_current/'), 'every')
    const runId = (await h.gql(graphql(`mutation LakeCutRun($id: ID!) { runPipeline(id: $id) { id } }`), { id: pipelineId })).runPipeline.id
    await expect.poll(() => orchestrator.isRunningHere(runId), { timeout: 60_000 }).toBe(false)
    expect(refused.length).toBeGreaterThan(0)
    expect(await db.run.findUniqueOrThrow({ where: { id: runId } })).toMatchObject({ status: 'RUNNING', stage: 'COMMITTING' })
    const changeLogUrl = (await h.gql(TablesOf, { id: pipelineId })).pipeline!.lakeTable!.location
    const changeLog = await icebergMetadata({ tableUrl: changeLogUrl })
    expect(changeLog.snapshots!.map((s) => (s.summary as Record<string, string>)[SUMMARY_KEYS.runId])).toEqual([init.id, runId])
    // The current-state table still ends at the initial load; the SAP table has moved on.
    expect((await icebergMetadata({ tableUrl })).properties?.[LAST_RUN_PROPERTY]).toBe(init.id)
    return { h, pipelineId, tableUrl, changeLogUrl, init, runId }
  }

  it('S3: a commit cut between the change log and the current-state table is finished by the sweep, once, also by two passes at once', async () => {
    const proxy = await FaultProxy.start(() => s3!.port)
    try {
      const { h, pipelineId, tableUrl, runId } = await cutRun('cut', proxy)
      proxy.clearFaults()
      const ended = h.waitForRun(runId)
      // Two passes asked at once (a long roll-forward outlasting the sweep period): the run is applied once.
      await Promise.all([h.app.services.orchestrator.sweepLostRuns(), h.app.services.orchestrator.sweepLostRuns()])
      expect(await ended).toMatchObject({ status: 'SUCCEEDED' })
      const meta = await expectInStep(h, tableUrl, runId)
      expect(meta.snapshots).toHaveLength(2)
      // Exactly once: the next delta continues from it in both tables.
      h.sim.admin.update(SALES_ITEMS, 2)
      const next = await h.run(pipelineId)
      expect(next).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA' })
      await expectInStep(h, tableUrl, next.id)
    } finally {
      await proxy.close()
    }
  })

  it('S3: a run cut there and then cancelled is committed by its change-log snapshot; the current-state table says it is behind until reloaded', async () => {
    const proxy = await FaultProxy.start(() => s3!.port)
    try {
      const { h, pipelineId, tableUrl, changeLogUrl, init, runId } = await cutRun('cut-cancel', proxy)
      const { db, orchestrator } = h.app.services
      const rowsBefore = (await icebergRead({ tableUrl: changeLogUrl })).length
      // The user gives up on the stuck run (cancelRun sets the flag); the store still refuses the table.
      await db.run.update({ where: { id: runId }, data: { cancelRequested: true } })
      await orchestrator.sweepLostRuns()
      // Failing it would re-read its delta into the change log a second time: it is committed instead.
      expect(await db.run.findUniqueOrThrow({ where: { id: runId } })).toMatchObject({ status: 'SUCCEEDED', uncommittedPrefix: null })
      expect((await icebergMetadata({ tableUrl })).properties?.[LAST_RUN_PROPERTY]).toBe(init.id)
      proxy.clearFaults()
      h.sim.admin.update(SALES_ITEMS, 2)
      const refused = await h.run(pipelineId)
      expect(refused).toMatchObject({ status: 'FAILED', error: { code: 'CURRENT_STATE_REFUSED' } })
      expect(refused.error?.message).toContain(`ends at run ${init.id}`)
      // The change log is whole and holds the cut run once; nothing of the refused delta.
      const log = await icebergRead({ tableUrl: changeLogUrl })
      expect(log.length).toBe(rowsBefore)
      expect(log.filter((r) => r._RUN_ID === refused.id)).toEqual([])
      await h.gql(ResetDelta, { id: pipelineId })
      const reload = await h.run(pipelineId)
      expect(reload).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT' })
      await expectInStep(h, tableUrl, reload.id)
    } finally {
      await proxy.close()
    }
  })
})

it('TABLE_RFC DELTA: an initial load read as 3 partitions, then a watermark delta, in step with the RFC table', async () => {
  const rfc: RfcSimulator = await startRfcSimulator({ tables: { ZSD_ITEMS: 120 } })
  const harness = await Harness.start({
    orchestrator: {
      sources: sapSourceFactory({
        rfcClientFactory: (p) => rfc.createClient(p),
        rfcPoolSize: 4,
        retries: 1,
        backoffMs: 5,
        outbound: TEST_OUTBOUND,
      }),
    },
  })
  h = harness
  try {
    const { createConnection } = await harness.gql(CreateRfcConnection, {
      input: {
        name: 'erp',
        protocol: 'RFC',
        rfcConfig: { ashost: 'localhost', sysnr: '00', client: '100', user: SAP_USER, passwd: SAP_PASSWORD, lang: 'EN' },
      },
    })
    const { createDestination } = await harness.gql(CreateLake, {
      input: { name: 'lake', kind: 'LOCAL', local: { path: harness.lakeDir } },
    })
    const fields = ['VBELN', 'POSNR', 'MATNR', 'ARKTX', 'NETWR', 'WAERK', 'ERDAT', 'CHANGED_AT']
    const { createPipeline } = await harness.gql(CreateRfcPipeline, {
      input: {
        name: 'zsd items',
        mode: 'DELTA',
        connectionId: createConnection.id,
        destinationId: createDestination.id,
        source: { kind: 'TABLE_RFC', table: 'ZSD_ITEMS', fields, watermarkField: 'CHANGED_AT', pageSize: 25, partitions: 3 },
        output: { table: 'ICEBERG', currentState: true },
      },
    })
    const compared = fields.filter((f) => f !== 'CHANGED_AT')
    const inStep = async (runId: string) => {
      const sap: string[] = []
      for await (const r of rfc.admin.rows('ZSD_ITEMS')) sap.push(sig(compared, expectedLakeRow(r)))
      const { pipeline } = await harness.gql(TablesOf, { id: createPipeline.id })
      expect(pipeline?.currentStateTable?.path).toBe('zsd_items_current')
      const tableUrl = pipeline!.currentStateTable!.location
      expect(await currentState(tableUrl, compared)).toEqual(sap.sort())
      expect((await icebergMetadata({ tableUrl })).properties?.[LAST_RUN_PROPERTY]).toBe(runId)
    }
    const init = await harness.run(createPipeline.id)
    expect(init).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '120' })
    await inStep(init.id)
    rfc.admin.advanceClock(7_200)
    rfc.admin.update('ZSD_ITEMS', 6)
    rfc.admin.insert('ZSD_ITEMS', 3)
    const delta = await harness.run(createPipeline.id)
    expect(delta).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA' })
    await inStep(delta.id)
  } finally {
    await rfc.close()
  }
})
