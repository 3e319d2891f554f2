import type { Api } from './api.js'
import { fill, h } from './dom.js'
import { bytes, count } from './format.js'
import type { DashboardRunProgressSubscription, RunStage, RunStatus } from './gql/graphql.js'
import { RunProgress } from './operations.js'
import { throughputChart, type Sample } from './throughput.js'

/** The stages in the order a run passes them: the progress bar's scale (a run's total rows are not known before it ends). */
const STAGES: RunStage[] = ['QUEUED', 'CONNECTING', 'EXTRACTING', 'TRANSFORMING', 'UPLOADING', 'COMMITTING', 'DONE']

export const isActive = (status: RunStatus): boolean => status === 'QUEUED' || status === 'RUNNING'

/** One runProgress message: the run as it stands (the first one is the snapshot). */
export type Progress = DashboardRunProgressSubscription['runProgress']

/**
 * One run followed live through runProgress: stage, a progress bar, counters and the throughput
 * chart, updated in place as events arrive. The subscription ends by itself when the run does.
 * runProgress sends the run as it stands first, so a card opened mid-run shows its counters at once;
 * `onProgress` hands each message on, so other views of the run (a table row, the run page's
 * details) show the same figures instead of those of a query made when the page opened.
 */
export class LiveRun {
  readonly el: HTMLElement
  readonly #samples: Sample[] = []
  readonly #stop: () => void
  readonly #bar = h('progress', { max: STAGES.length - 1, value: 0 })
  readonly #stage = h('span', { 'data-field': 'stage' }, 'QUEUED')
  readonly #status = h('span', { 'data-field': 'status', class: 'status' }, 'QUEUED')
  readonly #counters = h('span', { class: 'counters' })
  readonly #chart = h('div', { class: 'chart' })

  constructor(
    api: Api,
    readonly runId: string,
    title: string,
    actions: HTMLElement[],
    onProgress?: (p: Progress) => void,
  ) {
    this.el = h(
      'article',
      { class: 'live-run', 'data-run-id': runId },
      h('header', {}, h('a', { href: `#/runs/${runId}` }, title), ' ', this.#status, ' ', this.#stage),
      this.#bar,
      this.#counters,
      this.#chart,
      h('div', { class: 'actions' }, ...actions),
    )
    this.#stop = api.subscribe(RunProgress, { runId }, ({ runProgress: p }) => {
      this.#bar.value = STAGES.indexOf(p.stage)
      this.#stage.textContent = p.stage
      this.#status.textContent = p.status
      this.#status.dataset.status = p.status
      fill(
        this.#counters,
        h('span', { 'data-field': 'rows' }, count(p.rowsExtracted)),
        ' rows read · ',
        h('span', { 'data-field': 'rows-written' }, count(p.rowsWritten)),
        ` written · ${p.filesWritten} files · ${bytes(p.bytesWritten)}`,
      )
      // Only readings while the run works count towards its throughput (the first snapshot may be of a run that ended long ago).
      if (p.status === 'RUNNING' || this.#samples.length) this.#samples.push({ at: Date.parse(p.at), rows: Number(p.rowsExtracted) })
      const { chart, summary } = throughputChart(this.#samples)
      fill(this.#chart, chart, h('small', { 'data-field': 'throughput' }, summary))
      this.el.classList.toggle('ended', !isActive(p.status))
      for (const b of this.el.querySelectorAll<HTMLButtonElement>('button[data-action=cancel]')) b.disabled ||= !isActive(p.status)
      onProgress?.(p)
    })
  }

  close(): void {
    this.#stop()
  }
}
