import { readdir } from 'node:fs/promises'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyRunToCurrentState, compact, LakeCommitConflictError, loadTable, planTableWrite } from '../../src/lake/iceberg/index.js'
import type { Row } from '../../src/sap/fields.js'
import type { Destination } from '../../src/storage/destination.js'
import type { AzureBlobDestination } from '../../src/storage/azure-blob.js'
import { LocalDestination } from '../../src/storage/local.js'
import { Azurite } from '../helpers/azurite.js'
import { installFileFetch } from './file-fetch.js'
import { azuriteDestination } from '../storage/helpers.js'
import {
  afterImage,
  applyToModel,
  AT,
  beforeImage,
  COLUMNS,
  create,
  del,
  full,
  imageArb,
  KEY,
  modelView,
  rowsOf,
  run,
  tableView,
  type Model,
} from './current-state-model.js'
import { recordedUris, withSecondUriForm, writeRunFiles } from './helpers.js'

/**
 * The current-state table (docs/architecture.md#lake-tables, "Current-state table") on LOCAL, read
 * with icebird, which applies Iceberg v2 equality and position delete files: after every run the
 * table equals a model of the SAP table (a Map from key to its last after image) built from the
 * same changes (current-state-model.ts).
 */

/** Full load, three deltas and a later full load, compared with the model after every run. */
async function fullAndDeltas(d: Destination, table: string) {
  let model: Model = new Map()
  const applyStep = async (runId: string, mode: 'FULL' | 'DELTA', rows: Row[]) => {
    const r = await run(d, table, runId, mode, rows)
    model = applyToModel(model, mode, r.rows)
    expect(await tableView(d, table)).toEqual(modelView(model))
    return r.result
  }

  // Full load; item 10 comes twice (the later row wins, the earlier is deleted by position).
  const r1 = await applyStep('run-1', 'FULL', [full(10, 1), full(11, 2), full(12, 3), full(13, 4), full(14, 5), full(15, 6), full(10, 7)])
  expect(r1).toMatchObject({ version: 1, rowsDeleted: 1 })
  expect(model.size).toBe(6)

  // Delta: a create, two updates of one key (ABR before and after images), a delete,
  // a delete then a re-create of the same key, one update of a key updated again next delta.
  const r2 = await applyStep('run-2', 'DELTA', [
    create(20, 8),
    beforeImage(11, 2),
    afterImage(11, 9),
    beforeImage(11, 9),
    afterImage(11, 5),
    del(12, 3),
    del(13, 4),
    create(13, 6),
    afterImage(14, 2),
  ])
  expect(r2).toMatchObject({ version: 2, keysTouched: 5 })
  // Rows kept: 20, 11 (last), 13 (re-created), 14; the other five are deleted by position.
  expect(r2.rowsDeleted).toBe(5)

  // Consecutive update of 14, a key created and deleted in the same delta, a delete of the new 20.
  await applyStep('run-3', 'DELTA', [beforeImage(14, 2), afterImage(14, 3), create(21, 4), create(22, 5), del(22, 5), del(20, 8)])
  // AIE-type delta (after images only), a delete of a full-load row, an update of the re-created key.
  await applyStep('run-4', 'DELTA', [afterImage(13, 7), del(10, 7), afterImage(21, 9), afterImage(15, 1)])
  expect([...model.keys()].length).toBe(5)

  const current = (await loadTable(d, table))!.metadata
  const snap = current.snapshots.at(-1)!
  expect(snap.summary).toMatchObject({
    operation: 'overwrite',
    'delta-extractor.run-id': 'run-4',
    'delta-extractor.current-state-mode': 'DELTA',
  })

  // A full load after the deltas replaces everything.
  const r5 = await run(d, table, 'run-5', 'FULL', [full(30, 1), full(31, 2)])
  model = applyToModel(model, 'FULL', r5.rows)
  expect(await tableView(d, table)).toEqual(modelView(model))
  expect(model.size).toBe(2)
  // Applying the same run again (a retry after an ambiguous commit) changes nothing.
  const again = await applyRunToCurrentState(d, table, {
    runId: 'run-5',
    mode: 'FULL',
    files: r5.files,
    columns: COLUMNS,
    keyColumns: KEY,
  })
  expect(again).toMatchObject({ version: null, snapshotId: r5.result.snapshotId })
  expect(await tableView(d, table)).toEqual(modelView(model))
}

