/**
 * What GraphiQL opens with instead of its library's welcome text: the first three things a new
 * user does, as operations to pick from the ▶ button. test/unit/graphiql-example.test.ts holds it
 * against the schema, so it keeps working as the schema changes.
 */
export const GRAPHIQL_EXAMPLE = `# delta-extractor. Put your API token into the Headers tab below, then press ▶ and pick an
# operation. Ids come from the answers: copy them into the Variables tab.

# 1. Your pipelines and how their last run went
query Pipelines {
  pipelines { id name mode schedule lastRun { id status stage rowsWritten finishedAt error { code message } } }
}

# 2. Run one now (variables: { "pipelineId": "…" }); it returns at once, QUEUED
mutation RunPipeline($pipelineId: ID!) {
  runPipeline(id: $pipelineId) { id status extractionMode }
}

# 3. Follow that run until it ends (variables: { "runId": "…" })
subscription FollowRun($runId: ID!) {
  runProgress(runId: $runId) { status stage rowsExtracted rowsWritten filesWritten bytesWritten }
}
`
