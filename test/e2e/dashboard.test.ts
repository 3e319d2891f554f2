/**
 * Issue 12 point 3: the dashboard at `/`, driven in real headless Chromium (Debian's `chromium`
 * through playwright-core) as an operator would use it. The test sets up through the API only; on
 * the page it signs in with the token, starts a run, watches it reach DONE live, reads the run's
 * events and files, and cancels a second run. DOM values are held against the simulator's table and
 * the API. Screenshots go to test-output/dashboard/.
 */
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildDashboard } from '../../scripts/build-dashboard.js'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import { graphql } from '../gql/index.js'
import { FaultProxy, type Matcher } from '../helpers/fault-proxy.js'
import { Harness } from '../helpers/harness.js'

const BROWSER = ['/usr/bin/chromium', '/usr/bin/chromium-browser', process.env.CHROMIUM_PATH].find((p) => p && existsSync(p))
const SCREENSHOTS = join(import.meta.dirname, '../../test-output/dashboard')
const ROWS = 3000

if (!BROWSER)
  console.warn('dashboard.test.ts SKIPPED: no Chromium at /usr/bin/chromium (apt-get install -y chromium, or set CHROMIUM_PATH)')

const RunNow = graphql(`
  mutation DashboardTestRunNow($id: ID!) { runPipeline(id: $id) { id } }
`)
/** A data page of the entity set (not $metadata). */
const isDataPage: Matcher = (r) => r.path.endsWith(`/${SALES_ITEMS}`)
const SetSchedule = graphql(`
  mutation DashboardTestSchedule($id: ID!) { updatePipeline(id: $id, input: { schedule: "0 3 * * *" }) { nextRunAt } }
`)
const CreateToken = graphql(`
  mutation DashboardTestToken($name: String!) { createApiToken(name: $name, role: VIEWER) { token } }
`)
const RunSeen = graphql(`
  query DashboardTestRun($id: ID!) {
    run(id: $id) { status rowsWritten filesWritten error { code } files { path } events(first: 1000) { edges { node { message } } } }
  }
`)

