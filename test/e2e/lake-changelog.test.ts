/**
 * An OData DELTA pipeline with `output: { table: ICEBERG }` on LOCAL (issue 13 point 1,
 * docs/architecture.md#lake-commit): every run is one snapshot of the pipeline's change-log table,
 * read back with icebird (a reader the project did not write) and compared with every change the
 * simulator made; a run lost after its snapshot is rolled forward from it, once; a run that fails
 * before its snapshot leaves the table as it was.
 */
import { readFile, rename, writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { icebergMetadata, icebergRead } from 'icebird'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { SUMMARY_KEYS } from '../../src/lake/iceberg/index.js'
import { PENDING_MANIFEST_FILE } from '../../src/orchestrator/lake/commit-snapshot.js'
import { SALES_ITEMS, type ChangeRef } from '../../src/simulator/index.js'
import type { CreateDestinationInput } from '../gql/graphql.js'
import { graphql } from '../gql/index.js'
import { Azurite } from '../helpers/azurite.js'
import { FaultProxy } from '../helpers/fault-proxy.js'
import { fileObjects, s3rverObjects, withObjectFetch } from '../helpers/object-fetch.js'
import { Harness, type HarnessOptions } from '../helpers/harness.js'
import { S3RVER_KEY_ID, S3RVER_SECRET, S3rverEmulator } from '../helpers/s3rver.js'
import { readManifest, readRun } from '../helpers/lake.js'

const LakeTableOf = graphql(`
  query LakeChangeLogTable($id: ID!) {
    pipeline(id: $id) { lakeTable { format path location version currentSnapshotId schemaId fields { id name type required } } }
  }
`)
const SnapshotOfRun = graphql(`query LakeChangeLogRun($id: ID!) { run(id: $id) { snapshotId } }`)

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

/** One change-log row as compared: key, change mode, entity counter, a business value, the run. */
const sig = (r: Record<string, unknown>) =>
  `${r.VBELN}/${r.POSNR}/${r.ODQ_CHANGEMODE ?? ''}/${Number(r.ODQ_ENTITYCNTR ?? 0)}/${r.ARKTX}/${r._RUN_ID}`

/** The rows SAP delivers for these changes (before and after images), as change-log signatures of `runId`. */
function expectedDelta(changes: ChangeRef[], runId: string): string[] {
  const row = (image: Record<string, unknown> | null, mode: string, counter: number) =>
    sig({ ...image, ODQ_CHANGEMODE: mode, ODQ_ENTITYCNTR: counter, _RUN_ID: runId })
  return changes.flatMap((c) =>
    c.mode === 'C' ? [row(c.after, 'C', 1)] : c.mode === 'U' ? [row(c.before, 'U', -1), row(c.after, 'U', 1)] : [row(c.before, 'D', -1)],
  )
}

async function snapshotOf(h: Harness, runId: string): Promise<string[]> {
  const out: string[] = []
  for await (const r of h.sim.admin.rows(SALES_ITEMS)) out.push(sig({ ...r, ODQ_CHANGEMODE: '', ODQ_ENTITYCNTR: 0, _RUN_ID: runId }))
  return out
}

async function tableRows(tableUrl: string): Promise<string[]> {
  return (await icebergRead({ tableUrl })).map(sig).sort()
}

type DestinationInput = Omit<CreateDestinationInput, 'name'>

/** An ICEBERG DELTA pipeline, initialised: its table URL and the rows the table must hold so far. */
async function initialised(rows = 40, destination?: DestinationInput, opts: HarnessOptions = {}) {
  h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: rows } }, ...opts })
  const { pipelineId } = await h.createPipeline({ name: 'items', pageSize: 15, output: { table: 'ICEBERG' }, destination })
  const init = await h.run(pipelineId)
  expect(init).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: String(rows) })
  const table = (await h.gql(LakeTableOf, { id: pipelineId })).pipeline!.lakeTable!
  expect(table).toMatchObject({ format: 'ICEBERG', path: 'items', version: 1 })
  if (!destination)
    expect((await readManifest(init.manifestUri!)).table).toMatchObject({ format: 'ICEBERG', path: 'items', location: table.location })
  return { h, pipelineId, init, tableUrl: table.location, expected: await snapshotOf(h, init.id) }
}

