/**
 * Committing runs to the current-state table as the run engine does (lake/current-state.ts through
 * orchestrator/lake/current-state-run.ts), in the situations a crash, a retry or an unusual source
 * brings: two appliers of one run, a commit that lands after its request failed, a key OData declares
 * nullable, a delta whose table is gone or ends elsewhere, and runs that deliver no row. icebird reads
 * the table back and it is compared with a model of the SAP table (current-state-model.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { icebergRead } from 'icebird'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { applyRunToCurrentState, changeLogColumns, loadTable, planTableWrite } from '../../src/lake/iceberg/index.js'
import { keyOfUri } from '../../src/lake/iceberg/owned-files.js'
import { readSnapshotFiles, referencedUris } from '../../src/lake/iceberg/snapshot-files.js'
import { commitToCurrentState } from '../../src/orchestrator/lake/current-state-run.js'
import type { Column } from '../../src/sap/fields.js'
import { DestinationError, type Destination } from '../../src/storage/destination.js'
import { LocalDestination } from '../../src/storage/local.js'
import { afterImage, applyToModel, AT, COLUMNS, del, full, KEY, modelView, run, tableView } from './current-state-model.js'
import { installFileFetch } from './file-fetch.js'
import { writeRunFiles } from './helpers.js'

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

/** What commitToCurrentState is given for a run of pipeline p-1 whose change log is at `changeLogPath`. */
const commitOf = (
  runId: string,
  extractionMode: string,
  changeLogPath: string,
  files: Awaited<ReturnType<typeof writeRunFiles>>,
  columns: readonly Column[] = COLUMNS,
) => ({
  runId,
  pipelineId: 'p-1',
  extractionMode,
  changeLogPath,
  files,
  columns,
  summary: {},
})

