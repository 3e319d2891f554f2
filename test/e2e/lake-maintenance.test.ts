/**
 * Lake table maintenance as the service runs it (issue 13 point 4, docs/architecture.md#lake-maintenance),
 * on LOCAL and S3 (s3rver): a DELTA pipeline with `output: { table: ICEBERG }` and many small deltas
 * is compacted (compactPipeline, what `delta-extractor compact` runs) into one `replace` snapshot that
 * icebird reads as exactly the same rows; then, with the retention clock moved past the old snapshots,
 * the next run's expiry drops them: their manifest lists are gone, every object a live snapshot
 * references is still there, and so is every Parquet file any run's manifest.json lists. An expiry
 * that fails leaves the run SUCCEEDED with a warning line.
 */
import { readFile, rm, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { icebergManifests, icebergMetadata, icebergRead } from 'icebird'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { releaseHold, takeHold } from '../../src/catalog/pipeline-hold.js'
import type { Manifest } from '../../src/orchestrator/manifest.js'
import { compactPipeline } from '../../src/orchestrator/lake/compact-pipeline.js'
import type { LakeMaintenanceSettings } from '../../src/orchestrator/lake/maintain.js'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import type { CreateDestinationInput } from '../gql/graphql.js'
import { Harness } from '../helpers/harness.js'
import { fileObjects, s3rverObjects, withObjectFetch } from '../helpers/object-fetch.js'
import { S3RVER_KEY_ID, S3RVER_SECRET, S3rverEmulator } from '../helpers/s3rver.js'
import { until } from '../helpers/until.js'

const DAY_MS = 24 * 60 * 60_000

let h: Harness | undefined
let s3: S3rverEmulator
let restoreFetch: () => void
beforeAll(async () => {
  s3 = await S3rverEmulator.start()
  await s3.createBucket('lake')
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

/** The bytes of a recorded URI (file: or s3:), null when the object does not exist. */
async function objectAt(uri: string): Promise<Buffer | null> {
  if (uri.startsWith('file:')) return readFile(fileURLToPath(uri)).catch(() => null)
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri)
  if (!m) throw new Error(`not a test object URI: ${uri}`)
  return s3.download(m[1], decodeURIComponent(m[2])).catch(() => null)
}

/** Every row of the table as icebird reads it, each as one comparable text, sorted: a row set, not a count. */
async function rowSet(tableUrl: string): Promise<string[]> {
  const rows = await icebergRead({ tableUrl })
  return rows.map((r) => JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? String(v) : v))).sort()
}

/** The data files, manifests and manifest list a snapshot references (live entries), read by icebird. */
async function referencedBy(tableUrl: string, snapshotId: number): Promise<string[]> {
  const meta = await icebergMetadata({ tableUrl })
  const snapshot = meta.snapshots!.find((s) => s['snapshot-id'] === snapshotId)!
  const manifests = await icebergManifests({ ...meta, 'current-snapshot-id': snapshotId })
  return [
    snapshot['manifest-list']!,
    ...manifests.map((m) => m.url),
    ...manifests.flatMap((m) => m.entries.filter((e) => e.status !== 2).map((e) => e.data_file.file_path)),
  ]
}

/** The Parquet files a run's manifest.json lists, as URIs beside it. */
async function runFiles(manifestUri: string): Promise<string[]> {
  const manifest = JSON.parse(String(await objectAt(manifestUri))) as Manifest
  const dir = manifestUri.slice(0, manifestUri.lastIndexOf('/'))
  return manifest.files.map((f) => `${dir}/${f.path}`)
}

/** Where the pipeline's change-log table is, as engines address it (the destination's URI of its path, `items`). */
async function tableUrlOf(h: Harness): Promise<string> {
  const row = await h.app.services.db.destination.findFirstOrThrow()
  const destination = await h.app.services.destinations.open(row)
  try {
    return destination.uriOf('items')
  } finally {
    destination.close?.()
  }
}

