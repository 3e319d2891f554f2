import { readdir } from 'node:fs/promises'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { icebergMetadata, icebergRead } from 'icebird'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  changeLogColumns,
  commitSnapshot,
  compact,
  equalityDeleteLayout,
  expireSnapshots,
  FileContent,
  LakeCommitConflictError,
  LakeTableError,
  loadTable,
  planTableWrite,
} from '../../src/lake/iceberg/index.js'
import type { Row } from '../../src/sap/fields.js'
import type { AzureBlobDestination } from '../../src/storage/azure-blob.js'
import type { Destination } from '../../src/storage/destination.js'
import { LocalDestination } from '../../src/storage/local.js'
import { Azurite } from '../helpers/azurite.js'
import { installFileFetch } from './file-fetch.js'
import { Duck, lit } from '../transform/helpers.js'
import { azuriteDestination } from '../storage/helpers.js'
import { SOURCE, sourceRow, writeRunFiles } from './helpers.js'

/**
 * Table maintenance on LOCAL and AZURE_BLOB, read back with icebird (docs/architecture.md#lake-tables,
 * "Maintenance"): what expiry removes is checked against a listing of the destination before and after.
 */

const COLUMNS = changeLogColumns(SOURCE)
const AT = new Date(Date.UTC(2026, 11, 5, 22, 0, 0))
const rows = (run: string, items: number[]): Row[] =>
  items.map((n) => [...sourceRow('0000007000', `0000${String(n).padStart(2, '0')}`, n, 'C', '1'), run, AT])

interface Store {
  dest: () => Destination
  /** Every object key of the destination. */
  list: () => Promise<string[]>
}

/** Commits `run` with `items` at time `at` (ms), optionally as a full reload (`replace`); one file per `perFile` rows. */
async function commitRun(d: Destination, table: string, run: string, items: number[], at: number, replace = false, perFile = 2) {
  const plan = await planTableWrite(d, table, COLUMNS)
  const files = await writeRunFiles(d, plan.parquet, COLUMNS, rows(run, items), run, perFile)
  return { ...(await commitSnapshot(d, plan, { files, summary: { runId: run }, replace, now: () => at })), files }
}

