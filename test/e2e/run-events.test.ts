import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import type { RunEventsRunsQueryVariables } from '../gql/graphql.js'
import { graphql } from '../gql/index.js'
import { FaultProxy, type Matcher } from '../helpers/fault-proxy.js'
import { Harness } from '../helpers/harness.js'

const RunPipeline = graphql(`mutation RunEventsRun($id: ID!) { runPipeline(id: $id) { id } }`)
const CancelRun = graphql(`mutation RunEventsCancel($id: ID!) { cancelRun(id: $id) { id status } }`)
const EventsPage = graphql(`
  query RunEventsPage($runId: ID!, $first: Int, $after: String) {
    runEvents(runId: $runId, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id cursor level stage message data } }
    }
  }
`)
const Follow = graphql(`
  subscription RunEventsFollow($runId: ID!, $after: String) { runEvents(runId: $runId, after: $after) { id cursor level stage message data } }
`)
const Runs = graphql(`
  query RunEventsRuns($pipelineId: ID, $connectionId: ID, $status: RunStatus, $statusIn: [RunStatus!], $trigger: RunTrigger, $queuedFrom: DateTime, $queuedBefore: DateTime) {
    runs(first: 50, pipelineId: $pipelineId, connectionId: $connectionId, status: $status, statusIn: $statusIn, trigger: $trigger, queuedFrom: $queuedFrom, queuedBefore: $queuedBefore) {
      totalCount
      edges { node { id status trigger queuedAt } }
    }
  }
`)

/** A data page of the entity set (not $metadata). */
const isDataPage: Matcher = (r) => r.path.endsWith(`/${SALES_ITEMS}`)

type Line = { id: string; cursor: string; level: string; stage: string; message: string; data?: unknown }