// One run is enough: the page talks to the API, which the database projects cover elsewhere.
describe.skipIf(!BROWSER || process.env.TEST_DB === 'postgres')('the dashboard in headless Chromium', () => {
  let h: Harness
  let browser: Browser
  let page: Page
  let pipelineId: string
  let nextRunAt: string
  const pageErrors: string[] = []
  const foreignRequests: string[] = []

  beforeAll(async () => {
    await buildDashboard()
    await mkdir(SCREENSHOTS, { recursive: true })
    // 30 pages of 100 rows, 60 ms each: a run of about two seconds, long enough to be watched.
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: ROWS }, latencyMs: 60 } })
    ;({ pipelineId } = await h.createPipeline({ mode: 'DELTA', name: 'sales' }))
    nextRunAt = (await h.gql(SetSchedule, { id: pipelineId })).updatePipeline.nextRunAt!
    browser = await chromium.launch({
      executablePath: BROWSER,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    })
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    page.on('pageerror', (e) => pageErrors.push(e.message))
    page.on('request', (r) => new URL(r.url()).origin !== h.app.url && foreignRequests.push(r.url()))
  })
  afterAll(async () => {
    await browser?.close()
    await h?.stop()
  })

  const card = (runId: string) => page.locator(`.live-run[data-run-id="${runId}"]`)
  const stageOf = (runId: string) => card(runId).locator('[data-field=stage]')

  it('asks for the token once, keeps it in the tab only, and lists the pipeline with its next scheduled run', async () => {
    await page.goto(`${h.app.url}/`)
    const html = await page.content()
    expect(html).not.toContain(h.adminToken)
    await page.fill('#sign-in input[name=token]', h.adminToken)
    await page.click('#sign-in button[type=submit]')
    await page.locator('[data-field=role]').filter({ hasText: '(ADMIN)' }).waitFor()

    const row = page.locator(`tr[data-pipeline-id="${pipelineId}"]`)
    await row.waitFor()
    const shown = await page.evaluate((iso) => new Date(iso).toLocaleString('en-GB', { hour12: false }), nextRunAt)
    expect(await row.locator('[data-field=next-run]').textContent()).toBe(shown)
    expect(await row.locator('[data-field=last-run]').textContent()).toBe('never')

    expect(page.url()).not.toContain(h.adminToken)
    expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([h.adminToken])
    expect(await page.evaluate(() => Object.keys(localStorage))).toEqual([])
    // A reload keeps the session: no form again.
    await page.reload()
    await page.locator('[data-field=role]').waitFor()
    expect(await page.locator('#sign-in').count()).toBe(0)
  })

  it('starts a run and follows it live to DONE, with the rows SAP holds and a throughput line', async () => {
    await page.click(`tr[data-pipeline-id="${pipelineId}"] button[data-action=run]`)
    const runId = await page.locator('.live-run').first().getAttribute('data-run-id')
    expect(runId).toBeTruthy()
    // Seen while it works, then done: the page changes without a reload (runProgress over graphql-ws).
    await stageOf(runId!).filter({ hasText: 'EXTRACTING' }).waitFor({ timeout: 20_000 })
    await page.screenshot({ path: join(SCREENSHOTS, 'run-extracting.png') })
    await stageOf(runId!).filter({ hasText: 'DONE' }).waitFor({ timeout: 30_000 })

    const c = card(runId!)
    expect(await c.locator('[data-field=status]').textContent()).toBe('SUCCEEDED')
    expect(
      await c.locator('progress').evaluate((p) => [(p as unknown as { value: number }).value, (p as unknown as { max: number }).max]),
    ).toEqual([6, 6])
    const rowsShown = Number((await c.locator('[data-field=rows-written]').textContent())!.replaceAll(',', ''))
    expect(rowsShown).toBe(h.sim.admin.rowCount(SALES_ITEMS))
    expect(rowsShown).toBe(ROWS)
    expect(await c.locator('[data-field=throughput]').textContent()).toMatch(/^peak [\d,]+ rows\/s · average [\d,]+ rows\/s$/)
    expect(await c.locator('svg.throughput polyline').count()).toBe(1)

    // The history and the pipeline's last run follow (runUpdates), as the API has it.
    const run = (await h.gql(RunSeen, { id: runId! })).run!
    expect(run.rowsWritten).toBe(String(ROWS))
    const historyRow = page.locator(`#history tr[data-run-id="${runId}"]`)
    await historyRow.locator('[data-status=SUCCEEDED]').waitFor()
    expect(await historyRow.locator('[data-field=rows]').textContent()).toBe('3,000')
    await page.locator(`tr[data-pipeline-id="${pipelineId}"] [data-field=last-run]`).filter({ hasText: 'SUCCEEDED · 3,000 rows' }).waitFor()
    await page.screenshot({ path: join(SCREENSHOTS, 'overview.png'), fullPage: true })

    // Its page: the events the API lists, and the manifest's files.
    await c.locator('header a').click()
    await page.locator('#files tbody tr td').first().waitFor()
    await page
      .locator('#events tbody tr')
      .nth(run.events.edges.length - 1)
      .waitFor()
    expect(await page.locator('#events tbody tr td:nth-child(4)').allTextContents()).toEqual(run.events.edges.map((e) => e.node.message))
    expect(await page.locator('#files tbody tr td:first-child').allTextContents()).toEqual(run.files!.map((f) => f.path))
    expect(run.files!.length).toBe(run.filesWritten)
    await page.screenshot({ path: join(SCREENSHOTS, 'run.png'), fullPage: true })
  })

  it('cancels a second run from its page while its events stream in', async () => {
    // A delta of three pages whose second waits a minute: the run stays EXTRACTING until cancelled.
    h.sim.admin.insert(SALES_ITEMS, 300)
    h.sim.admin.injectFault({ kind: 'slow', page: 2, read: 'delta', delayMs: 60_000 })
    await page.click('a[href="#/"]')
    await page.click(`tr[data-pipeline-id="${pipelineId}"] button[data-action=run]`)
    const runId = await page.locator('.live-run:not(.ended)').first().getAttribute('data-run-id')
    await stageOf(runId!).filter({ hasText: 'EXTRACTING' }).waitFor({ timeout: 20_000 })
    // The first page's rows, live. (Checked here: a card opened later starts from the stored counters, written about once a second.)
    await card(runId!).locator('[data-field=rows]').filter({ hasText: /^100$/ }).waitFor()
    await card(runId!).locator('header a').click()

    const messages = page.locator('#events tbody tr td:nth-child(4)')
    await messages.filter({ hasText: 'stage EXTRACTING' }).waitFor()
    await page.locator('#files tbody').filter({ hasText: 'Listed once the run is committed.' }).waitFor()
    await page.screenshot({ path: join(SCREENSHOTS, 'run-live.png'), fullPage: true })
    await card(runId!).locator('button[data-action=cancel]').click()
    await card(runId!).locator('[data-field=status]').filter({ hasText: 'CANCELLED' }).waitFor({ timeout: 20_000 })
    // The log's last lines arrive on the open subscription, then the page re-reads the run.
    await messages
      .filter({ hasText: /cancel/i })
      .first()
      .waitFor()
    await page.locator('#run tbody td.error').filter({ hasText: 'CANCELLED' }).waitFor()
    expect(await card(runId!).locator('button[data-action=cancel]').isDisabled()).toBe(true)
    await page.screenshot({ path: join(SCREENSHOTS, 'cancelled.png'), fullPage: true })
    h.sim.admin.clearFaults()

    const run = (await h.gql(RunSeen, { id: runId! })).run!
    expect([run.status, run.error?.code]).toEqual(['CANCELLED', 'CANCELLED'])
    expect(await messages.allTextContents()).toEqual(run.events.edges.map((e) => e.node.message))
  })

  it("a run's page opened before its rows arrive shows them as they come, not the figures of when it opened", async () => {
    const proxy = await FaultProxy.start(() => Number(new URL(h.sim.serviceUrl).port))
    const first = proxy.holdAnswer(isDataPage)
    let second: ReturnType<FaultProxy['holdAnswer']> | undefined
    try {
      // Row groups of 1,000 rows, pages of 1,000: each page is written (rowsWritten) as soon as it is read.
      const { pipelineId: held } = await h.createPipeline({
        name: 'held',
        mode: 'FULL',
        pageSize: 1_000,
        output: { rowGroupRows: 1_000 },
        serviceUrl: proxy.url + new URL(h.sim.serviceUrl).pathname,
      })
      const { runPipeline } = await h.gql(RunNow, { id: held })
      await first.arrived
      second = proxy.holdAnswer(isDataPage) // the run stays RUNNING on page 2 until the end of the test
      await page.click('a[href="#/"]')
      await page.evaluate((id) => (location.hash = `#/runs/${id}`), runPipeline.id)
      const summary = page.locator('#run tbody tr')
      await summary.locator('[data-field=status]').filter({ hasText: 'RUNNING' }).waitFor()
      expect(await summary.locator('[data-field=rows]').textContent()).toBe('0')

      first.release()
      await second.arrived
      // Page 1 is written while the run waits for page 2: the page shows it without being reloaded.
      await summary
        .locator('[data-field=rows]')
        .filter({ hasText: /^1,000$/ })
        .waitFor()
      expect(await summary.locator('[data-field=status]').textContent()).toBe('RUNNING')
      expect(await card(runPipeline.id).locator('[data-field=rows-written]').textContent()).toBe('1,000')
      second.release()
      await summary.locator('[data-field=status]').filter({ hasText: 'SUCCEEDED' }).waitFor({ timeout: 20_000 })
      const run = (await h.gql(RunSeen, { id: runPipeline.id })).run!
      await summary
        .locator('[data-field=rows]')
        .filter({ hasText: Number(run.rowsWritten).toLocaleString('en') })
        .waitFor()
      await page
        .locator('#run [data-field=files]')
        .filter({ hasText: new RegExp(`^${run.filesWritten} · `) })
        .waitFor()
    } finally {
      first.release()
      second?.release()
      await proxy.close()
    }
  })

  it('shows a viewer no operator buttons', async () => {
    const { createApiToken } = await h.gql(CreateToken, { name: 'dashboard-viewer' })
    const viewer = await browser.newPage()
    try {
      await viewer.goto(`${h.app.url}/`)
      await viewer.fill('#sign-in input[name=token]', createApiToken.token)
      await viewer.click('#sign-in button[type=submit]')
      await viewer.locator(`tr[data-pipeline-id="${pipelineId}"]`).waitFor()
      expect(await viewer.locator('[data-field=role]').textContent()).toBe('dashboard-viewer (VIEWER)')
      expect(await viewer.locator('button[data-action]').count()).toBe(0)
    } finally {
      await viewer.close()
    }
  })

  it('asks again for a token the service refuses, loaded nothing from elsewhere and threw no error', async () => {
    const other = await browser.newPage()
    try {
      await other.goto(`${h.app.url}/`)
      await other.fill('#sign-in input[name=token]', 'dex_not_a_token')
      await other.click('#sign-in button[type=submit]')
      await other.locator('#status-line.error').filter({ hasText: 'refused this token' }).waitFor()
      expect(await other.evaluate(() => sessionStorage.length)).toBe(0)
    } finally {
      await other.close()
    }
    expect(foreignRequests).toEqual([])
    expect(pageErrors).toEqual([])
  })
})