/** DELTA_INIT and two deltas with creates, updates and deletes: three snapshots holding every change once. */
async function threeRuns(destination?: DestinationInput) {
  const { h, pipelineId, init, tableUrl, expected } = await initialised(40, destination)
  const changes1 = [...h.sim.admin.insert(SALES_ITEMS, 4), ...h.sim.admin.update(SALES_ITEMS, 3), ...h.sim.admin.delete(SALES_ITEMS, 2)]
  const d1 = await h.run(pipelineId)
  expect(d1).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', changeCounts: { created: '4', updated: '3', deleted: '2' } })
  const changes2 = [...h.sim.admin.update(SALES_ITEMS, 2), ...h.sim.admin.insert(SALES_ITEMS, 1)]
  const d2 = await h.run(pipelineId)
  expect(d2).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', rowsWritten: '5' })

  expect(await tableRows(tableUrl)).toEqual([...expected, ...expectedDelta(changes1, d1.id), ...expectedDelta(changes2, d2.id)].sort())

  const meta = await icebergMetadata({ tableUrl })
  const summaries = meta.snapshots!.map((s) => s.summary as Record<string, string>)
  expect(
    summaries.map((s) => [s[SUMMARY_KEYS.runId], s[SUMMARY_KEYS.deltaTokenIn], s[SUMMARY_KEYS.deltaTokenOut], s['added-records']]),
  ).toEqual([
    [init.id, undefined, init.deltaTokenOut, '40'],
    [d1.id, init.deltaTokenOut, d1.deltaTokenOut, '12'],
    [d2.id, d1.deltaTokenOut, d2.deltaTokenOut, '5'],
  ])
  // Each run's manifest.json and Run.snapshotId name the snapshot that committed it.
  for (const [i, run] of [init, d1, d2].entries()) {
    const snapshotId = meta.snapshots![i]['snapshot-id']
    expect((await h.gql(SnapshotOfRun, { id: run.id })).run?.snapshotId).toBe(String(snapshotId))
    if (!destination) expect((await readManifest(run.manifestUri!)).table?.snapshotId).toBe(snapshotId)
  }
  // The API shows the table: where it is, its current snapshot and schema.
  const { pipeline } = await h.gql(LakeTableOf, { id: pipelineId })
  const current = meta.schemas.find((s) => s['schema-id'] === meta['current-schema-id'])!
  expect(pipeline?.lakeTable).toEqual({
    format: 'ICEBERG',
    path: 'items',
    location: tableUrl,
    version: 3,
    currentSnapshotId: String(meta['current-snapshot-id']),
    schemaId: 0,
    fields: current.fields.map(({ id, name, type, required }) => ({ id, name, type, required })),
  })
  expect(current.fields.slice(-2).map((f) => f.name)).toEqual(['_RUN_ID', '_EXTRACTED_AT'])
  return { h, d2 }
}

it('LOCAL: commits DELTA_INIT and two deltas as three snapshots; icebird reads every change once, with run ids and tokens', async () => {
  const { h, d2 } = await threeRuns()
  // The pending copy of each manifest is gone once manifest.json is written.
  await expect(readFile(join((await readManifest(d2.manifestUri!)).dir, PENDING_MANIFEST_FILE))).rejects.toThrow(/ENOENT/)
  expect((await h.gql(LakeTableOf, { id: (await h.app.services.db.pipeline.findFirstOrThrow()).id })).pipeline?.lakeTable?.version).toBe(3)

  // The table's files hold Iceberg's TIMESTAMP(MICROS, UTC), as the manifest says; DuckDB and icebird
  // read the run's one extraction time as the same instant.
  const { manifest, rows, types } = await readRun(d2.manifestUri!)
  expect(manifest.table?.columns.find((c) => c.name === '_EXTRACTED_AT')).toMatchObject({
    parquetType: 'INT64',
    logicalType: 'TIMESTAMP(MICROS,UTC)',
  })
  expect(types._EXTRACTED_AT).toBe('TIMESTAMP WITH TIME ZONE')
  const duckTimes = new Set(rows.map((r) => new Date(String(r._EXTRACTED_AT).replace(' ', 'T').replace(/\+00$/, 'Z')).getTime()))
  expect(duckTimes.size).toBe(1)
  const tableTimes = (await icebergRead({ tableUrl: manifest.table!.location }))
    .filter((r) => r._RUN_ID === d2.id)
    .map((r) => (r._EXTRACTED_AT as Date).getTime())
  expect(tableTimes).toEqual(rows.map(() => [...duckTimes][0]))
})