it('two commitToCurrentState calls for the same DELTA run (worker + sweep, or two sweep passes) leave every referenced file in place', async () => {
  const base = new LocalDestination(root)
  const table = 'tables/p_current'
  const first = await run(base, table, 'run-1', 'FULL', [full(1, 1), full(2, 2), full(3, 3)])
  let model = applyToModel(new Map(), 'FULL', first.rows)

  const plan = await planTableWrite(base, table, COLUMNS)
  const rows = [afterImage(1, 5), del(2, 2)].map((r) => [...r.slice(0, -2), 'run-2', AT])
  const files = await writeRunFiles(base, plan.parquet, COLUMNS, rows, 'run-2')

  // Both appliers reach the commit point before either has committed (what two overlapping sweeps do).
  let arrived = 0
  let release!: () => void
  const both = new Promise<void>((r) => (release = r))
  const gated = new Proxy(base, {
    get(target, p) {
      if (p === 'putTextIfAbsent')
        return async (key: string, body: string, signal?: AbortSignal) => {
          if (key.endsWith('.metadata.json') && arrived < 2) {
            if (++arrived === 2) release()
            await both
          }
          return target.putTextIfAbsent(key, body, signal)
        }
      const v = Reflect.get(target, p, target) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  }) as Destination

  const apply = () =>
    commitToCurrentState(
      gated,
      { tablePath: table, keyColumns: KEY },
      {
        runId: 'run-2',
        pipelineId: 'p-1',
        extractionMode: 'DELTA',
        changeLogPath: 'tables/p',
        files,
        columns: COLUMNS,
        summary: {},
      },
    )
  const [a, b] = await Promise.all([apply(), apply()])
  expect(a).toBe(b) // both report the one snapshot: applied once
  model = applyToModel(model, 'DELTA', rows)

  // Every file the current snapshot references must exist.
  const t = (await loadTable(base, table))!
  const current = t.metadata.snapshots.find((s) => s['snapshot-id'] === t.metadata['current-snapshot-id'])!
  const missing: string[] = []
  for (const uri of referencedUris(await readSnapshotFiles(base, table, current), false)) {
    const key = keyOfUri(base, uri)!
    if ((await base.getBytes(key)) === null) missing.push(key)
  }
  expect(missing).toEqual([])
  expect(await tableView(base, table)).toEqual(modelView(model))
})

it('a commit that lands after its request failed (in flight at the store) still finds its delete files', async () => {
  const base = new LocalDestination(root)
  const table = 't/amb_current'
  const first = await run(base, table, 'r1', 'FULL', [full(1, 1), full(2, 2)])
  let model = applyToModel(new Map(), 'FULL', first.rows)
  const plan = await planTableWrite(base, table, COLUMNS)
  const rows = [afterImage(1, 5), del(2, 2)].map((r) => [...r.slice(0, -2), 'r2', AT])
  const files = await writeRunFiles(base, plan.parquet, COLUMNS, rows, 'r2')

  let landLater: (() => Promise<unknown>) | undefined
  const flaky = new Proxy(base, {
    get(target, p) {
      if (p === 'putTextIfAbsent')
        return async (key: string, body: string, signal?: AbortSignal) => {
          if (key.endsWith('v2.metadata.json') && !landLater) {
            landLater = () => target.putTextIfAbsent(key, body, signal)
            throw new DestinationError('DESTINATION_UNAVAILABLE', 'socket hang up (the request may still complete)', true)
          }
          return target.putTextIfAbsent(key, body, signal)
        }
      const v = Reflect.get(target, p, target) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  }) as Destination
  await expect(
    applyRunToCurrentState(flaky, table, { runId: 'r2', mode: 'DELTA', files, columns: COLUMNS, keyColumns: KEY }),
  ).rejects.toThrow(/socket hang up/)
  await landLater!() // the store completes the request after all
  // The retry (worker's ManifestAfterSnapshot -> sweep) finds the run applied and moves the hint to v2.
  const again = await applyRunToCurrentState(base, table, { runId: 'r2', mode: 'DELTA', files, columns: COLUMNS, keyColumns: KEY })
  expect(again.version).toBeNull()
  model = applyToModel(model, 'DELTA', rows)
  expect(await tableView(base, table)).toEqual(modelView(model))
})

it('merges by the whole key also where a key column is nullable (not an identifier field): two validity periods of one cost center stay two rows', async () => {
  const d = new LocalDestination(root)
  // A time-dependent master data entity keyed by KOSTL and a validity end OData declares nullable.
  // (A text column here: icebird compares equality-delete values with ===, which never holds for two
  // Date objects, so a date key would show icebird's limit, not the table's.)
  const source: Column[] = [
    { name: 'KOSTL', type: { kind: 'string', maxLength: 10 }, nullable: false, key: true },
    { name: 'DATETO', type: { kind: 'string', maxLength: 8 }, nullable: true, key: true },
    { name: 'TXT', type: { kind: 'string' }, nullable: true, key: false },
  ]
  const columns = changeLogColumns(source)
  const keyColumns = ['KOSTL', 'DATETO']
  const apply = async (runId: string, mode: string, rows: unknown[][]) => {
    const plan = await planTableWrite(d, 'cc', columns)
    const files = await writeRunFiles(d, plan.parquet, columns, rows as never, runId)
    return commitToCurrentState(d, { tablePath: 'cc_current', keyColumns }, commitOf(runId, mode, 'cc', files, columns))
  }
  await apply('r1', 'DELTA_INIT', [
    ['0000001000', '20251231', 'A', '', null, 'r1', AT],
    ['0000001000', '99991231', 'B', '', null, 'r1', AT],
  ])
  const schema = (await loadTable(d, 'cc_current'))!.metadata.schemas[0]
  expect(schema['identifier-field-ids']).toEqual([1]) // KOSTL only: DATETO is optional
  await apply('r2', 'DELTA', [
    ['0000001000', '99991231', 'B', 'U', '-1', 'r2', AT],
    ['0000001000', '99991231', 'C', 'U', '1', 'r2', AT],
  ])
  const rows = await icebergRead({ tableUrl: d.uriOf('cc_current') })
  expect(rows.map((r) => `${r.KOSTL}/${r.DATETO}/${r.TXT}`).sort()).toEqual(['0000001000/20251231/A', '0000001000/99991231/C'])
})

it('applies a DELTA only on the run it continues from: a table gone or ending elsewhere is LAKE_OUT_OF_STEP, nothing written', async () => {
  const d = new LocalDestination(root)
  const table = 'x/p_current'
  const plan = await planTableWrite(d, table, COLUMNS)
  const delta = async (runId: string, continuesFrom: string) => {
    const rows = [afterImage(1, 5)].map((r) => [...r.slice(0, -2), runId, AT])
    const files = await writeRunFiles(d, plan.parquet, COLUMNS, rows, runId)
    return commitToCurrentState(d, { tablePath: table, keyColumns: KEY, continuesFrom }, commitOf(runId, 'DELTA', 'x/p', files))
  }
  // No table: a delta would re-create it holding only itself.
  await expect(delta('r9', 'r8')).rejects.toMatchObject({ code: 'LAKE_OUT_OF_STEP' })
  expect(await loadTable(d, table)).toBeNull()
  const first = await run(d, table, 'r1', 'FULL', [full(1, 1), full(2, 2)])
  await expect(delta('r2', 'r0')).rejects.toMatchObject({ code: 'LAKE_OUT_OF_STEP' })
  expect((await loadTable(d, table))!.version).toBe(1)
  await delta('r3', 'r1')
  expect(await tableView(d, table)).toEqual(
    modelView(applyToModel(applyToModel(new Map(), 'FULL', first.rows), 'DELTA', [[...afterImage(1, 5).slice(0, -2), 'r3', AT]])),
  )
})

it('an empty DELTA and an empty FULL (SAP table emptied) are applied', async () => {
  const d = new LocalDestination(root)
  const table = 't/e_current'
  const first = await run(d, table, 'r1', 'FULL', [full(1, 1), full(2, 2)])
  let model = applyToModel(new Map(), 'FULL', first.rows)
  const e1 = await applyRunToCurrentState(d, table, { runId: 'r2', mode: 'DELTA', files: [], columns: COLUMNS, keyColumns: KEY })
  expect(e1.version).toBe(2)
  expect(await tableView(d, table)).toEqual(modelView(model))
  const e2 = await applyRunToCurrentState(d, table, {
    runId: 'r3',
    mode: 'FULL',
    files: [],
    columns: COLUMNS,
    keyColumns: KEY,
    fullLoadKeysUnique: true,
  })
  expect(e2.version).toBe(3)
  // icebird refuses a snapshot without data manifests ("No data manifest files found"): the summary says it is empty.
  const t = (await loadTable(d, table))!.metadata
  expect(t.snapshots.at(-1)!.summary['total-records']).toBe('0')
  expect((await loadTable(d, table))!.metadata.properties['delta-extractor.last-run-id']).toBe('r3')
})
