import { readdir } from 'node:fs/promises'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import fc from 'fast-check'
import { icebergManifests, icebergMetadata, icebergRead } from 'icebird'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LakeCommitConflictError, loadTable, rewriteWithDeletes, type RewriteWithDeletesOptions } from '../../src/lake/iceberg/index.js'
import type { Row } from '../../src/sap/fields.js'
import type { Destination, PutFileOptions } from '../../src/storage/destination.js'
import { LocalDestination } from '../../src/storage/local.js'
import type { S3Destination } from '../../src/storage/s3.js'
import { fileObjects, s3rverObjects, withObjectFetch } from '../helpers/object-fetch.js'
import { S3rverEmulator } from '../helpers/s3rver.js'
import { s3rverDestination } from '../storage/helpers.js'
import {
  afterImage,
  applyToModel,
  beforeImage,
  create,
  del,
  full,
  imageArb,
  modelView,
  rowsOf,
  run,
  type Model,
} from './current-state-model.js'

/**
 * The rewrite that applies the current-state table's delete files (docs/architecture.md#lake-maintenance,
 * `rewriteWithDeletes`), checked with icebird, which applies Iceberg v2 delete files itself: the table
 * reads exactly the same full rows before and after (as a multiset, so a row written twice would
 * show), equals the model of the SAP table (current-state-model.ts), and afterwards the current
 * snapshot has no delete file and fewer data files.
 */

/** One full row as text: every column icebird returns, bigints and bytes spelled out. */
const rowText = (r: Record<string, unknown>) =>
  JSON.stringify(r, (_k, v: unknown) =>
    typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `0x${Buffer.from(v).toString('hex')}` : v,
  )

/** The current snapshot's live data and delete files, as icebird lists them. */
async function inventory(d: Destination, table: string) {
  const metadata = await icebergMetadata({ tableUrl: d.uriOf(table) })
  const entries = (await icebergManifests(metadata)).flatMap((m) => m.entries).filter((e) => e.status !== 2)
  return {
    data: entries.filter((e) => !e.data_file.content).length,
    deletes: entries.filter((e) => e.data_file.content).length,
  }
}

/** Snapshot ids that removed the entries of the current snapshot's manifests without a live entry. */
async function removalOnlyManifests(d: Destination, table: string): Promise<string[]> {
  const metadata = await icebergMetadata({ tableUrl: d.uriOf(table) })
  return (await icebergManifests(metadata))
    .filter((m) => m.entries.every((e) => e.status === 2))
    .flatMap((m) => m.entries.map((e) => String(e.snapshot_id)))
}

/** Every row of the table, sorted (icebird refuses a snapshot without data files: that is an empty table). */
async function fullRows(d: Destination, table: string): Promise<string[]> {
  if (!(await inventory(d, table)).data) return []
  return (await icebergRead({ tableUrl: d.uriOf(table) })).map(rowText).sort()
}

const byKey = (a: unknown[], b: unknown[]) => String(a[1]).localeCompare(String(b[1]))
/** The model's comparison view of the table (key, values, mode, run), empty table included. */
async function tableView(d: Destination, table: string) {
  if (!(await inventory(d, table)).data) return []
  const rows = await icebergRead({ tableUrl: d.uriOf(table) })
  return rows
    .map((r) => [r.VBELN, r.POSNR, r.KWMENG, r.RATE, r.ODQ_CHANGEMODE, r._RUN_ID].map((v) => (typeof v === 'bigint' ? String(v) : v)))
    .sort(byKey)
}

/** Rewrites and checks what must hold around it; returns the result. */
async function rewriteChecked(d: Destination, table: string, model: Model, options: RewriteWithDeletesOptions = { targetFileMb: 1 }) {
  const before = await fullRows(d, table)
  const filesBefore = await inventory(d, table)
  const result = await rewriteWithDeletes(d, table, options)
  expect(await fullRows(d, table)).toEqual(before)
  expect(await tableView(d, table)).toEqual(modelView(model))
  // The model has one row per key: the rows read are exactly the model's, no duplicate.
  expect(before).toHaveLength(model.size)
  const after = await inventory(d, table)
  if (result.version === null) {
    expect(filesBefore.deletes).toBe(0)
    expect(after).toEqual(filesBefore)
  } else {
    expect(after.deletes).toBe(0)
    expect(result.removedDeletes).toHaveLength(filesBefore.deletes)
    expect(after.data).toBe(filesBefore.data - result.rewritten.length + result.added.length)
    expect(result.rowsOut).toBe(result.rowsIn - result.rowsDeleted)
    expect(after.data).toBeLessThanOrEqual(filesBefore.data)
    // Manifests holding only removals are listed by the snapshot that removed, not carried on.
    for (const id of await removalOnlyManifests(d, table)) expect(id).toBe(String(result.snapshotId))
  }
  return { result, filesBefore, after }
}