type DestinationInput = Omit<CreateDestinationInput, 'name'>

/**
 * A DELTA_INIT and `deltas` small deltas of an ICEBERG pipeline, each a snapshot with one small file,
 * under a retention clock the test moves (`clock.offsetMs`) and the given `retainLast`.
 */
async function manySmallDeltas(deltas: number, retainLast: number, destination?: DestinationInput, currentState = false) {
  const clock = { offsetMs: 0 }
  const maintenance: LakeMaintenanceSettings = { retentionMs: DAY_MS, retainLast, now: () => Date.now() + clock.offsetMs }
  h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 30 } }, orchestrator: { lakeMaintenance: maintenance } })
  const harness = h
  const { pipelineId } = await harness.createPipeline({
    name: 'items',
    pageSize: 50,
    output: { table: 'ICEBERG', currentState },
    destination,
  })
  /** Runs the pipeline and waits until its worker is done with it, expiry included (it comes after SUCCEEDED). */
  const run = async () => {
    const r = await harness.run(pipelineId)
    expect(r.status).toBe('SUCCEEDED')
    await until(() => !harness.app.services.orchestrator.isRunningHere(r.id), `run ${r.id} to leave its worker`)
    return r
  }
  const runs = [await run()]
  for (let i = 0; i < deltas; i++) {
    harness.sim.admin.insert(SALES_ITEMS, 2)
    harness.sim.admin.update(SALES_ITEMS, 1)
    if (i % 2) harness.sim.admin.delete(SALES_ITEMS, 1)
    runs.push(await run())
  }
  return { h: harness, pipelineId, clock, maintenance, runs, run }
}

/** The whole story on one destination; `tableUrl` is the change-log table's location. */
async function compactThenExpire(destination?: DestinationInput) {
  const { h, clock, maintenance, runs, run } = await manySmallDeltas(6, 2, destination)
  const tableUrl = await tableUrlOf(h)
  const before = await icebergMetadata({ tableUrl })
  expect(before.snapshots).toHaveLength(7) // nothing was due yet: the clock has not moved
  const rowsBefore = await rowSet(tableUrl)
  expect(rowsBefore.length).toBeGreaterThan(30)

  // Compaction: one replace snapshot, the same rows, one file instead of seven.
  const compaction = await compactPipeline(h.app.services, 'items', { targetFileMb: 64, minInputFiles: 2, maintenance })
  expect(compaction.tables).toHaveLength(1)
  const [t] = compaction.tables
  expect(t).toMatchObject({ tablePath: 'items', filesBefore: 7, filesAfter: 1, rewrittenFiles: 7, addedFiles: 1, rows: rowsBefore.length })
  expect(t.expiry.version).toBeNull()
  const compacted = await icebergMetadata({ tableUrl })
  const replace = compacted.snapshots!.find((s) => s['snapshot-id'] === compacted['current-snapshot-id'])!
  expect(String(replace['snapshot-id'])).toBe(t.snapshotId)
  expect(replace.summary.operation).toBe('replace')
  expect(await rowSet(tableUrl)).toEqual(rowsBefore)

  // Two days later the next run's expiry drops every snapshot but the newest two (the replace and its own).
  const expiredLists = before.snapshots!.map((s) => s['manifest-list']!)
  const liveBefore = await referencedBy(tableUrl, replace['snapshot-id'])
  const onlyExpired = new Set<string>()
  for (const s of before.snapshots!) for (const uri of await referencedBy(tableUrl, s['snapshot-id'])) onlyExpired.add(uri)
  for (const uri of liveBefore) onlyExpired.delete(uri)
  const expiredManifests = [...onlyExpired].filter((u) => u.endsWith('.avro') && !expiredLists.includes(u))
  expect(expiredManifests.length).toBeGreaterThan(0)
  for (const uri of [...expiredLists, ...expiredManifests]) expect(await objectAt(uri), uri).not.toBeNull()
  // The compacted file is the table's own, under items/data.
  const compactedFile = liveBefore.find((u) => u.includes('/items/data/compact-'))
  expect(compactedFile).toBeDefined()
  clock.offsetMs = 2 * DAY_MS
  h.sim.admin.insert(SALES_ITEMS, 3)
  const last = await run()
  const after = await icebergMetadata({ tableUrl })
  expect(after.snapshots!.map((s) => s['snapshot-id'])).toEqual([replace['snapshot-id'], after['current-snapshot-id']])
  for (const uri of [...expiredLists, ...expiredManifests]) expect(await objectAt(uri), uri).toBeNull()
  expect(await objectAt(compactedFile!)).not.toBeNull()
  const lines = await h.app.services.db.runEvent.findMany({ where: { runId: last.id }, select: { level: true, message: true } })
  expect(lines).toContainEqual({
    level: 'info',
    message: expect.stringMatching(/^table items: expired 7 snapshot\(s\) in version \d+, removed \d+ object\(s\)$/),
  })

  // Every object a live snapshot references is there; the table reads the compacted rows plus the new run's.
  for (const s of after.snapshots!)
    for (const uri of await referencedBy(tableUrl, s['snapshot-id'])) expect(await objectAt(uri), uri).not.toBeNull()
  const rowsAfter = await rowSet(tableUrl)
  expect(rowsAfter.filter((r) => !r.includes(last.id))).toEqual(rowsBefore)
  expect(rowsAfter.filter((r) => r.includes(last.id))).toHaveLength(3)
  // The runs' own Parquet files, compacted away from the table, are all still where their manifest.json says.
  for (const r of [...runs, last]) {
    const manifestUri = (await h.app.services.db.run.findUniqueOrThrow({ where: { id: r.id } })).manifestUri!
    const files = await runFiles(manifestUri)
    expect(files.length).toBeGreaterThan(0)
    for (const uri of files) expect(await objectAt(uri), uri).not.toBeNull()
  }
}

