import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { once } from 'node:events'
import { dirname, join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import { graphql } from '../gql/index.js'
import { Harness } from '../helpers/harness.js'
import { readRun } from '../helpers/lake.js'

const ROOT = join(import.meta.dirname, '../..')

const RunningRuns = graphql(`
  query CrashRunningRuns($pipelineId: ID!) {
    runs(pipelineId: $pipelineId, status: RUNNING, first: 5) { edges { node { id stage rowsExtracted } } }
  }
`)
const RunUpdates = graphql(`
  subscription CrashRunUpdates($pipelineId: ID!) {
    runUpdates(pipelineId: $pipelineId) { id status stage trigger attempt extractionMode error { code } }
  }
`)

let h: Harness
let child: ChildProcess | undefined
afterEach(async () => {
  child?.kill('SIGKILL')
  await h?.stop()
})

it('a run whose process is killed mid-extraction is failed as WORKER_LOST and recovered by a new run', async () => {
  // This service instance is the survivor. Its stale-heartbeat window is a minute, so what makes it
  // notice the run within seconds is that the run's process, on this host, no longer exists.
  h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 60 }, openRequestIdleMs: 500 }, orchestrator: { staleAfterMs: 60_000 } })
  // Row groups of 1,000 rows: the killed process has a half-written Parquet file in its staging folder.
  const { pipelineId } = await h.createPipeline({ name: 'crashy', pageSize: 1000, output: { rowGroupRows: 1000 } })
  const init = await h.run(pipelineId)
  const changes = h.sim.admin.insert(SALES_ITEMS, 2500)
  h.sim.admin.injectFault({ kind: 'slow', page: 3, read: 'delta', delayMs: 60_000 })

  // Another process runs the pipeline (`delta-extractor run`) on the same database and gets stuck on page 2.
  // The simulator listens on 127.0.0.1; the lake is DATA_DIR/lake, the default LOCAL_ROOTS.
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: h.db.dataDir, LOG_LEVEL: 'error', ALLOW_LOOPBACK: 'true' }
  if (h.db.databaseUrl) env.DATABASE_URL = h.db.databaseUrl
  else delete env.DATABASE_URL
  child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'run', 'crashy'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  let lost: { id: string; stage: string } | undefined
  for (const deadline = Date.now() + 20_000; !lost; ) {
    const running = (await h.gql(RunningRuns, { pipelineId })).runs.edges.map((e) => e.node)
    lost = running.find((r) => r.stage === 'EXTRACTING' && Number(r.rowsExtracted) >= 2000)
    if (Date.now() > deadline) throw new Error(`the other process never got to extracting: ${stderr}`)
    if (!lost) await new Promise((r) => setTimeout(r, 100))
  }
  const staged = join(h.db.dataDir, 'staging', lost.id, 'part-00000.parquet')
  await expect.poll(() => existsSync(staged) && statSync(staged).size > 4, { timeout: 10_000 }).toBe(true)
  const updates = h.subscribe(RunUpdates, { pipelineId })
  child.kill('SIGKILL') // a crash: no shutdown code runs
  await once(child, 'exit')
  expect(existsSync(staged)).toBe(true) // what the dead process left on disk

  const seen: Array<{
    id: string
    status: string
    trigger: string
    attempt: number
    extractionMode: string
    error?: { code: string } | null
  }> = []
  for await (const msg of updates) {
    const run = msg.data!.runUpdates
    seen.push(run)
    if (run.trigger === 'RETRY' && ['SUCCEEDED', 'FAILED'].includes(run.status)) break
  }
  expect(seen.find((r) => r.id === lost!.id)).toMatchObject({ status: 'FAILED', error: { code: 'WORKER_LOST' } })
  const retry = seen.at(-1)!
  expect(retry).toMatchObject({ status: 'SUCCEEDED', trigger: 'RETRY', attempt: 2, extractionMode: 'RECOVERY' })

  const recovered = await h.waitForRun(retry.id)
  expect(recovered.deltaTokenIn).toBe(init.deltaTokenOut)
  const { rows } = await readRun(recovered.manifestUri!)
  expect(rows.map((r) => `${r.VBELN}/${r.POSNR}/${r.ODQ_CHANGEMODE}`)).toEqual(changes.map((c) => `${c.key.VBELN}/${c.key.POSNR}/C`))
  // The recovering run cleared what the dead process left in its staging folder.
  expect(existsSync(join(h.db.dataDir, 'staging', lost.id))).toBe(false)
})

