import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { printedSchema } from '../../src/api/schema/index.js'
import { graphql } from '../gql/index.js'
import { Harness } from '../helpers/harness.js'

const Nested = graphql(`
  query QueriesNested {
    pipelines {
      name
      connection { name odataConfig { serviceUrl } }
      destination { name uri }
      lastRun { id status }
      deltaState { token lastCommittedRun { id } }
      runs(first: 10) {
        totalCount
        edges { node { id status pipeline { name connection { name } } events(first: 2) { edges { node { message } } } } }
      }
    }
  }
`)
const RunsPage = graphql(`
  query QueriesRunsPage($first: Int, $after: String, $pipelineId: ID, $status: RunStatus) {
    runs(first: $first, after: $after, pipelineId: $pipelineId, status: $status) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id status pipeline { id } } }
    }
  }
`)

describe('queries', () => {
  let h: Harness
  let statements = 0
  const pipelineIds: string[] = []
  beforeAll(async () => {
    // no background sweep for lost runs: its statements would land in a measurement now and then
    h = await Harness.start({ onQuery: () => statements++, orchestrator: { sweepEveryMs: 0 } })
  })
  afterAll(() => h?.stop())

  /** SQL statements one GraphQL request costs. */
  async function cost<R>(op: () => Promise<R>): Promise<{ result: R; statements: number }> {
    const before = statements
    const result = await op()
    return { result, statements: statements - before }
  }

  it('answers nested pipelines → runs → pipeline → connection with a bounded number of SQL statements', async () => {
    const { pipelineId } = await h.createPipeline({ name: 'one', mode: 'FULL' })
    pipelineIds.push(pipelineId)
    for (let i = 0; i < 2; i++) await h.run(pipelineId)
    const small = await cost(() => h.gql(Nested))
    expect(small.result.pipelines[0].runs.totalCount).toBe(2)

    // five times the pipelines and runs: the same number of statements
    for (const name of ['two', 'three', 'four', 'five']) {
      const { pipelineId: id } = await h.createPipeline({ name, mode: 'FULL' })
      pipelineIds.push(id)
      for (let i = 0; i < 3; i++) await h.run(id)
    }
    const big = await cost(() => h.gql(Nested))
    expect(big.result.pipelines).toHaveLength(5)
    expect(big.result.pipelines.map((p) => p.runs.edges.length)).toEqual([3, 3, 2, 3, 3]) // five, four, one, three, two
    expect(
      big.result.pipelines.every((p) => p.runs.edges.every((e) => e.node.pipeline.name === p.name && e.node.events.edges.length === 2)),
    ).toBe(true)
    expect(big.statements).toBe(small.statements)
    console.log(`nested query: ${big.statements} SQL statements`)
    expect(big.statements).toBeLessThanOrEqual(12)
  })

  it('pages runs newest first with cursors, filters by pipeline and status, and counts the total', async () => {
    const all = await h.gql(RunsPage, { first: 100 })
    expect(all.runs.totalCount).toBe(14)
    const ids = all.runs.edges.map((e) => e.node.id)
    expect(ids).toEqual([...ids].sort().reverse()) // newest first

    const seen: string[] = []
    let after: string | null | undefined
    do {
      const page = (await h.gql(RunsPage, { first: 4, after })).runs
      expect(page.totalCount).toBe(14)
      seen.push(...page.edges.map((e) => e.node.id))
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null
    } while (after)
    expect(seen).toEqual(ids)

    const mine = await h.gql(RunsPage, { first: 100, pipelineId: pipelineIds[0], status: 'SUCCEEDED' })
    expect(mine.runs.totalCount).toBe(2)
    expect(mine.runs.edges.every((e) => e.node.pipeline.id === pipelineIds[0] && e.node.status === 'SUCCEEDED')).toBe(true)
    expect((await h.gql(RunsPage, { first: 5, status: 'FAILED' })).runs).toMatchObject({ totalCount: 0, edges: [] })
  })
})

describe('GraphiQL', () => {
  let h: Harness
  afterAll(() => h?.stop())

  it('is served from the service itself: a browser behind a firewall loads nothing from the internet', async () => {
    h = await Harness.start()
    const res = await fetch(`${h.app.url}/graphql`, { headers: { accept: 'text/html' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    const page = await res.text()
    expect(page).toContain('<title>delta-extractor</title>')
    expect(page).toMatch(/GraphiQL/)
    // every tag that could fetch something points at nothing outside the page itself
    const fetching = [...page.matchAll(/<(?:script|link)\b[^>]*>/gi)].map((m) => m[0])
    expect(fetching.length).toBeGreaterThan(0)
    for (const tag of fetching) expect(tag).not.toMatch(/\s(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i)
    // Yoga's default GraphiQL comes from these CDNs
    for (const cdn of ['unpkg.com', 'cdn.jsdelivr.net', 'esm.sh']) expect(page).not.toContain(cdn)
  })
})

describe('schema.graphql', () => {
  it('is exactly the schema the code builds (npm run schema:write updates it)', () => {
    expect(readFileSync(join(import.meta.dirname, '../../schema.graphql'), 'utf8')).toBe(printedSchema())
  })
})