it('LOCAL: compaction keeps the rows in one replace snapshot; expiry after a later run drops the old snapshots, never a live or a run file', async () => {
  await compactThenExpire()
})

it('S3: the same on s3rver', async () => {
  await compactThenExpire({
    kind: 'S3',
    s3: {
      bucket: 'lake',
      prefix: 'root',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      accessKeyId: S3RVER_KEY_ID,
      secretAccessKey: S3RVER_SECRET,
    },
  })
})

describe('a failing expiry', () => {
  it('leaves the run SUCCEEDED with a warning line, and the next run expires once the table is whole again', async () => {
    const { h, clock, run } = await manySmallDeltas(2, 1)
    const tableUrl = await tableUrlOf(h)
    const meta = await icebergMetadata({ tableUrl })
    expect(meta.snapshots).toHaveLength(3)
    // The oldest snapshot's manifest list is lost: expiry cannot tell what only that snapshot referenced.
    const lost = meta.snapshots![0]['manifest-list']!
    const lostBytes = (await objectAt(lost))!
    await rm(fileURLToPath(lost))
    clock.offsetMs = 2 * DAY_MS
    h.sim.admin.insert(SALES_ITEMS, 1)
    const failed = await run()
    const lines = await h.app.services.db.runEvent.findMany({ where: { runId: failed.id }, select: { level: true, message: true } })
    expect(lines).toContainEqual({
      level: 'warn',
      message: expect.stringMatching(
        /^table items: snapshot expiry failed \(.*missing.*\); the run is committed, the next run tries again$/,
      ),
    })
    expect((await h.app.services.db.run.findUniqueOrThrow({ where: { id: failed.id } })).status).toBe('SUCCEEDED')
    expect((await icebergMetadata({ tableUrl })).snapshots).toHaveLength(4)

    // Put back, the next run's expiry keeps only the newest (retainLast 1).
    await writeFile(fileURLToPath(lost), lostBytes)
    h.sim.admin.insert(SALES_ITEMS, 1)
    const next = await run()
    const after = await icebergMetadata({ tableUrl })
    expect(after.snapshots).toHaveLength(1)
    expect(after['current-snapshot-id']).toBe(after.snapshots![0]['snapshot-id'])
    expect((await h.app.services.db.run.findUniqueOrThrow({ where: { id: next.id } })).status).toBe('SUCCEEDED')
  })
})

