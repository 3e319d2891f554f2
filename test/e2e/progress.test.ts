import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runUpdates } from '../../src/api/run-updates.js'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import { graphql } from '../gql/index.js'
import { Harness } from '../helpers/harness.js'

const RunPipeline = graphql(`
  mutation ProgressRunPipeline($id: ID!) { runPipeline(id: $id) { id status stage extractionMode rowsExtracted pipeline { id name } } }
`)
const RunProgress = graphql(`
  subscription ProgressStream($runId: ID!) {
    runProgress(runId: $runId) { status stage rowsExtracted rowsWritten filesWritten bytesWritten at run { id extractionMode } }
  }
`)
const RunUpdates = graphql(`
  subscription ProgressRunUpdates($pipelineId: ID) { runUpdates(pipelineId: $pipelineId) { id status stage pipeline { name } } }
`)
const Events = graphql(`
  query ProgressEvents($id: ID!, $first: Int, $after: String) {
    run(id: $id) { events(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { level stage message } } } }
  }
`)

const STAGES = ['QUEUED', 'CONNECTING', 'EXTRACTING', 'TRANSFORMING', 'UPLOADING', 'COMMITTING', 'DONE']

describe('live progress', () => {
  let h: Harness
  let pipelineId: string
  beforeAll(async () => {
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 2_000 }, latencyMs: 40 } })
    ;({ pipelineId } = await h.createPipeline({ pageSize: 100 }))
  })
  afterAll(() => h?.stop())

  it('runPipeline returns the QUEUED run at once; runProgress sends a snapshot, then every stage in order and growing counters, then completes', async () => {
    const { runPipeline: run } = await h.gql(RunPipeline, { id: pipelineId })
    expect(run).toMatchObject({
      status: 'QUEUED',
      stage: 'QUEUED',
      extractionMode: 'DELTA_INIT',
      rowsExtracted: '0',
      pipeline: { id: pipelineId, name: 'p' },
    })

    const messages = []
    for await (const msg of h.subscribe(RunProgress, { runId: run.id })) messages.push(msg.data!.runProgress)
    expect(messages[0].run).toEqual({ id: run.id, extractionMode: 'DELTA_INIT' })

    const last = messages.at(-1)!
    expect(last).toMatchObject({ status: 'SUCCEEDED', stage: 'DONE', rowsExtracted: '2000', rowsWritten: '2000', filesWritten: 1 })
    expect(Number(last.bytesWritten)).toBeGreaterThan(10_000)
    // stages only move forward and none is skipped after extraction starts
    const stages = messages.map((m) => STAGES.indexOf(m.stage))
    expect(stages).toEqual([...stages].sort((a, b) => a - b))
    expect(new Set(messages.map((m) => m.stage))).toEqual(new Set(STAGES.slice(STAGES.indexOf(messages[0].stage))))
    // counters never go back, and update at least once per page (20 pages of 100 rows; throttled to ~10/s)
    const rows = messages.map((m) => Number(m.rowsExtracted))
    expect(rows).toEqual([...rows].sort((a, b) => a - b))
    const distinct = new Set(messages.filter((m) => m.stage === 'EXTRACTING').map((m) => m.rowsExtracted))
    expect(distinct.size).toBeGreaterThanOrEqual(5)
    expect(messages.every((m) => !Number.isNaN(Date.parse(m.at)))).toBe(true)
  })

  it('a runUpdates stream its client ends lets go of the bus at once, while no run changes', async () => {
    // What graphql-ws and Yoga do when a client completes: return() while next() waits for an event.
    const stream = runUpdates(h.app.services, pipelineId)
    const pending = stream.next()
    const ended = await Promise.race([stream.return!(), new Promise((r) => setTimeout(() => r('still waiting for an event'), 5_000))])
    expect(ended).toEqual({ done: true, value: undefined })
    expect(await pending).toEqual({ done: true, value: undefined })
  })

  it("runUpdates streams every status and stage change of a pipeline's runs", async () => {
    const updates = h.subscribe(RunUpdates, { pipelineId })
    // The subscription is surely live once it has carried a whole run (websocket set-up is lazy).
    const warmUp = (await h.gql(RunPipeline, { id: pipelineId })).runPipeline
    // (next() by hand: leaving a for-await loop would end the subscription)
    for (let u; (u = (await updates.next()).value?.data?.runUpdates), !(u?.id === warmUp.id && u.status === 'SUCCEEDED'); );

    const { runPipeline: run } = await h.gql(RunPipeline, { id: pipelineId })
    const seen: string[] = []
    for await (const msg of updates) {
      const u = msg.data!.runUpdates
      expect(u.pipeline.name).toBe('p')
      if (u.id !== run.id) continue
      seen.push(`${u.status}/${u.stage}`)
      if (u.status === 'SUCCEEDED') break
    }
    expect(seen).toEqual([
      'QUEUED/QUEUED',
      'RUNNING/CONNECTING',
      'RUNNING/EXTRACTING',
      'RUNNING/TRANSFORMING',
      'RUNNING/UPLOADING',
      'RUNNING/COMMITTING',
      'SUCCEEDED/DONE',
    ])
  })

  it('on an ended run, runProgress sends one snapshot and completes', async () => {
    const { runPipeline } = await h.gql(RunPipeline, { id: pipelineId })
    const ended = await h.waitForRun(runPipeline.id)
    const messages = []
    for await (const msg of h.subscribe(RunProgress, { runId: runPipeline.id })) messages.push(msg.data!.runProgress)
    expect(messages).toHaveLength(1)
    expect(messages[0]).toMatchObject({ status: 'SUCCEEDED', stage: 'DONE', rowsExtracted: ended.rowsExtracted })
  })

  it('runProgress on an unknown run is a NOT_FOUND error', async () => {
    const results = []
    for await (const msg of h.subscribe(RunProgress, { runId: 'nope' })) results.push(msg)
    expect(results).toEqual([
      {
        errors: [
          expect.objectContaining({ message: 'run nope does not exist', extensions: { code: 'NOT_FOUND', type: 'run', id: 'nope' } }),
        ],
      },
    ])
  })

  it("keeps the run's own log, paged Relay-style", async () => {
    const { runPipeline } = await h.gql(RunPipeline, { id: pipelineId })
    await h.waitForRun(runPipeline.id)
    const first = (await h.gql(Events, { id: runPipeline.id, first: 3 })).run!.events
    expect(first.totalCount).toBeGreaterThan(3)
    expect(first.edges.map((e) => e.node.message)[0]).toMatch(/run started \(DELTA\)/)
    expect(first.pageInfo.hasNextPage).toBe(true)
    const rest = (await h.gql(Events, { id: runPipeline.id, first: 100, after: first.pageInfo.endCursor })).run!.events
    const all = [...first.edges, ...rest.edges].map((e) => e.node)
    expect(all).toHaveLength(first.totalCount)
    expect(all.map((e) => e.message)).toContain('stage COMMITTING')
    expect(rest.pageInfo.hasNextPage).toBe(false)
  })
})

describe('overlapping stages', () => {
  let h: Harness
  afterAll(() => h?.stop())

  it('overlaps the stages: finished files are stored while SAP is still sending pages', async () => {
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 60_000 }, latencyMs: 20 } })
    const big = await h.createPipeline({ name: 'rolled', mode: 'FULL', pageSize: 5_000, output: { maxFileMb: 1, rowGroupRows: 1_000 } })
    const { runPipeline: run } = await h.gql(RunPipeline, { id: big.pipelineId })
    const messages = []
    for await (const msg of h.subscribe(RunProgress, { runId: run.id })) messages.push(msg.data!.runProgress)
    const last = messages.at(-1)!
    expect(last).toMatchObject({ status: 'SUCCEEDED', rowsExtracted: '60000' })
    expect(last.filesWritten).toBeGreaterThan(1)
    // at least one file was already stored while rows were still arriving
    const overlapped = messages.find((m) => m.stage === 'EXTRACTING' && m.filesWritten > 0)
    expect(overlapped).toBeDefined()
    expect(Number(overlapped!.rowsExtracted)).toBeLessThan(60_000)
  })
})