describe('rewriteWithDeletes on LOCAL, read back with icebird', () => {
  let root: string
  let restore: () => void
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'de-rewrite-'))
    restore = withObjectFetch(fileObjects)
  })
  afterAll(async () => {
    restore?.()
    await rm(root, { recursive: true, force: true })
  })
  const list = async () =>
    (await readdir(root, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => relative(root, join(e.parentPath, e.name)))
      .sort()

  it('applies the deletes of a full load and three deltas: same rows, no delete file, one data file; then more deltas and a second rewrite', async () => {
    const d = new LocalDestination(root)
    const table = 'tables/rewrite'
    let model: Model = new Map()
    const step = async (runId: string, mode: 'FULL' | 'DELTA', rows: Row[]) => {
      model = applyToModel(model, mode, (await run(d, table, runId, mode, rows, 2)).rows)
    }
    // Item 10 twice in the full load (a position delete), then deltas with every kind of image.
    await step('w-1', 'FULL', [full(10, 1), full(11, 2), full(12, 3), full(13, 4), full(10, 7)])
    await step('w-2', 'DELTA', [create(20, 8), beforeImage(11, 2), afterImage(11, 9), del(12, 3), del(13, 4), create(13, 6)])
    await step('w-3', 'DELTA', [beforeImage(11, 9), afterImage(11, 5), create(21, 4), create(22, 5), del(22, 5)])
    await step('w-4', 'DELTA', [afterImage(13, 7), del(10, 7), afterImage(21, 9)])
    const listed = await list()

    const { result, filesBefore, after } = await rewriteChecked(d, table, model)
    // 19 rows in 11 files (two rows a file); a position delete for the load, an equality and a
    // position delete for each delta.
    expect(filesBefore).toEqual({ data: 11, deletes: 7 })
    expect(after).toEqual({ data: 1, deletes: 0 })
    expect(result).toMatchObject({ version: 5, kept: 0, rowsIn: 19, rowsDeleted: 19 - model.size, rowsOut: model.size })
    const meta = (await loadTable(d, table))!.metadata
    expect(meta.snapshots.at(-1)!.summary).toMatchObject({
      operation: 'replace',
      'deleted-data-files': '11',
      'added-data-files': '1',
      'removed-delete-files': '7',
      'total-delete-files': '0',
      'total-equality-deletes': '0',
      'total-position-deletes': '0',
      'total-data-files': '1',
      'total-records': String(model.size),
    })
    // Nothing is removed from the destination: the runs' files and the delete files stay for expiry.
    const now = await list()
    expect(listed.filter((k) => !now.includes(k))).toEqual([])
    expect(now.filter((k) => !listed.includes(k) && !k.includes('/metadata/'))).toEqual(result.added)

    // The output has sequence number 5: the next deltas' equality deletes (6, 7) reach its rows.
    await step('w-5', 'DELTA', [beforeImage(11, 5), afterImage(11, 1), del(20, 8), create(23, 3)])
    await step('w-6', 'DELTA', [afterImage(23, 6), del(21, 9)])
    expect(await tableView(d, table)).toEqual(modelView(model))
    const second = await rewriteChecked(d, table, model)
    expect(second.filesBefore.deletes).toBe(4)
    expect(second.after).toEqual({ data: 1, deletes: 0 })
    // Nothing left to do: no delete file and a single data file.
    expect((await rewriteChecked(d, table, model)).result.version).toBeNull()
  })

  it('leaves data files no delete removes a row from as they are, when they are not small', async () => {
    const d = new LocalDestination(root)
    const table = 'tables/rewrite-keep'
    let model: Model = new Map()
    const step = async (runId: string, mode: 'FULL' | 'DELTA', rows: Row[]) => {
      const r = await run(d, table, runId, mode, rows, 2)
      model = applyToModel(model, mode, r.rows)
      return r.files
    }
    const load = await step(
      'k-1',
      'FULL',
      [1, 2, 3, 4, 5, 6].map((n) => full(n, n)),
    )
    // Items 3 and 4 are in the load's second file: only that one loses rows. The delta's two after
    // images are both final, so it has an equality delete and no position delete.
    await step('k-2', 'DELTA', [afterImage(3, 9), afterImage(4, 8)])
    // Every file counts as large: the load's files the equality delete reaches are read, and only
    // the one it removes rows from is rewritten; the delta's file (no delete reaches it) is not read.
    const { result } = await rewriteChecked(d, table, model, { targetFileMb: 0.0001 })
    expect(result.rewritten).toEqual([d.uriOf(load[1].key)])
    expect(result).toMatchObject({ kept: 3, rowsIn: 2, rowsDeleted: 2, rowsOut: 0 })
    expect(result.added).toEqual([])
    expect(await inventory(d, table)).toEqual({ data: 3, deletes: 0 })
    // A later delta reaches a kept file as before.
    await step('k-3', 'DELTA', [del(1, 1)])
    expect(await tableView(d, table)).toEqual(modelView(model))
  })

  it('equals the model through random sequences of full loads, deltas and rewrites (fast-check)', async () => {
    const d = new LocalDestination(root)
    let tableNo = 0
    /** Rewrites that removed delete files and rows, and files kept as they were: the property exercised both. */
    const seen = { rewrites: 0, rowsDeleted: 0, kept: 0 }
    const runArb = fc.record({
      full: fc.boolean(),
      images: fc.array(imageArb, { maxLength: 6 }),
      rewrite: fc.constantFrom(null, 1, 0.0001),
    })
    await fc.assert(
      fc.asyncProperty(fc.array(runArb, { minLength: 1, maxLength: 6 }), async (runs) => {
        const table = `tables/prop-${tableNo++}`
        let model: Model = new Map()
        for (const [i, r] of runs.entries()) {
          const mode = i === 0 || r.full ? 'FULL' : 'DELTA'
          const applied = await run(d, table, `p-${i}`, mode, rowsOf(mode, r.images), 2)
          model = applyToModel(model, mode, applied.rows)
          if (r.rewrite === null) continue
          const { result } = await rewriteChecked(d, table, model, { targetFileMb: r.rewrite })
          if (result.removedDeletes.length) seen.rewrites++
          seen.rowsDeleted += result.rowsDeleted
          if (result.version !== null) seen.kept += result.kept
        }
        expect(await tableView(d, table)).toEqual(modelView(model))
      }),
      { numRuns: 20, seed: 1313 },
    )
    expect(seen.rewrites).toBeGreaterThan(5)
    expect(seen.rowsDeleted).toBeGreaterThan(10)
    expect(seen.kept).toBeGreaterThan(0)
  })

  it('a run committing while it works makes it fail with LAKE_COMMIT_CONFLICT, leaving nothing of it behind; the retry applies every delete', async () => {
    const base = new LocalDestination(root)
    const table = 'tables/rewrite-race'
    let model = applyToModel(new Map(), 'FULL', (await run(base, table, 'x-1', 'FULL', [full(1, 1), full(2, 2), full(3, 3)], 1)).rows)
    model = applyToModel(model, 'DELTA', (await run(base, table, 'x-2', 'DELTA', [del(1, 1), afterImage(2, 5)], 1)).rows)
    const before = await list()
    let raced = false
    const racing = new Proxy(base, {
      get(target, p) {
        if (p === 'putTextIfAbsent')
          return async (key: string, body: string, signal?: AbortSignal) => {
            if (!raced) {
              raced = true
              model = applyToModel(model, 'DELTA', (await run(base, table, 'x-3', 'DELTA', [create(4, 4)], 1)).rows)
            }
            return target.putTextIfAbsent(key, body, signal)
          }
        const v = Reflect.get(target, p, target) as unknown
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
      },
    }) as Destination
    const error = await rewriteWithDeletes(racing, table, { targetFileMb: 1 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LakeCommitConflictError)
    expect(error).toMatchObject({ code: 'LAKE_COMMIT_CONFLICT', retryable: true, version: 3 })
    // Only the run's commit is new: its files, delete files, v3 and its snapshot's manifests; nothing of the rewrite.
    const x3 = String((await loadTable(base, table))!.metadata.snapshots.at(-1)!['snapshot-id'])
    const added = (await list()).filter((k) => !before.includes(k))
    expect(added.filter((k) => k.includes('compact-'))).toEqual([])
    expect(
      added.filter(
        (k) =>
          !k.startsWith('runs/x-3/') &&
          !k.startsWith(`${table}/data/x-3-`) &&
          k !== `${table}/metadata/v3.metadata.json` &&
          !(k.startsWith(`${table}/metadata/`) && k.includes(x3)),
      ),
    ).toEqual([])
    expect(await tableView(base, table)).toEqual(modelView(model))

    const retry = await rewriteChecked(base, table, model)
    expect(retry.result.version).toBe(4)
  })

  it('refuses with LAKE_TABLE_INVALID, commits nothing and removes what it wrote when a data file does not hold the rows its manifest entry lists', async () => {
    const base: Destination = new LocalDestination(root)
    const table = 'tables/rewrite-mismatch'
    // Two rows a file: items 1 and 2 in the first, 3 and 4 in the second.
    let model = applyToModel(
      new Map(),
      'FULL',
      (
        await run(
          base,
          table,
          'm-1',
          'FULL',
          [1, 2, 3, 4].map((n) => full(n, n)),
          2,
        )
      ).rows,
    )
    const delta = await run(base, table, 'm-2', 'DELTA', [beforeImage(2, 2), afterImage(2, 6), create(5, 5)], 3)
    model = applyToModel(model, 'DELTA', delta.rows)
    // The delta's file (3 rows), read last, comes back as the load's first file (2 rows); item 1 of
    // that file is rewritten before, so output files are already uploaded when the lie is found.
    const uploads: string[] = []
    const lying = new Proxy(base, {
      get(target, p) {
        if (p === 'getBytes')
          return (key: string, signal?: AbortSignal) =>
            target.getBytes(key === delta.files[0].key ? 'runs/m-1/part-00000.parquet' : key, signal)
        if (p === 'putFile')
          return (key: string, path: string, signal?: AbortSignal, options?: PutFileOptions) => {
            uploads.push(key)
            return target.putFile(key, path, signal, options)
          }
        const v = Reflect.get(target, p, target) as unknown
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
      },
    }) as Destination
    const before = await list()
    // One output file per row: files are uploaded before the lie is found.
    const error = await rewriteWithDeletes(lying, table, { targetFileMb: 0.000001, rowGroupRows: 1 }).catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'LakeTableError', code: 'LAKE_TABLE_INVALID', retryable: false })
    expect(String(error)).toMatch(/read 2 rows, the manifest lists 3/)
    expect(uploads.filter((k) => k.includes('compact-')).length).toBeGreaterThan(0)
    expect(await list()).toEqual(before)
    expect((await loadTable(base, table))!.version).toBe(2)
    expect(await tableView(base, table)).toEqual(modelView(model))
  })

  it('refuses bad options and a table without a snapshot with LAKE_INPUT', async () => {
    const d = new LocalDestination(root)
    await expect(rewriteWithDeletes(d, 'tables/none', { targetFileMb: 1 })).rejects.toMatchObject({ code: 'LAKE_INPUT' })
    await expect(rewriteWithDeletes(d, 'tables/none', { targetFileMb: 0 })).rejects.toMatchObject({ code: 'LAKE_INPUT' })
    await expect(rewriteWithDeletes(d, 'tables/none', { targetFileMb: 1, rowGroupRows: 0 })).rejects.toMatchObject({ code: 'LAKE_INPUT' })
  })
})