describe('on object stores', () => {
  let azurite: Azurite
  beforeAll(async () => {
    azurite = await Azurite.start()
    // Public read: icebird fetches the URLs recorded in the metadata without credentials.
    await azurite.client().getContainerClient('lake').create({ access: 'container' })
  })
  afterAll(() => azurite?.dispose())

  it('AZURE_BLOB: the same three runs, read back with icebird', async () => {
    await threeRuns({
      kind: 'AZURE_BLOB',
      azureBlob: { container: 'lake', prefix: 'root', connectionString: azurite.connectionString, blockSizeMb: 1 },
    })
  })

  it('S3: a manifest.json that cannot be written after the snapshot is written by the sweep, which then commits the run', async () => {
    await s3!.createBucket('faulty')
    const proxy = await FaultProxy.start(() => s3!.port)
    try {
      const { h, pipelineId, tableUrl, expected } = await initialised(
        20,
        {
          kind: 'S3',
          s3: {
            bucket: 'faulty',
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
      const changes = h.sim.admin.insert(SALES_ITEMS, 6)
      const refused = proxy.inject('503', (r) => r.method === 'PUT' && r.path.endsWith('/manifest.json'), 'every')
      const runId = (await h.gql(graphql(`mutation LakeFaultyRun($id: ID!) { runPipeline(id: $id) { id } }`), { id: pipelineId }))
        .runPipeline.id
      // The worker leaves the run, committed by its snapshot, to the sweep.
      await expect.poll(() => orchestrator.isRunningHere(runId), { timeout: 30_000 }).toBe(false)
      expect(refused.length).toBeGreaterThan(0)
      expect(await db.run.findUniqueOrThrow({ where: { id: runId } })).toMatchObject({ status: 'RUNNING', stage: 'COMMITTING' })
      expect(await tableRows(tableUrl)).toEqual([...expected, ...expectedDelta(changes, runId)].sort())

      proxy.clearFaults()
      const ended = h.waitForRun(runId)
      await orchestrator.sweepLostRuns()
      const run = await ended
      expect(run).toMatchObject({ status: 'SUCCEEDED', rowsWritten: '6' })
      const snapshots = (await icebergMetadata({ tableUrl })).snapshots!
      expect((await h.gql(SnapshotOfRun, { id: runId })).run?.snapshotId).toBe(String(snapshots[1]['snapshot-id']))
      const manifestKey = run.manifestUri!.slice('s3://faulty/'.length)
      const manifest = JSON.parse((await s3!.download('faulty', manifestKey)).toString('utf8'))
      expect(manifest).toMatchObject({ runId, table: { snapshotId: snapshots[1]['snapshot-id'] } })
      // Exactly once: the next delta continues after it.
      const next = h.sim.admin.insert(SALES_ITEMS, 2)
      const d2 = await h.run(pipelineId)
      expect(d2).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', rowsWritten: '2' })
      expect(await tableRows(tableUrl)).toEqual([...expected, ...expectedDelta(changes, runId), ...expectedDelta(next, d2.id)].sort())
    } finally {
      await proxy.close()
    }
  })

  it('S3: the same three runs, read back with icebird', async () => {
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
})

it('rolls a run lost after its snapshot (before manifest.json and the database commit) forward from the snapshot, once', async () => {
  const { h, pipelineId, tableUrl, expected } = await initialised()
  const { db, orchestrator } = h.app.services
  const before = await db.deltaState.findUniqueOrThrow({ where: { pipelineId } })
  const changes = [...h.sim.admin.insert(SALES_ITEMS, 3), ...h.sim.admin.update(SALES_ITEMS, 2)]
  const done = await h.run(pipelineId)
  expect(done.status).toBe('SUCCEEDED')
  const after = await db.deltaState.findUniqueOrThrow({ where: { pipelineId } })

  // Put store and database back to the moment the worker died: snapshot committed, manifest.json
  // not yet written (only its pending copy, without the snapshot id), database not committed.
  const manifestPath = fileURLToPath(done.manifestUri!)
  const published = JSON.parse(await readFile(manifestPath, 'utf8'))
  delete published.table.snapshotId
  await writeFile(join(dirname(manifestPath), PENDING_MANIFEST_FILE), JSON.stringify(published))
  await rename(manifestPath, `${manifestPath}.gone`)
  await db.$transaction([
    db.run.update({
      where: { id: done.id },
      data: {
        status: 'RUNNING',
        stage: 'COMMITTING',
        activeKey: pipelineId,
        finishedAt: null,
        manifestUri: null,
        uncommittedPrefix: relative(h.lakeDir, dirname(manifestPath)),
        heartbeatAt: new Date(0),
      },
    }),
    db.deltaState.update({
      where: { pipelineId },
      data: { deltaLink: before.deltaLink, token: before.token, lastCommittedRunId: before.lastCommittedRunId, pendingRunId: done.id },
    }),
  ])

  const ended = h.waitForRun(done.id)
  await orchestrator.sweepLostRuns()
  expect(await ended).toMatchObject({ status: 'SUCCEEDED', manifestUri: done.manifestUri, deltaTokenOut: after.token, rowsWritten: '7' })
  expect(await db.deltaState.findUniqueOrThrow({ where: { pipelineId } })).toMatchObject({ token: after.token, pendingRunId: null })
  const snapshots = (await icebergMetadata({ tableUrl })).snapshots!
  expect((await readManifest(done.manifestUri!)).table?.snapshotId).toBe(snapshots[1]['snapshot-id'])

  // The next delta continues after it: the table holds the lost run exactly once.
  const next = h.sim.admin.insert(SALES_ITEMS, 2)
  const d2 = await h.run(pipelineId)
  expect(d2).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', deltaTokenIn: after.token, rowsWritten: '2' })
  expect(await tableRows(tableUrl)).toEqual([...expected, ...expectedDelta(changes, done.id), ...expectedDelta(next, d2.id)].sort())
})

it('a run that fails before its snapshot leaves the table as it was; the next run commits the same changes once', async () => {
  const { h, pipelineId, tableUrl, expected } = await initialised()
  const version = await readFile(join(fileURLToPath(tableUrl), 'metadata/version-hint.text'), 'utf8')
  const changes = h.sim.admin.insert(SALES_ITEMS, 20)
  h.sim.admin.injectFault({ kind: 'http-401', page: 1, read: 'delta', times: 5 })
  const failed = await h.run(pipelineId)
  expect(failed).toMatchObject({ status: 'FAILED', manifestUri: null })
  expect(await readFile(join(fileURLToPath(tableUrl), 'metadata/version-hint.text'), 'utf8')).toBe(version)
  expect(await tableRows(tableUrl)).toEqual([...expected].sort())

  h.sim.admin.clearFaults()
  const again = await h.run(pipelineId)
  expect(again).toMatchObject({ error: null, status: 'SUCCEEDED', rowsWritten: '20' })
  expect(await tableRows(tableUrl)).toEqual([...expected, ...expectedDelta(changes, again.id)].sort())
})

const RenamePipeline = graphql(`
  mutation LakeRenamePipeline($id: ID!, $input: UpdatePipelineInput!) { updatePipeline(id: $id, input: $input) { id name } }
`)

it('a pipeline whose runs committed to its table cannot be renamed, which would start a new table without them', async () => {
  const { h, pipelineId, tableUrl } = await initialised(10)
  const refused = await h.gqlError(RenamePipeline, { id: pipelineId, input: { name: 'renamed' } })
  expect(refused.extensions).toMatchObject({ code: 'CONFLICT', field: 'name' })
  expect(refused.message).toMatch(/Iceberg table/)
  expect((await h.app.services.db.pipeline.findUniqueOrThrow({ where: { id: pipelineId } })).name).not.toBe('renamed')
  // The table and the next delta go on where they were.
  const changes = h.sim.admin.insert(SALES_ITEMS, 2)
  expect(await h.run(pipelineId)).toMatchObject({ status: 'SUCCEEDED', rowsWritten: '2' })
  expect(await icebergRead({ tableUrl })).toHaveLength(10 + changes.length)
})

it('a field SAP adds mid-life becomes a new optional column in a new table schema; icebird reads old and new rows', async () => {
  const { h, pipelineId, tableUrl } = await initialised(10)
  h.sim.admin.addField(SALES_ITEMS, { name: 'ZZCOLOR', type: { abap: 'CHAR', length: 8 } })
  const changes = h.sim.admin.insert(SALES_ITEMS, 2)
  const run = await h.run(pipelineId)
  expect(run).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', rowsWritten: '2' })
  const meta = await icebergMetadata({ tableUrl })
  expect(meta.schemas.map((s) => s['schema-id'])).toEqual([0, 1])
  expect(meta['current-schema-id']).toBe(1)
  const added = meta.schemas[1].fields.find((f) => f.name === 'ZZCOLOR')!
  expect(added).toMatchObject({ required: false, type: 'string', id: meta['last-column-id'] })
  const rows = await icebergRead({ tableUrl })
  expect(rows).toHaveLength(12)
  expect(rows.filter((r) => r._RUN_ID !== run.id).every((r) => r.ZZCOLOR == null)).toBe(true)
  expect(rows.filter((r) => r._RUN_ID === run.id).map((r) => r.ZZCOLOR)).toEqual(changes.map((c) => c.after!.ZZCOLOR))
})

it("a partitioned FULL load is one snapshot of every partition's files, planned once for the run", async () => {
  h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 45 } } })
  const { pipelineId } = await h.createPipeline({ name: 'items', mode: 'FULL', partitions: 3, pageSize: 10, output: { table: 'ICEBERG' } })
  const run = await h.run(pipelineId)
  expect(run).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'FULL', rowsWritten: '45', error: null })
  const manifest = await readManifest(run.manifestUri!)
  expect(new Set(manifest.files.map((f) => f.partition)).size).toBe(3)
  const tableUrl = manifest.table!.location
  const meta = await icebergMetadata({ tableUrl })
  const summaries = meta.snapshots!.map((s) => s.summary as Record<string, string>)
  expect(summaries.map((s) => [s[SUMMARY_KEYS.runId], s['added-data-files']])).toEqual([[run.id, String(manifest.files.length)]])
  const rows = await icebergRead({ tableUrl })
  const keys: string[] = []
  for await (const r of h.sim.admin.rows(SALES_ITEMS)) keys.push(`${r.VBELN}/${r.POSNR}`)
  expect(rows.map((r) => `${r.VBELN}/${r.POSNR}`).sort()).toEqual(keys.sort())
  expect(rows.every((r) => r._RUN_ID === run.id && r.ODQ_CHANGEMODE === '')).toBe(true)
})