/** A Destination whose first putTextIfAbsent lets `race` commit first: a run committing while maintenance works. */
function racing(d: Destination, race: () => Promise<unknown>): Destination {
  let raced = false
  return new Proxy(d, {
    get(target, p) {
      if (p === 'putTextIfAbsent')
        return async (key: string, body: string, signal?: AbortSignal) => {
          if (!raced) {
            raced = true
            await race()
          }
          return target.putTextIfAbsent(key, body, signal)
        }
      const v = Reflect.get(target, p, target) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  })
}

/** Keys of the manifest list and manifests of the table's current snapshot. */
async function manifestsOf(d: Destination, table: string): Promise<string[]> {
  const t = (await loadTable(d, table))!
  const snap = t.metadata.snapshots.find((x) => x['snapshot-id'] === t.metadata['current-snapshot-id'])!
  return [`${table}/metadata/snap-${snap['snapshot-id']}.avro`, `${table}/metadata/${snap['snapshot-id']}-m0.avro`]
}

const runIds = (read: Record<string, unknown>[]) => read.map((r) => `${String(r._RUN_ID)}:${String(r.POSNR)}`)

function maintenanceSuite(store: () => Store) {
  it('expires old snapshots: the current table and a retained snapshot read the same rows, exactly the unreferenced owned objects are gone', async () => {
    const { dest, list } = store()
    const d = dest()
    const table = 'tables/expire'
    const tableUrl = d.uriOf(table)
    const s1 = await commitRun(d, table, 'run-1', [1, 2, 3], 1000)
    const s2 = await commitRun(d, table, 'run-2', [4], 2000)
    // A full reload: from here on only run-3's and later files are in the table.
    const s3 = await commitRun(d, table, 'run-3', [5, 6, 7], 3000, true)
    const s4 = await commitRun(d, table, 'run-4', [8, 9], 4000)

    const meta = await icebergMetadata({ tableUrl })
    const currentBefore = await icebergRead({ tableUrl })
    const s3Before = await icebergRead({ tableUrl, metadata: { ...meta, 'current-snapshot-id': s3.snapshotId } })
    expect(runIds(currentBefore)).toEqual(['run-3:000005', 'run-3:000006', 'run-3:000007', 'run-4:000008', 'run-4:000009'])
    expect(runIds(s3Before)).toEqual(['run-3:000005', 'run-3:000006', 'run-3:000007'])
    const before = await list()

    // s1 and s2 are older than 3500; s3 and s4 are the newest two. The table owns run-1's folder, not
    // run-2's. Two previous metadata files stay in the log of v5 (v3, v4): v1 and v2 go.
    const result = await expireSnapshots(d, table, {
      olderThan: 3500,
      retainLast: 2,
      ownedPrefixes: ['runs/run-1'],
      previousVersionsMax: 2,
      now: () => 5000,
    })
    expect(result.version).toBe(5)
    expect(result.expiredSnapshotIds.sort()).toEqual([s1.snapshotId, s2.snapshotId].sort())
    expect(result.keptOutsideOwned).toEqual(s2.files.map((f) => d.uriOf(f.key)))

    const after = await list()
    const removed = before.filter((k) => !after.includes(k)).sort()
    const meta1 = (id: number) => [`${table}/metadata/snap-${id}.avro`, `${table}/metadata/${id}-m0.avro`]
    expect(removed).toEqual(
      [
        ...meta1(s1.snapshotId),
        ...meta1(s2.snapshotId),
        ...s1.files.map((f) => f.key),
        `${table}/metadata/v1.metadata.json`,
        `${table}/metadata/v2.metadata.json`,
      ].sort(),
    )
    expect([...result.removed].sort()).toEqual(removed)
    expect(result.notRemoved).toEqual([])
    expect(after.filter((k) => !before.includes(k))).toEqual([`${table}/metadata/v5.metadata.json`])
    // run-2's file is unreferenced but outside the owned prefixes: still there, as its manifest.json says.
    expect(after).toEqual(expect.arrayContaining(s2.files.map((f) => f.key)))

    const metaAfter = await icebergMetadata({ tableUrl })
    expect(metaAfter.snapshots!.map((s) => s['snapshot-id'])).toEqual([s3.snapshotId, s4.snapshotId])
    expect(metaAfter['current-snapshot-id']).toBe(s4.snapshotId)
    expect(metaAfter['metadata-log']!.map((m) => m['metadata-file'])).toEqual([3, 4].map((v) => `${tableUrl}/metadata/v${v}.metadata.json`))
    expect(await icebergRead({ tableUrl })).toEqual(currentBefore)
    expect(await icebergRead({ tableUrl, metadata: { ...metaAfter, 'current-snapshot-id': s3.snapshotId } })).toEqual(s3Before)

    // A later run appends on top of the expired table as usual.
    await commitRun(d, table, 'run-5', [1], 6000)
    expect(runIds(await icebergRead({ tableUrl })).slice(-1)).toEqual(['run-5:000001'])
  })

  it('keeps the current snapshot, a tagged one and the newest retainLast; with nothing due it commits nothing', async () => {
    const { dest, list } = store()
    const d = dest()
    const table = 'tables/keep'
    await commitRun(d, table, 'k-1', [1], 1000)
    await commitRun(d, table, 'k-2', [2], 2000)
    const before = await list()
    expect(await expireSnapshots(d, table, { olderThan: 10_000, retainLast: 2, ownedPrefixes: [] })).toEqual({
      version: null,
      expiredSnapshotIds: [],
      removed: [],
      keptOutsideOwned: [],
      notRemoved: [],
    })
    expect(await list()).toEqual(before)

    // Only the current snapshot stays with retainLast 1; replaced files outside owned prefixes stay.
    const s3 = await commitRun(d, table, 'k-3', [3], 3000, true)
    const r = await expireSnapshots(d, table, { olderThan: 10_000, retainLast: 1, ownedPrefixes: [] })
    expect(r.version).toBe(4)
    expect((await loadTable(d, table))!.metadata.snapshots.map((s) => s['snapshot-id'])).toEqual([s3.snapshotId])
    expect(runIds(await icebergRead({ tableUrl: d.uriOf(table) }))).toEqual(['k-3:000003'])
    expect(r.keptOutsideOwned).toHaveLength(2)
  })

  it('refuses bad options with LAKE_INPUT', async () => {
    const d = store().dest()
    await commitRun(d, 'tables/bad', 'b-1', [1], 1000)
    for (const options of [
      { olderThan: 1, retainLast: 0, ownedPrefixes: [] },
      { olderThan: Number.NaN, retainLast: 1, ownedPrefixes: [] },
      { olderThan: 1, retainLast: 1, ownedPrefixes: ['runs/../..'] },
      { olderThan: 1, retainLast: 1, ownedPrefixes: [''] },
    ])
      await expect(expireSnapshots(d, 'tables/bad', options)).rejects.toMatchObject({ code: 'LAKE_INPUT', retryable: false })
    await expect(expireSnapshots(d, 'tables/none', { olderThan: 1, retainLast: 1, ownedPrefixes: [] })).rejects.toBeInstanceOf(
      LakeTableError,
    )
  })

  it('a run committing while expiry works makes expiry fail with LAKE_COMMIT_CONFLICT and remove nothing; the retry keeps the run', async () => {
    const { dest, list } = store()
    const d = dest()
    const table = 'tables/expire-race'
    const tableUrl = d.uriOf(table)
    await commitRun(d, table, 'r-1', [1], 1000)
    await commitRun(d, table, 'r-2', [2], 2000, true)
    const plan = await planTableWrite(d, table, COLUMNS)
    const files = await writeRunFiles(d, plan.parquet, COLUMNS, rows('r-3', [3]), 'r-3')
    const before = await list()

    const raced = racing(d, () => commitSnapshot(d, plan, { files, summary: { runId: 'r-3' }, now: () => 3000 }))
    const options = { olderThan: 10_000, retainLast: 1, ownedPrefixes: ['runs'] }
    const error = await expireSnapshots(raced, table, options).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LakeCommitConflictError)
    expect(error).toMatchObject({ code: 'LAKE_COMMIT_CONFLICT', retryable: true, version: 3 })
    // Only the run's commit happened: its manifest, manifest list and v3; nothing was removed.
    const after = await list()
    expect(before.filter((k) => !after.includes(k))).toEqual([])
    expect(after.filter((k) => !before.includes(k)).filter((k) => k.endsWith('.json'))).toEqual([`${table}/metadata/v3.metadata.json`])
    expect(runIds(await icebergRead({ tableUrl }))).toEqual(['r-2:000002', 'r-3:000003'])

    const retry = await expireSnapshots(d, table, options)
    expect(retry.version).toBe(4)
    expect(retry.removed).toEqual(expect.arrayContaining(['runs/r-1/part-00000.parquet']))
    expect(runIds(await icebergRead({ tableUrl }))).toEqual(['r-2:000002', 'r-3:000003'])
  })

  it('compacts small data files into one replace snapshot: the same rows and values, fewer files, nothing removed from the destination', async () => {
    const { dest, list } = store()
    const d = dest()
    const table = 'tables/compact'
    const tableUrl = d.uriOf(table)
    const c1 = await commitRun(d, table, 'c-1', [1, 2, 3], 1000, false, 1)
    const c2 = await commitRun(d, table, 'c-2', [4, 5], 2000, false, 1)
    expect(c1.files.length + c2.files.length).toBe(5)
    const before = await icebergRead({ tableUrl })
    const listed = await list()

    const result = await compact(d, table, { targetFileMb: 1, minInputFiles: 2, now: () => 3000 })
    expect(result.version).toBe(3)
    expect([...result.rewritten].sort()).toEqual([...c1.files, ...c2.files].map((f) => d.uriOf(f.key)).sort())
    expect(result.added).toEqual([`${table}/data/compact-${result.snapshotId}-00000.parquet`])
    expect(result.skippedWithDeletes).toBe(0)

    expect(await icebergRead({ tableUrl })).toEqual(before)
    const meta = await icebergMetadata({ tableUrl })
    expect(meta.snapshots!.at(-1)!.summary).toMatchObject({
      operation: 'replace',
      'added-data-files': '1',
      'deleted-data-files': '5',
      'added-records': '5',
      'deleted-records': '5',
      'total-records': '5',
      'total-data-files': '1',
    })
    // The old snapshot still reads the five old files (time travel), which are all still there.
    expect(await icebergRead({ tableUrl, metadata: { ...meta, 'current-snapshot-id': c2.snapshotId } })).toEqual(before)
    const after = await list()
    expect(listed.filter((k) => !after.includes(k))).toEqual([])
    expect(after.filter((k) => !listed.includes(k)).filter((k) => !k.includes('/metadata/'))).toEqual(result.added)

    // Nothing left to compact: one file is not a group.
    expect((await compact(d, table, { targetFileMb: 1, minInputFiles: 2 })).version).toBeNull()
    // Expiry with the table's data/ and the run folders owned removes the five inputs once their snapshots go.
    const expired = await expireSnapshots(d, table, { olderThan: 10_000, retainLast: 1, ownedPrefixes: ['runs/c-1', 'runs/c-2'] })
    expect(expired.removed.filter((k) => k.endsWith('.parquet')).sort()).toEqual([...c1.files, ...c2.files].map((f) => f.key).sort())
    expect(await icebergRead({ tableUrl })).toEqual(before)
  })

  it('compacts files of an evolved schema per schema: one output file each, old rows still read the new field as null', async () => {
    const { dest } = store()
    const d = dest()
    const table = 'tables/compact-evolved'
    const tableUrl = d.uriOf(table)
    await commitRun(d, table, 'z-1', [1, 2], 1000, false, 1)
    const evolved = changeLogColumns([...SOURCE, { name: 'ZZNEW', type: { kind: 'string' }, nullable: true, key: false }])
    const plan = await planTableWrite(d, table, evolved)
    const newRows = [3, 4].map((n): Row => {
      const r = sourceRow('0000007000', `0000${String(n).padStart(2, '0')}`, n, 'C', '1')
      return [...r, `new-${n}`, 'z-2', AT]
    })
    await commitSnapshot(d, plan, { files: await writeRunFiles(d, plan.parquet, evolved, newRows, 'z-2', 1), summary: { runId: 'z-2' } })
    const before = await icebergRead({ tableUrl })
    expect(before.map((r) => r.ZZNEW ?? null)).toEqual([null, null, 'new-3', 'new-4'])

    const result = await compact(d, table, { targetFileMb: 1, minInputFiles: 2 })
    expect(result.rewritten).toHaveLength(4)
    expect(result.added).toHaveLength(2)
    expect(await icebergRead({ tableUrl })).toEqual(before)
  })

  it('leaves data files an equality delete applies to, and a delete committed after compaction applies to the compacted rows', async () => {
    const { dest } = store()
    const d = dest()
    const table = 'tables/compact-deletes'
    const tableUrl = d.uriOf(table)
    await commitRun(d, table, 'e-1', [1, 2, 3], 1000, false, 1)
    const eqDelete = async (run: string, items: number[], upserts: number[]) => {
      const plan = await planTableWrite(d, table, COLUMNS)
      const layout = equalityDeleteLayout(plan.schema, COLUMNS, ['VBELN', 'POSNR'])
      const deletes = await writeRunFiles(
        d,
        layout.parquet,
        layout.columns,
        items.map((n) => ['0000007000', `0000${String(n).padStart(2, '0')}`]),
        `${run}-del`,
      )
      const data = upserts.length ? await writeRunFiles(d, plan.parquet, COLUMNS, rows(run, upserts), run, 1) : []
      return commitSnapshot(d, plan, {
        files: [...data, ...deletes.map((f) => ({ ...f, content: FileContent.EQUALITY_DELETES, equalityIds: layout.equalityIds }))],
        summary: { runId: run },
      })
    }
    // Item 1 deleted and item 2 replaced (sequence 2): e-1's three files (sequence 1) carry deletes.
    await eqDelete('e-2', [1, 2], [2])
    await commitRun(d, table, 'e-3', [4, 5], 3000, false, 1)
    const before = await icebergRead({ tableUrl })
    expect(runIds(before)).toEqual(['e-1:000003', 'e-2:000002', 'e-3:000004', 'e-3:000005'])

    const result = await compact(d, table, { targetFileMb: 1, minInputFiles: 2 })
    expect(result.skippedWithDeletes).toBe(3)
    expect(result.rewritten).toHaveLength(3)
    expect(await icebergRead({ tableUrl })).toEqual(before)

    // A delete after the compaction (higher sequence number) removes a compacted row.
    await eqDelete('e-4', [4], [])
    expect(runIds(await icebergRead({ tableUrl }))).toEqual(['e-1:000003', 'e-2:000002', 'e-3:000005'])
  })

  it('a run committing while compaction works makes it fail with LAKE_COMMIT_CONFLICT, leaving nothing of it behind', async () => {
    const { dest, list } = store()
    const d = dest()
    const table = 'tables/compact-race'
    const tableUrl = d.uriOf(table)
    await commitRun(d, table, 'x-1', [1, 2, 3], 1000, false, 1)
    const plan = await planTableWrite(d, table, COLUMNS)
    const files = await writeRunFiles(d, plan.parquet, COLUMNS, rows('x-2', [4]), 'x-2')
    const before = await list()
    const raced = racing(d, () => commitSnapshot(d, plan, { files, summary: { runId: 'x-2' } }))
    const error = await compact(raced, table, { targetFileMb: 1, minInputFiles: 2 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LakeCommitConflictError)
    expect(error).toMatchObject({ code: 'LAKE_COMMIT_CONFLICT', retryable: true, version: 2 })
    const after = await list()
    // Only the run's commit is new: its manifest, manifest list and v2; no compacted file, no compaction manifest.
    expect(after.filter((k) => !before.includes(k)).sort()).toEqual(
      [`${table}/metadata/v2.metadata.json`, ...(await manifestsOf(d, table))].sort(),
    )
    expect(runIds(await icebergRead({ tableUrl }))).toEqual(['x-1:000001', 'x-1:000002', 'x-1:000003', 'x-2:000004'])
    // Tried again, it compacts the four small files.
    const retry = await compact(d, table, { targetFileMb: 1, minInputFiles: 2 })
    expect(retry).toMatchObject({ version: 3 })
    expect(retry.rewritten).toHaveLength(4)
    expect(runIds(await icebergRead({ tableUrl }))).toEqual(['x-1:000001', 'x-1:000002', 'x-1:000003', 'x-2:000004'])
  })
}

describe('Iceberg table maintenance on LOCAL, read back with icebird', () => {
  let root: string
  let restore: () => void
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'de-maint-'))
    restore = installFileFetch()
  })
  afterAll(async () => {
    restore?.()
    await rm(root, { recursive: true, force: true })
  })
  maintenanceSuite(() => ({
    dest: () => new LocalDestination(root),
    list: async () =>
      (await readdir(root, { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile())
        .map((e) => relative(root, join(e.parentPath, e.name)))
        .sort(),
  }))

  it('expiry reads each manifest once, however many retained snapshots list it (the service expires after every run)', async () => {
    const local = new LocalDestination(root)
    const reads = new Map<string, number>()
    const d = new Proxy(local, {
      get(target, p) {
        if (p === 'getBytes')
          return (key: string) => {
            reads.set(key, (reads.get(key) ?? 0) + 1)
            return target.getBytes(key)
          }
        const v = Reflect.get(target, p, target) as unknown
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
      },
    })
    const table = 'tables/many'
    // Twelve appends: the n-th snapshot's list carries all n manifests.
    for (let n = 1; n <= 12; n++) await commitRun(local, table, `many-${n}`, [(n % 9) + 1], n * 1000)
    const r = await expireSnapshots(d, table, { olderThan: 6500, retainLast: 1, ownedPrefixes: [], now: () => 20_000 })
    expect(r.expiredSnapshotIds).toHaveLength(6)
    const manifestReads = [...reads].filter(([k]) => /\/metadata\/\d+-m\d+\.avro$/.test(k))
    // Twelve distinct manifests, each read once (without the cache: 6 expired snapshots' 21 plus the live 6 snapshots' 57).
    expect(manifestReads).toHaveLength(12)
    expect(manifestReads.every(([, n]) => n === 1)).toBe(true)
    expect(runIds(await icebergRead({ tableUrl: local.uriOf(table) }))).toHaveLength(12)
  })

  it('writes compacted files DuckDB reads with exactly the values and field ids of the inputs (decimals to the last digit)', async () => {
    const d = new LocalDestination(root)
    const table = 'tables/compact-exact'
    const c1 = await commitRun(d, table, 'v-1', [1, 2, 3], 1000, false, 1)
    const c2 = await commitRun(d, table, 'v-2', [4, 5, 6], 2000, false, 2)
    const result = await compact(d, table, { targetFileMb: 1, minInputFiles: 2, rowGroupRows: 4 })
    expect(result.added).toHaveLength(1)
    const duck = await Duck.open()
    try {
      const paths = (keys: string[]) => keys.map((k) => lit(join(root, k))).join(', ')
      const select = (keys: string[]) => duck.query(`SELECT * FROM read_parquet([${paths(keys)}]) ORDER BY _RUN_ID, POSNR`)
      const inputs = await select([...c1.files, ...c2.files].map((f) => f.key))
      const output = await select(result.added)
      expect(output.types).toEqual(inputs.types)
      expect(output.rows).toEqual(inputs.rows)
      expect(output.rows).toHaveLength(6)
      const ids = (key: string) =>
        duck.query(`SELECT name, field_id::INTEGER FROM parquet_schema(${lit(join(root, key))}) WHERE name <> 'root'`)
      expect((await ids(result.added[0])).rows).toEqual((await ids(c1.files[0].key)).rows)
    } finally {
      duck.close()
    }
  })
})

describe('Iceberg table maintenance on AZURE_BLOB, read back with icebird', () => {
  let azurite: Azurite
  const opened: AzureBlobDestination[] = []
  beforeAll(async () => {
    azurite = await Azurite.start()
    // Public read: icebird fetches the URLs recorded in the metadata without credentials.
    await azurite.client().getContainerClient('lake').create({ access: 'container' })
  })
  afterAll(async () => {
    for (const d of opened) d.close()
    await azurite?.dispose()
  })
  maintenanceSuite(() => ({
    dest: () => {
      const d = azuriteDestination(azurite.accountUrl)
      opened.push(d)
      return d
    },
    list: async () => (await azurite.list('lake', 'root/')).map((n) => n.slice('root/'.length)).sort(),
  }))
})
