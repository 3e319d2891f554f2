/**
 * After an ambiguous failure at the commit point (the request may still land at the store), the
 * current-state apply keeps its delete files, as commitSnapshot keeps its manifests: if the version
 * lands afterwards it names them, and every file it names must exist.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { applyRunToCurrentState, planTableWrite } from '../../src/lake/iceberg/index.js'
import { DestinationError, type Destination } from '../../src/storage/destination.js'
import { LocalDestination } from '../../src/storage/local.js'
import { installFileFetch } from './file-fetch.js'
import { afterImage, applyToModel, AT, COLUMNS, del, full, KEY, modelView, run, tableView } from './current-state-model.js'
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
