import { fill, h } from './dom.js'
import { bytes, count, duration, time } from './format.js'
import { isActive, LiveRun, type Progress } from './live-run.js'
import { CancelRun, RunDetail, RunEvents } from './operations.js'
import type { RunStatus } from './gql/graphql.js'
import { historyRow, showProgress, table } from './overview.js'
import { act, mayOperate, type Session } from './session.js'

/** `#/runs/<id>`: the run live (stage, progress, throughput), its log as it is written, and its manifest's files once committed. */
export function runPage(s: Session, root: HTMLElement, runId: string): () => void {
  const summary = h('tbody')
  const details = h('dl', { class: 'details' })
  const events = h('tbody')
  const files = h('tbody')
  const cancel = h('button', { type: 'button', 'data-action': 'cancel' }, 'Cancel')
  cancel.addEventListener('click', () => act(s, cancel, () => s.api.mutate(CancelRun, { id: runId })))
  // The summary and details come from a query made when the page opened; while the run goes on,
  // its status, rows and files follow the live card's runProgress messages (snapshot first), and
  // the last message is applied again over a query answer that arrived after it.
  let latest: Progress | undefined
  const showLatest = () => {
    if (!latest) return
    const row = summary.querySelector('tr')
    if (row) showProgress(row, latest)
    const files = details.querySelector('[data-field=files]')
    if (files) files.textContent = filesOf(latest)
  }
  const live = new LiveRun(s.api, runId, `run ${runId}`, mayOperate(s) ? [cancel] : [], (p) => {
    latest = p
    showLatest()
  })
  fill(
    root,
    h('p', {}, h('a', { href: '#/' }, '← all pipelines and runs')),
    h(
      'section',
      { id: 'run' },
      h('h2', {}, 'Run'),
      live.el,
      table(['Run', 'Pipeline', 'Status', 'Mode', 'Rows', 'C / U / D', 'Duration', 'Error'], summary),
      details,
    ),
    h('section', { id: 'events' }, h('h2', {}, 'Events'), table(['Time', 'Level', 'Stage', 'Message'], events)),
    h('section', { id: 'files' }, h('h2', {}, 'Files (manifest.json)'), table(['Path', 'Rows', 'Size', 'SHA-256'], files)),
  )

  const load = async () => {
    const { run } = await s.api.query(RunDetail, { id: runId })
    if (!run) return fill(root, h('p', { class: 'error' }, `No run ${runId}.`), h('a', { href: '#/' }, 'back'))
    fill(summary, historyRow(run))
    fill(
      details,
      ...[
        ['Queued', time(run.queuedAt)],
        ['Started', time(run.startedAt)],
        ['Finished', time(run.finishedAt)],
        ['Duration', duration(run.startedAt, run.finishedAt)],
        ['Trigger', run.trigger],
        ['Files', filesOf(run)],
        ['Manifest', run.manifestUri ?? 'not committed'],
      ].flatMap(([k, v]) => [h('dt', {}, k), h('dd', { 'data-field': k.toLowerCase() }, v)]),
    )
    // A snapshot the query predates wins: counters only grow, and a query answer may arrive after it.
    if (latest && Number(latest.rowsExtracted) >= Number(run.rowsExtracted)) showLatest()
    if (run.files?.length)
      fill(
        files,
        ...run.files.map((f) =>
          h(
            'tr',
            {},
            h('td', {}, f.path),
            h('td', {}, count(f.rows)),
            h('td', {}, bytes(f.bytes)),
            h('td', { title: f.sha256 }, `${f.sha256.slice(0, 12)}…`),
          ),
        ),
      )
    else fill(files, h('tr', {}, h('td', { colspan: 4 }, noFiles(run.status, run.files))))
  }

  // The whole log, then each line as it is written; the subscription completes after the run's last line, when the run is over.
  const stopEvents = s.api.subscribe(
    RunEvents,
    { runId },
    ({ runEvents: e }) =>
      events.append(
        h('tr', { class: `level-${e.level}` }, h('td', {}, time(e.at)), h('td', {}, e.level), h('td', {}, e.stage), h('td', {}, e.message)),
      ),
    () => void load().catch((e: Error) => s.say(e.message, 'error')),
  )
  void load().catch((e: Error) => s.say(e.message, 'error'))
  return () => {
    stopEvents()
    live.close()
  }
}

const filesOf = (r: { filesWritten: number; bytesWritten: string }): string => `${r.filesWritten} · ${bytes(r.bytesWritten)}`

const noFiles = (status: RunStatus, files: unknown[] | null): string => {
  if (files) return 'The manifest lists no files: the run read no rows.'
  return isActive(status) ? 'Listed once the run is committed.' : 'This run wrote no manifest.'
}
