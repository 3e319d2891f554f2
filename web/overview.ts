import { fill, h } from './dom.js'
import { count, duration, time } from './format.js'
import type { DashboardPipelinesQuery, DashboardRunRowFragment } from './gql/graphql.js'
import { isActive, LiveRun, type Progress } from './live-run.js'
import { CancelRun, Pipelines, ResetDelta, RunPipeline, Runs, RunUpdates } from './operations.js'
import { act, mayOperate, type Session } from './session.js'

/** Ended runs stay among the live ones (with their final stage) until newer ones push them out. */
const ENDED_KEPT = 4
const HISTORY_SIZE = 25
/** Status changes come in bursts (QUEUED, RUNNING, each stage): the lists are re-read once per burst. */
const REFRESH_DELAY_MS = 300

/** `/`: pipelines with their last and next run, the runs going on now, and the run history. */
export function overview(s: Session, root: HTMLElement): () => void {
  const pipelines = h('tbody')
  const live = h('div', { class: 'live-runs' })
  const history = h('tbody')
  const following = new Map<string, LiveRun>()
  fill(
    root,
    h(
      'section',
      { id: 'pipelines' },
      h('h2', {}, 'Pipelines'),
      table(['Pipeline', 'Mode', 'Schedule', 'Next run', 'Last run', ''], pipelines),
    ),
    h('section', { id: 'live' }, h('h2', {}, 'Live runs'), live),
    h(
      'section',
      { id: 'history' },
      h('h2', {}, 'Run history'),
      table(['Run', 'Pipeline', 'Status', 'Mode', 'Rows', 'C / U / D', 'Duration', 'Error'], history),
    ),
  )

  const follow = (runId: string, pipelineName: string) => {
    if (following.has(runId)) return
    const cancel = h('button', { type: 'button', 'data-action': 'cancel' }, 'Cancel')
    cancel.addEventListener('click', () => act(s, cancel, () => s.api.mutate(CancelRun, { id: runId })))
    // The history row of a run going on shows the card's figures, not those of the last re-read of the list.
    const run = new LiveRun(s.api, runId, pipelineName, mayOperate(s) ? [cancel] : [], (p) => {
      const row = history.querySelector<HTMLTableRowElement>(`tr[data-run-id="${runId}"]`)
      if (row) showProgress(row, p)
    })
    following.set(runId, run)
    live.prepend(run.el)
    const ended = [...following.values()].filter((r) => r.el.classList.contains('ended'))
    for (const old of ended.slice(ENDED_KEPT)) {
      old.close()
      old.el.remove()
      following.delete(old.runId)
    }
  }

  const loadPipelines = async () => {
    const { pipelines: list } = await s.api.query(Pipelines, {})
    fill(pipelines, ...list.map((p) => pipelineRow(p)))
    if (list.length === 0)
      fill(pipelines, h('tr', {}, h('td', { colspan: 6 }, 'No pipelines yet: create one through the API (GraphiQL at /graphql).')))
  }
  const loadRuns = async () => {
    const { runs } = await s.api.query(Runs, { first: HISTORY_SIZE })
    fill(history, ...runs.edges.map((e) => historyRow(e.node)))
    for (const { node } of runs.edges.slice().reverse()) if (isActive(node.status)) follow(node.id, node.pipeline.name)
  }

  const pipelineRow = (p: DashboardPipelinesQuery['pipelines'][number]) => {
    const actions: HTMLElement[] = []
    if (mayOperate(s)) {
      const run = h('button', { type: 'button', 'data-action': 'run' }, 'Run')
      run.addEventListener('click', () =>
        act(s, run, async () => {
          const { runPipeline } = await s.api.mutate(RunPipeline, { id: p.id })
          follow(runPipeline.id, p.name)
          s.say(`run of ${p.name} queued`)
        }),
      )
      actions.push(run)
      if (p.mode === 'DELTA') {
        const reset = h('button', { type: 'button', 'data-action': 'reset-delta' }, 'Reset delta')
        reset.addEventListener('click', () => {
          if (!confirm(`Reset the delta of ${p.name}? SAP's subscription is terminated; the next run re-reads everything (DELTA_INIT).`))
            return
          void act(s, reset, async () => {
            await s.api.mutate(ResetDelta, { pipelineId: p.id })
            s.say(`delta of ${p.name} reset: the next run is a DELTA_INIT`)
            await loadPipelines()
          })
        })
        actions.push(reset)
      }
    }
    const last = p.lastRun
    return h(
      'tr',
      { 'data-pipeline-id': p.id },
      h('td', {}, p.name),
      h('td', {}, p.mode),
      h('td', {}, p.schedule ? `${p.schedule}${p.timezone ? ` (${p.timezone})` : ''}${p.enabled ? '' : ' – disabled'}` : 'on request'),
      h('td', { 'data-field': 'next-run' }, p.nextRunAt ? time(p.nextRunAt) : '–'),
      h(
        'td',
        { 'data-field': 'last-run' },
        last
          ? h('a', { href: `#/runs/${last.id}` }, `${last.status} · ${count(last.rowsWritten)} rows · ${time(last.finishedAt)}`)
          : 'never',
      ),
      h('td', { class: 'actions' }, ...actions),
    )
  }

  let refresh: ReturnType<typeof setTimeout> | undefined
  const reload = () => Promise.all([loadPipelines(), loadRuns()]).catch((e: Error) => s.say(e.message, 'error'))
  const stopUpdates = s.api.subscribe(RunUpdates, {}, ({ runUpdates: r }) => {
    if (isActive(r.status)) follow(r.id, r.pipeline.name)
    clearTimeout(refresh)
    refresh = setTimeout(reload, REFRESH_DELAY_MS)
  })
  void reload()
  return () => {
    clearTimeout(refresh)
    stopUpdates()
    for (const r of following.values()) r.close()
  }
}

export function historyRow(r: DashboardRunRowFragment): HTMLTableRowElement {
  const c = r.changeCounts
  return h(
    'tr',
    { 'data-run-id': r.id },
    h('td', {}, h('a', { href: `#/runs/${r.id}` }, r.id.slice(-8))),
    h('td', {}, r.pipeline.name),
    h('td', { class: 'status', 'data-field': 'status', 'data-status': r.status }, r.status),
    h('td', {}, r.extractionMode),
    h('td', { 'data-field': 'rows' }, count(r.rowsWritten)),
    h('td', {}, c ? `${count(c.created)} / ${count(c.updated)} / ${count(c.deleted)}` : '–'),
    h('td', {}, duration(r.startedAt, r.finishedAt)),
    h('td', { class: 'error' }, r.error ? `${r.error.code}: ${r.error.message}` : ''),
  )
}

/** Brings a run's row (historyRow) to a runProgress message: its status and rows written. */
export function showProgress(row: HTMLTableRowElement, p: Progress): void {
  const status = row.querySelector<HTMLElement>('[data-field=status]')
  if (status) {
    status.textContent = p.status
    status.dataset.status = p.status
  }
  const rows = row.querySelector('[data-field=rows]')
  if (rows) rows.textContent = count(p.rowsWritten)
}

export const table = (headings: string[], body: HTMLTableSectionElement): HTMLTableElement =>
  h('table', {}, h('thead', {}, h('tr', {}, ...headings.map((t) => h('th', {}, t)))), body)