describe('rewriteWithDeletes on S3 (s3rver), read back with icebird', () => {
  let s3: S3rverEmulator
  let d: S3Destination
  let restore: () => void
  beforeAll(async () => {
    s3 = await S3rverEmulator.start()
    await s3.createBucket('lake')
    d = s3rverDestination(s3.endpoint)
    restore = withObjectFetch(s3rverObjects(s3))
  })
  afterAll(async () => {
    restore?.()
    d?.close()
    await s3?.dispose()
  })

  it('applies the deletes of a full load and two deltas under s3:// locations, then again after another delta', async () => {
    const table = 'tables/rewrite'
    let model: Model = new Map()
    const step = async (runId: string, mode: 'FULL' | 'DELTA', rows: Row[]) => {
      model = applyToModel(model, mode, (await run(d, table, runId, mode, rows, 2)).rows)
    }
    await step('s-1', 'FULL', [full(1, 1), full(2, 2), full(3, 3), full(1, 4)])
    await step('s-2', 'DELTA', [beforeImage(2, 2), afterImage(2, 7), del(3, 3), create(4, 4)])
    await step('s-3', 'DELTA', [del(1, 4), create(5, 5)])
    const first = await rewriteChecked(d, table, model)
    expect(first.after).toEqual({ data: 1, deletes: 0 })
    expect(first.result.added[0]).toMatch(/^tables\/rewrite\/data\/compact-\d+-00000\.parquet$/)
    await step('s-4', 'DELTA', [afterImage(4, 9), del(5, 5)])
    const second = await rewriteChecked(d, table, model)
    expect(second.after).toEqual({ data: 1, deletes: 0 })
    expect(model.size).toBe(2)
  })
})
