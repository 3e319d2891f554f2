/** Every operation the dashboard sends: typed by codegen into web/gql (npm run codegen). */
import { graphql } from './gql/index.js'

export const Me = graphql(`
  query DashboardMe { me { name role } }
`)

export const Pipelines = graphql(`
  query DashboardPipelines {
    pipelines {
      id name mode schedule timezone enabled nextRunAt
      lastRun { id status stage finishedAt rowsWritten }
    }
  }
`)

graphql(`
  fragment DashboardRunRow on Run {
    id status stage extractionMode trigger rowsExtracted rowsWritten filesWritten bytesWritten
    changeCounts { created updated deleted }
    queuedAt startedAt finishedAt
    error { code message }
    pipeline { id name }
  }
`)

export const Runs = graphql(`
  query DashboardRuns($first: Int, $statusIn: [RunStatus!]) {
    runs(first: $first, statusIn: $statusIn) { totalCount edges { node { ...DashboardRunRow } } }
  }
`)

export const RunDetail = graphql(`
  query DashboardRun($id: ID!) {
    run(id: $id) { ...DashboardRunRow manifestUri cancelRequested files { path rows bytes sha256 } }
  }
`)

export const RunPipeline = graphql(`
  mutation DashboardRunPipeline($id: ID!) { runPipeline(id: $id) { id status } }
`)

export const CancelRun = graphql(`
  mutation DashboardCancelRun($id: ID!) { cancelRun(id: $id) { id status } }
`)

export const ResetDelta = graphql(`
  mutation DashboardResetDelta($pipelineId: ID!) { resetDelta(pipelineId: $pipelineId) { id } }
`)

export const RunProgress = graphql(`
  subscription DashboardRunProgress($runId: ID!) {
    runProgress(runId: $runId) { runId status stage rowsExtracted rowsWritten filesWritten bytesWritten at }
  }
`)

export const RunUpdates = graphql(`
  subscription DashboardRunUpdates { runUpdates { id status stage pipeline { name } } }
`)

export const RunEvents = graphql(`
  subscription DashboardRunEvents($runId: ID!) { runEvents(runId: $runId) { id at level stage message } }
`)
