/**
 * Two appliers of the same run (the worker and the sweep, two sweeping processes) both reach the
 * commit point: one commits, the other gets a conflict and, on its retry, finds the run applied.
 * Each attempt writes delete files under names of its own, so the loser never removes the winner's
 * committed files: every file the table names still exists, and the table equals the model.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadTable, planTableWrite } from '../../src/lake/iceberg/index.js'
import { readSnapshotFiles, referencedUris } from '../../src/lake/iceberg/snapshot-files.js'
import { keyOfUri } from '../../src/lake/iceberg/owned-files.js'
import { commitToCurrentState } from '../../src/orchestrator/lake/current-state-run.js'
import type { Destination } from '../../src/storage/destination.js'
import { LocalDestination } from '../../src/storage/local.js'
import { installFileFetch } from './file-fetch.js'
import { afterImage, applyToModel, AT, COLUMNS, del, full, KEY, modelView, run, tableView } from './current-state-model.js'
import { writeRunFiles } from './helpers.js'

describe('concurrent apply of one run to the current-state table', () => {
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
})