const Progress = graphql(`
  subscription CrashProgress($runId: ID!) { runProgress(runId: $runId) { status stage rowsExtracted } }
`)
const RunPipeline = graphql(`
  mutation CrashRunPipeline($id: ID!) { runPipeline(id: $id) { id } }
`)

it('a service stopped mid-run leaves the run to the next start, which fails it as WORKER_LOST and recovers the same delta', async () => {
  h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 60 }, openRequestIdleMs: 500 } })
  const { pipelineId } = await h.createPipeline({ name: 'restarted', pageSize: 20 })
  const init = await h.run(pipelineId)
  const changes = h.sim.admin.insert(SALES_ITEMS, 50)
  h.sim.admin.injectFault({ kind: 'slow', page: 2, read: 'delta', delayMs: 60_000 })
  const { runPipeline } = await h.gql(RunPipeline, { id: pipelineId })
  for await (const msg of h.subscribe(Progress, { runId: runPipeline.id })) if (Number(msg.data!.runProgress.rowsExtracted) > 0) break // page 1 is in, page 2 hangs

  await h.restart()
  const { db } = h.app.services
  // The new instance's start-up sweep has already judged the old run: lost, with a retry queued.
  const lost = await db.run.findUniqueOrThrow({ where: { id: runPipeline.id } })
  expect(lost).toMatchObject({ status: 'FAILED', stage: 'EXTRACTING', errorCode: 'WORKER_LOST', errorRetryable: true, manifestUri: null })
  const retry = await db.run.findFirstOrThrow({ where: { pipelineId, trigger: 'RETRY' } })
  expect(retry).toMatchObject({ attempt: 2, extractionMode: 'RECOVERY' })

  const recovered = await h.waitForRun(retry.id)
  expect(recovered).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'RECOVERY', deltaTokenIn: init.deltaTokenOut })
  const { rows } = await readRun(recovered.manifestUri!)
  expect(rows.map((r) => `${r.VBELN}/${r.POSNR}/${r.ODQ_CHANGEMODE}`)).toEqual(changes.map((c) => `${c.key.VBELN}/${c.key.POSNR}/C`))
})

it('at start-up, staging folders of runs that no process runs any more are removed; those of running runs stay', async () => {
  h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 20 } } })
  const { pipelineId } = await h.createPipeline({ name: 'staged', pageSize: 20 })
  const { db } = h.app.services
  // A run another host is running right now (fresh heartbeat), and the folder of a run long gone.
  const elsewhere = await db.run.create({
    data: {
      pipelineId,
      activeKey: pipelineId,
      status: 'RUNNING',
      stage: 'EXTRACTING',
      extractionMode: 'DELTA_INIT',
      trigger: 'API',
      workerId: 'other-host:4242:cafe',
      heartbeatAt: new Date(),
    },
  })
  const staging = join(h.db.dataDir, 'staging')
  const live = join(staging, elsewhere.id, 'part-00000.parquet')
  const dead = join(staging, '0193aaaa-0000-7000-8000-00000000dead', 'part-00003.parquet')
  for (const f of [live, dead]) {
    mkdirSync(dirname(f), { recursive: true })
    writeFileSync(f, 'PAR1')
  }
  await h.restart()
  expect(existsSync(live)).toBe(true)
  expect(existsSync(dirname(dead))).toBe(false)
})
