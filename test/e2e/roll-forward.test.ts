/**
 * A worker that dies between writing manifest.json and the database commit leaves a run that the
 * lake already shows as committed. The sweep that finds it lost commits it from the position the
 * run recorded and from its manifest, so the next run continues after it instead of delivering the
 * same changes again. Without a manifest the run is lost as usual and its delta is re-read.
 *
 * The crash is reproduced by putting the database back to where the dead worker left it (run
 * RUNNING in COMMITTING with a stale heartbeat, delta state still at the previous position and
 * pending on the run); everything after that is the service's own doing.
 */
import { rm } from 'node:fs/promises'
import { dirname, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, expect, it } from 'vitest'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import { Harness } from '../helpers/harness.js'
import { readManifest, readRun } from '../helpers/lake.js'

let h: Harness
afterEach(() => h?.stop())

const createdKeys = (rows: Array<Record<string, unknown>>) => rows.map((r) => `${r.VBELN}/${r.POSNR}/${r.ODQ_CHANGEMODE}`)

/** Runs one delta to the end, then rewinds the database to the moment its worker died, manifest written. */
async function deltaLostWhileCommitting(pipelineId: string) {
  const { db } = h.app.services
  const before = await db.deltaState.findUniqueOrThrow({ where: { pipelineId } })
  const changes = h.sim.admin.insert(SALES_ITEMS, 30)
  const done = await h.run(pipelineId)
  expect(done.status).toBe('SUCCEEDED')
  const run = await db.run.findUniqueOrThrow({ where: { id: done.id } })
  const after = await db.deltaState.findUniqueOrThrow({ where: { pipelineId } })
  // Recorded before the manifest was written: what a sweeper needs to finish the commit.
  expect(run.positionOut).toBe(after.deltaLink)
  const prefix = relative(h.lakeDir, dirname(fileURLToPath(run.manifestUri!)))
  await db.$transaction([
    db.run.update({
      where: { id: run.id },
      data: {
        status: 'RUNNING',
        stage: 'COMMITTING',
        activeKey: pipelineId,
        finishedAt: null,
        manifestUri: null,
        uncommittedPrefix: prefix,
        changesCreated: null,
        changesUpdated: null,
        changesDeleted: null,
        heartbeatAt: new Date(0),
      },
    }),
    db.deltaState.update({
      where: { pipelineId },
      data: { deltaLink: before.deltaLink, token: before.token, lastCommittedRunId: before.lastCommittedRunId, pendingRunId: run.id },
    }),
  ])
  return { run, before, after, changes, manifestUri: done.manifestUri! }
}

it('commits a run lost after its manifest was written, and the next delta continues after it', async () => {
  h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 60 } } })
  const { db, orchestrator } = h.app.services
  const { pipelineId } = await h.createPipeline({ name: 'rolled', pageSize: 20 })
  await h.run(pipelineId)
  const lost = await deltaLostWhileCommitting(pipelineId)

  const ended = h.waitForRun(lost.run.id)
  await orchestrator.sweepLostRuns()
  const rolled = await ended
  expect(rolled).toMatchObject({
    status: 'SUCCEEDED',
    stage: 'DONE',
    manifestUri: lost.manifestUri,
    deltaTokenOut: lost.after.token,
    rowsWritten: '30',
    changeCounts: { created: '30', updated: '0', deleted: '0' },
    error: null,
  })
  const state = await db.deltaState.findUniqueOrThrow({ where: { pipelineId } })
  expect(state).toMatchObject({
    deltaLink: lost.after.deltaLink,
    token: lost.after.token,
    lastCommittedRunId: lost.run.id,
    pendingRunId: null,
  })
  // The schema the next delta is checked against comes from the manifest, as the worker would have stored it.
  const { schemaHash } = await readManifest(lost.manifestUri)
  expect(schemaHash).toMatch(/^sha256:/)
  expect(state.schemaHash).toBe(schemaHash)
  expect((await db.run.findUniqueOrThrow({ where: { id: lost.run.id } })).schemaHash).toBe(schemaHash)
  expect(await db.run.count({ where: { pipelineId, status: { in: ['QUEUED', 'RUNNING'] } } })).toBe(0) // no re-read queued
  expect((await readRun(lost.manifestUri)).rows).toHaveLength(30) // its files stay

  const next = h.sim.admin.insert(SALES_ITEMS, 5)
  const run = await h.run(pipelineId)
  expect(run).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', deltaTokenIn: lost.after.token })
  expect(createdKeys((await readRun(run.manifestUri!)).rows)).toEqual(next.map((c) => `${c.key.VBELN}/${c.key.POSNR}/C`))
})

it('a run lost in COMMITTING without a manifest is failed as WORKER_LOST and its delta re-read once', async () => {
  h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 60 } } })
  const { db, orchestrator } = h.app.services
  const { pipelineId } = await h.createPipeline({ name: 'unrolled', pageSize: 20 })
  await h.run(pipelineId)
  const lost = await deltaLostWhileCommitting(pipelineId)
  await rm(fileURLToPath(lost.manifestUri)) // the worker died before the manifest landed

  const ended = h.waitForRun(lost.run.id)
  await orchestrator.sweepLostRuns()
  expect(await ended).toMatchObject({ status: 'FAILED', manifestUri: null, error: { code: 'WORKER_LOST', retryable: true } })
  const retry = await db.run.findFirstOrThrow({ where: { pipelineId, trigger: 'RETRY' } })
  const recovered = await h.waitForRun(retry.id)
  expect(recovered).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'RECOVERY', deltaTokenIn: lost.before.token })
  expect(createdKeys((await readRun(recovered.manifestUri!)).rows)).toEqual(lost.changes.map((c) => `${c.key.VBELN}/${c.key.POSNR}/C`))
})