describe('compaction and runs of the pipeline do not overlap', () => {
  it('is refused while a run is active or another request holds the pipeline, and lets go of its hold when done', async () => {
    // 400 rows at 100 rows/s per read: the DELTA_INIT is active for seconds.
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 400 }, rowsPerSecondPerRead: 100 } })
    const { pipelineId } = await h.createPipeline({ name: 'items', pageSize: 50, output: { table: 'ICEBERG' } })
    const { db } = h.app.services
    const options = { targetFileMb: 64, minInputFiles: 2, maintenance: { retentionMs: DAY_MS, retainLast: 5 } }
    const compactNow = () => compactPipeline(h!.app.services, 'items', options)

    // No run has committed to the table yet.
    await expect(compactNow()).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/has no table yet/) })
    const init = await h.app.services.orchestrator.requestRun(pipelineId, { trigger: 'MANUAL' })
    await expect(compactNow()).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining(`has an active run (${init.id})`),
    })
    expect((await h.waitForRun(init.id)).status).toBe('SUCCEEDED')
    await until(() => !h!.app.services.orchestrator.isRunningHere(init.id), 'the run to leave its worker')

    await takeHold(db, pipelineId, 'resetDelta:test')
    await expect(compactNow()).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/being reset, deleted or compacted/),
    })
    await releaseHold(db, pipelineId, 'resetDelta:test')

    // One file: nothing to compact, and the hold is free again afterwards.
    expect((await compactNow()).tables).toMatchObject([{ tablePath: 'items', filesBefore: 1, filesAfter: 1, snapshotId: null }])
    expect(await db.pipeline.findUniqueOrThrow({ where: { id: pipelineId }, select: { heldBy: true } })).toEqual({ heldBy: null })
  })
})

it('compact on a pipeline with a current-state table: the change log by size, the current state with its deletes applied, both reading the same rows', async () => {
  const { h } = await manySmallDeltas(5, 5, undefined, true)
  const changeLogUrl = await tableUrlOf(h)
  const currentUrl = `${changeLogUrl}_current`
  const deleteFiles = async (tableUrl: string) =>
    (await icebergManifests(await icebergMetadata({ tableUrl }))).flatMap((m) =>
      m.entries.filter((e) => e.status !== 2 && e.data_file.content !== 0),
    )
  expect((await deleteFiles(currentUrl)).length).toBeGreaterThan(0)
  const [logBefore, stateBefore] = [await rowSet(changeLogUrl), await rowSet(currentUrl)]
  const compaction = await compactPipeline(h.app.services, 'items', {
    targetFileMb: 64,
    minInputFiles: 2,
    maintenance: { retentionMs: DAY_MS, retainLast: 5 },
  })
  expect(compaction.tables.map((t) => t.tablePath)).toEqual(['items', 'items_current'])
  const [log, state] = compaction.tables
  expect(log).toMatchObject({ filesBefore: 6, filesAfter: 1, removedDeleteFiles: 0 })
  expect(state).toMatchObject({ filesAfter: 1, rows: stateBefore.length })
  expect(state.removedDeleteFiles).toBeGreaterThan(0)
  expect(await rowSet(changeLogUrl)).toEqual(logBefore)
  expect(await rowSet(currentUrl)).toEqual(stateBefore)
  expect(await deleteFiles(currentUrl)).toEqual([])
  // The next delta applies on top of the rewritten table.
  h.sim.admin.update(SALES_ITEMS, 3)
  const pipelineId = (await h.app.services.db.pipeline.findFirstOrThrow()).id
  expect(await h.run(pipelineId)).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA' })
  expect(await rowSet(currentUrl)).toHaveLength(stateBefore.length)
})