describe('run events', () => {
  let h: Harness
  let proxy: FaultProxy
  let pipelineId: string
  let connectionId: string
  beforeAll(async () => {
    // 20 pages of 100 rows, 40 ms each: a run lasts about a second, long enough to join it midway;
    // SAP is reached through a proxy that can hold a page, for a cancel that must find the run running
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 2_000 }, latencyMs: 40 } })
    proxy = await FaultProxy.start(() => Number(new URL(h.sim.serviceUrl).port))
    ;({ pipelineId, connectionId } = await h.createPipeline({ pageSize: 100, serviceUrl: proxy.url + new URL(h.sim.serviceUrl).pathname }))
  })
  afterAll(async () => {
    await h?.stop()
    await proxy?.close()
  })

  /** The whole stored log of a run, paged through the query three lines at a time. */
  async function storedLog(runId: string): Promise<Line[]> {
    const lines: Line[] = []
    let after: string | null | undefined
    for (;;) {
      const page = (await h.gql(EventsPage, { runId, first: 3, after })).runEvents
      lines.push(...page.edges.map((e) => (expect(e.cursor).toBe(e.node.cursor), e.node)))
      if (!page.pageInfo.hasNextPage) {
        expect(lines).toHaveLength(page.totalCount)
        return lines
      }
      after = page.pageInfo.endCursor
    }
  }

  /** Follows the subscription until it completes (or `stopAfter` lines, then disconnects). */
  async function follow(runId: string, after?: string, stopAfter = Infinity): Promise<{ lines: Line[]; completed: boolean }> {
    const lines: Line[] = []
    for await (const msg of h.subscribe(Follow, { runId, after })) {
      if (msg.errors) throw new Error(JSON.stringify(msg.errors))
      lines.push(msg.data!.runEvents)
      if (lines.length === stopAfter) return { lines, completed: false }
    }
    return { lines, completed: true }
  }

  const ids = (lines: Line[]) => lines.map((l) => Number(l.id))

  it('a subscriber that joins at the start, drops after two lines and resumes from the last cursor gets every line once, in order, and completes after the last', async () => {
    const { runPipeline: run } = await h.gql(RunPipeline, { id: pipelineId })
    const first = await follow(run.id, undefined, 2) // run started, stage EXTRACTING
    expect((await h.gql(RunDetailsStatus, { id: run.id })).run!.status).not.toBe('SUCCEEDED') // resumed while it still runs
    const rest = await follow(run.id, first.lines.at(-1)!.cursor)
    expect(rest.completed).toBe(true)

    const stored = await storedLog(run.id)
    expect([...first.lines, ...rest.lines]).toEqual(stored)
    expect(ids(stored)).toEqual([...ids(stored)].sort((a, b) => a - b))
    expect(new Set(ids(stored)).size).toBe(stored.length)
    expect(stored[0].message).toBe('run started (DELTA_INIT)')
    expect(stored.map((l) => l.message)).toContain('stage COMMITTING')
    expect(stored.at(-1)).toMatchObject({ message: 'run committed', stage: 'DONE', level: 'info' })
  })

  it('on an ended run the subscription sends the stored lines after the cursor and completes; after the last cursor it completes at once', async () => {
    const { runPipeline: run } = await h.gql(RunPipeline, { id: pipelineId })
    await h.waitForRun(run.id)
    const stored = await storedLog(run.id)
    expect((await follow(run.id)).lines).toEqual(stored)
    expect((await follow(run.id, stored[1].cursor)).lines).toEqual(stored.slice(2))
    expect(await follow(run.id, stored.at(-1)!.cursor)).toEqual({ lines: [], completed: true })
  })

  it("a cancelled run's log ends with the cancel request and the cancellation, and the subscription completes after them", async () => {
    // The first data page is held: the cancel finds the run reading, however slow the machine is.
    const page = proxy.holdAnswer(isDataPage)
    const { runPipeline: run } = await h.gql(RunPipeline, { id: pipelineId })
    const live = h.subscribe(Follow, { runId: run.id })
    const lines: Line[] = []
    const first = await live.next()
    expect(first.done).toBe(false)
    lines.push(first.value.data!.runEvents)
    await page.arrived
    expect((await h.gql(CancelRun, { id: run.id })).cancelRun.status).toBe('CANCELLED')
    page.release()
    for await (const msg of live) lines.push(msg.data!.runEvents)
    expect(lines).toEqual(await storedLog(run.id))
    expect(lines.slice(-2)).toMatchObject([
      { level: 'warn', message: 'cancel requested' },
      { level: 'warn', data: { code: 'CANCELLED' } },
    ])
  })

  it('refuses an unknown run and a cursor that is not a run event cursor', async () => {
    const errors = async (runId: string, after?: string) => {
      const out = []
      for await (const msg of h.subscribe(Follow, { runId, after })) out.push(msg)
      return out
    }
    expect(await errors('nope')).toEqual([
      { errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'NOT_FOUND' }) })] },
    ])
    const { runPipeline: run } = await h.gql(RunPipeline, { id: pipelineId })
    await h.waitForRun(run.id)
    expect(await errors(run.id, 'garbage')).toEqual([
      { errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) })] },
    ])
  })

  it('filters runs by status, pipeline, connection, trigger and the time they were queued', async () => {
    const other = await h.createPipeline({ name: 'other', mode: 'FULL', pageSize: 1_000 })
    const before = new Date()
    const otherRun = await h.run(other.pipelineId)
    const all = (await h.gql(Runs, {})).runs.edges.map((e) => e.node)
    const idsOf = async (filter: RunEventsRunsQueryVariables) => (await h.gql(Runs, filter)).runs.edges.map((e) => e.node.id).sort()
    const expected = (keep: (r: (typeof all)[number]) => boolean) =>
      all
        .filter(keep)
        .map((r) => r.id)
        .sort()

    expect(await idsOf({ connectionId: other.connectionId })).toEqual([otherRun.id])
    expect(await idsOf({ connectionId })).toEqual(expected((r) => r.id !== otherRun.id))
    expect(await idsOf({ pipelineId: other.pipelineId })).toEqual([otherRun.id])
    expect(await idsOf({ statusIn: ['CANCELLED', 'FAILED'] })).toEqual(expected((r) => r.status === 'CANCELLED' || r.status === 'FAILED'))
    expect(await idsOf({ statusIn: ['CANCELLED'] })).toHaveLength(1)
    expect(await idsOf({ status: 'SUCCEEDED', statusIn: ['CANCELLED'] })).toEqual([])
    expect(await idsOf({ trigger: 'API' })).toEqual(expected(() => true))
    expect(await idsOf({ trigger: 'SCHEDULE' })).toEqual([])
    expect(await idsOf({ queuedFrom: before.toISOString() })).toEqual([otherRun.id])
    expect(await idsOf({ queuedBefore: before.toISOString() })).toEqual(expected((r) => r.id !== otherRun.id))
    expect(await idsOf({ queuedFrom: before.toISOString(), queuedBefore: before.toISOString() })).toEqual([])
  })
})

const RunDetailsStatus = graphql(`query RunEventsStatus($id: ID!) { run(id: $id) { status } }`)