describe('current-state table on LOCAL, read back with icebird', () => {
  let root: string
  let restore: () => void
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'de-current-'))
    restore = installFileFetch()
  })
  afterAll(async () => {
    restore?.()
    await rm(root, { recursive: true, force: true })
  })

  it('follows a full load and three deltas (several images per key, delete then re-create, consecutive updates) row for row, and a later full load replaces everything', async () => {
    await fullAndDeltas(new LocalDestination(root), 'tables/current')
  })

  it('on a destination whose tables record a second URI form (as Azure abfss:// beside https://), position deletes name the data files in that form', async () => {
    const d = withSecondUriForm(new LocalDestination(root))
    await fullAndDeltas(d, 'tables/current-forms')
    expect((await recordedUris(d, 'tables/current-forms')).filter((u) => !u.startsWith('file://localhost/'))).toEqual([])
  })

  it('reads the same after compact(): the files of a full load are compacted, later deltas apply to the output, and files an equality delete hits are left alone', async () => {
    const d = new LocalDestination(root)
    const table = 'tables/current-compact'
    let model: Model = new Map()
    const applyStep = async (runId: string, mode: 'FULL' | 'DELTA', rows: Row[], perFile = 3) => {
      const r = await run(d, table, runId, mode, rows, perFile)
      model = applyToModel(model, mode, r.rows)
    }
    await applyStep(
      'c-1',
      'FULL',
      [1, 2, 3, 4].map((n) => full(n, n)),
      1,
    )
    const first = await compact(d, table, { targetFileMb: 1, minInputFiles: 2 })
    // No delete applies to a full load without repeated keys: its four files become one.
    expect(first).toMatchObject({ skippedWithDeletes: 0 })
    expect(first.rewritten).toHaveLength(4)
    expect(await tableView(d, table)).toEqual(modelView(model))

    // The compacted file has the compaction's sequence number: a later delta's deletes hit it.
    await applyStep('c-2', 'DELTA', [create(5, 5), create(6, 6)], 1)
    await applyStep('c-3', 'DELTA', [beforeImage(2, 2), afterImage(2, 8), del(3, 3)], 1)
    const expected = modelView(model)
    expect(await tableView(d, table)).toEqual(expected)

    // Every file older than c-3 is hit by c-3's equality delete, c-3's own by its position delete:
    // compaction (which does not apply deletes) leaves them all alone and the table reads the same.
    const second = await compact(d, table, { targetFileMb: 1, minInputFiles: 2 })
    expect(second.version).toBeNull()
    expect(second.skippedWithDeletes).toBe(6)
    expect(await tableView(d, table)).toEqual(expected)
  })

  it('gives a typed LAKE_COMMIT_CONFLICT when another run commits first, leaves no delete file behind, and applies after planning again', async () => {
    const base = new LocalDestination(root)
    const table = 'tables/current-race'
    const first = await run(base, table, 'r-1', 'FULL', [full(1, 1), full(2, 2)])
    let model = applyToModel(new Map(), 'FULL', first.rows)

    // The racing run commits between this run's plan and its commit point.
    const plan = await planTableWrite(base, table, COLUMNS)
    const rows = [afterImage(1, 5), del(2, 2)].map((r) => [...r.slice(0, -2), 'r-3', AT])
    const files = await writeRunFiles(base, plan.parquet, COLUMNS, rows, 'r-3', 1)
    let raced = false
    const racing = new Proxy(base, {
      get(target, p) {
        if (p === 'putTextIfAbsent')
          return async (key: string, body: string, signal?: AbortSignal) => {
            if (!raced) {
              raced = true
              const other = await run(base, table, 'r-2', 'DELTA', [create(3, 3)])
              model = applyToModel(model, 'DELTA', other.rows)
            }
            return target.putTextIfAbsent(key, body, signal)
          }
        const v = Reflect.get(target, p, target) as unknown
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
      },
    }) as Destination
    const error = await applyRunToCurrentState(racing, table, {
      runId: 'r-3',
      mode: 'DELTA',
      files,
      columns: COLUMNS,
      keyColumns: KEY,
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LakeCommitConflictError)
    expect(error).toMatchObject({ code: 'LAKE_COMMIT_CONFLICT', retryable: true })
    // Nothing of r-3: not in the table, its delete files gone (only r-2's remain under data/).
    expect(await tableView(base, table)).toEqual(modelView(model))
    const data = await readdir(join(root, table, 'data'))
    expect(data.filter((n) => n.startsWith('r-3'))).toEqual([])
    expect(data.some((n) => n.startsWith('r-2'))).toBe(true)

    // The retry plans again and applies the same files.
    const retried = await applyRunToCurrentState(base, table, { runId: 'r-3', mode: 'DELTA', files, columns: COLUMNS, keyColumns: KEY })
    expect(retried.version).toBe(3)
    model = applyToModel(model, 'DELTA', rows)
    expect(await tableView(base, table)).toEqual(modelView(model))
  })

  it('keeps the delete files after an ambiguous failure at the commit point (the retry finds the snapshot) and removes them after a failure before it', async () => {
    const base = new LocalDestination(root)
    const table = 'tables/current-ambiguous'
    const first = await run(base, table, 'a-1', 'FULL', [full(1, 1), full(2, 2)])
    let model = applyToModel(new Map(), 'FULL', first.rows)
    const plan = await planTableWrite(base, table, COLUMNS)
    const rows = [afterImage(1, 5), del(2, 2)].map((r) => [...r.slice(0, -2), 'a-2', AT])
    const files = await writeRunFiles(base, plan.parquet, COLUMNS, rows, 'a-2')
    const request = { runId: 'a-2', mode: 'DELTA' as const, files, columns: COLUMNS, keyColumns: KEY }
    const failing = (fail: (key: string) => boolean, method: 'putTextIfAbsent' | 'putFile', after: boolean) =>
      new Proxy(base, {
        get(target, p) {
          const v = Reflect.get(target, p, target) as unknown
          const bound = typeof v === 'function' ? (v as (...a: unknown[]) => Promise<unknown>).bind(target) : v
          if (p !== method) return bound
          return async (key: string, ...rest: unknown[]) => {
            if (!fail(key)) return (bound as (...a: unknown[]) => Promise<unknown>)(key, ...rest)
            if (after) await (bound as (...a: unknown[]) => Promise<unknown>)(key, ...rest)
            throw new Error(`connection reset writing ${key}`)
          }
        },
      }) as Destination
    const dataFiles = async () => (await readdir(join(root, table, 'data'))).filter((n) => n.startsWith('a-2')).sort()

    // Before the commit point: the manifest list cannot be written; the delete files go again.
    const early = failing((k) => k.includes('/metadata/snap-'), 'putFile', false)
    await expect(applyRunToCurrentState(early, table, request)).rejects.toThrow(/connection reset/)
    expect(await dataFiles()).toEqual([])
    expect((await loadTable(base, table))!.version).toBe(1)

    // At the commit point: the version is written, then the store fails. The files stay (the version
    // names them) and a retry returns the committed snapshot instead of applying the run twice.
    const late = failing((k) => k.endsWith('v2.metadata.json'), 'putTextIfAbsent', true)
    await expect(applyRunToCurrentState(late, table, request)).rejects.toThrow(/connection reset/)
    // (named by the attempt, so another applier of the run never writes or removes these)
    expect(await dataFiles()).toEqual([
      expect.stringMatching(/^a-2-[0-9a-f]{8}-eq-deletes-00000\.parquet$/),
      expect.stringMatching(/^a-2-[0-9a-f]{8}-pos-deletes-00000\.parquet$/),
    ])
    expect((await loadTable(base, table))!.version).toBe(2)
    // The hint still names v1 (the failure came before it moved), so a reader sees the old state ...
    expect(await tableView(base, table)).toEqual(modelView(model))
    const retry = await applyRunToCurrentState(base, table, request)
    expect(retry.version).toBeNull()
    // ... until the retry finds the run's snapshot and moves the hint: no second commit.
    expect((await loadTable(base, table))!.version).toBe(2)
    model = applyToModel(model, 'DELTA', rows)
    expect(await tableView(base, table)).toEqual(modelView(model))
  })

  it('refuses key columns that are not the table key and files written with other field ids (typed LakeTableError)', async () => {
    const d = new LocalDestination(root)
    const table = 'tables/current-bad'
    const { files } = await run(d, table, 'b-1', 'FULL', [full(1, 1)])
    await expect(
      applyRunToCurrentState(d, table, { runId: 'b-2', mode: 'DELTA', files, columns: COLUMNS, keyColumns: ['POSNR'] }),
    ).rejects.toMatchObject({ code: 'LAKE_INPUT' })
    // A row count that is not the file's.
    await expect(
      applyRunToCurrentState(d, table, {
        runId: 'b-2',
        mode: 'DELTA',
        files: files.map((f) => ({ ...f, recordCount: f.recordCount + 1 })),
        columns: COLUMNS,
        keyColumns: KEY,
      }),
    ).rejects.toMatchObject({ code: 'LAKE_INPUT' })
    // Files whose footer gives other ids than the table's (ids shifted by one).
    const plan = await planTableWrite(d, table, COLUMNS)
    const shifted = { ...plan.parquet, fieldIds: plan.parquet.fieldIds.map((id) => id + 100) }
    const bad = await writeRunFiles(d, shifted, COLUMNS, [afterImage(1, 2)], 'b-3')
    await expect(
      applyRunToCurrentState(d, table, { runId: 'b-3', mode: 'DELTA', files: bad, columns: COLUMNS, keyColumns: KEY }),
    ).rejects.toMatchObject({ code: 'LAKE_SCHEMA_INCOMPATIBLE' })
    expect((await loadTable(d, table))!.version).toBe(1)
  })

  it('equals the model after random sequences of full loads and deltas (fast-check)', async () => {
    const d = new LocalDestination(root)
    let tableNo = 0
    const runArb = fc.record({ full: fc.boolean(), images: fc.array(imageArb, { maxLength: 6 }) })
    await fc.assert(
      fc.asyncProperty(fc.array(runArb, { minLength: 1, maxLength: 4 }), async (runs) => {
        const table = `tables/prop-${tableNo++}`
        let model: Model = new Map()
        for (const [i, r] of runs.entries()) {
          // The first run is a full load; later ones are full loads or deltas as drawn.
          const mode = i === 0 || r.full ? 'FULL' : 'DELTA'
          const rows = rowsOf(mode, r.images)
          const applied = await run(d, table, `p-${i}`, mode, rows, 2)
          model = applyToModel(model, mode, applied.rows)
        }
        expect(await tableView(d, table)).toEqual(modelView(model))
      }),
      { numRuns: 12, seed: 1305 },
    )
  })
})

describe('current-state table on AZURE_BLOB, read back with icebird', () => {
  let azurite: Azurite
  let d: AzureBlobDestination
  beforeAll(async () => {
    azurite = await Azurite.start()
    // Public read: icebird fetches the URLs recorded in the metadata without credentials.
    await azurite.client().getContainerClient('lake').create({ access: 'container' })
    d = azuriteDestination(azurite.accountUrl)
  })
  afterAll(async () => {
    d?.close()
    await azurite?.dispose()
  })

  it('follows a full load and three deltas row for row, and a later full load replaces everything', async () => {
    await fullAndDeltas(d, 'tables/current')
  })
})