it("a second pipeline reaching the same table through another destination (same folder) is refused with nothing committed: the table holds one pipeline's runs", async () => {
  h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 10 } } })
  // Two destinations on one folder; "sales items" and "sales_items" both have the table path sales_items.
  const first = await h.createPipeline({ name: 'sales items', mode: 'FULL', output: { table: 'ICEBERG' } })
  const second = await h.createPipeline({ name: 'sales_items', mode: 'FULL', output: { table: 'ICEBERG' } })
  expect(await h.run(first.pipelineId)).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'FULL' })
  const tableUrl = (await h.gql(LakeTableOf, { id: first.pipelineId })).pipeline!.lakeTable!.location
  const before = await icebergMetadata({ tableUrl })
  const refused = await h.run(second.pipelineId)
  expect(refused).toMatchObject({ status: 'FAILED', error: { code: 'TABLE_IN_USE', retryable: false } })
  expect(refused.error?.message).toContain(first.pipelineId)
  const after = await icebergMetadata({ tableUrl })
  expect(after['current-snapshot-id']).toBe(before['current-snapshot-id'])
  expect(await icebergRead({ tableUrl })).toHaveLength(10)
  // The owner's next run goes on as before.
  h.sim.admin.insert(SALES_ITEMS, 2)
  expect(await h.run(first.pipelineId)).toMatchObject({ status: 'SUCCEEDED', rowsWritten: '12' })
  expect(await icebergRead({ tableUrl })).toHaveLength(22)
})
