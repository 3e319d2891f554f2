import { parse } from 'graphql'

/**
 * The GraphQL operations REST executes. What an answer holds is chosen here once per type, so
 * every route returns the same shape of an object (and /openapi.json describes it from these
 * selections). Secrets are not in the schema at all: only hasPassword and hasCredentials.
 */
const FRAGMENTS: Record<string, string> = Object.fromEntries(
  `
fragment RestConnection on Connection {
  id number name protocol
  odataConfig { serviceUrl sapClient user language hasPassword }
  rfcConfig { ashost sysnr client user lang mshost msserv group sysid saprouter hasPassword }
  createdAt updatedAt
}
fragment RestDestination on Destination {
  id number name kind uri hasCredentials
  local { path }
  azureBlob { container prefix accountUrl accountName auth blockSizeMb uploadConcurrency }
  s3 { bucket prefix region endpoint forcePathStyle accessKeyId usesDefaultCredentials partSizeMb uploadConcurrency }
  createdAt updatedAt
}
fragment RestPipeline on Pipeline {
  id number name
  connection { id number name }
  destination { id number name }
  source { kind entitySet odpContext odpName table fields filter watermarkField pageSize }
  mode schedule timezone enabled nextRunAt
  output { pathTemplate compression rowGroupRows maxFileMb successMarker table currentState schemaChanges }
  lastRun { id status stage queuedAt finishedAt }
  createdAt updatedAt
}
fragment RestRun on Run {
  id
  pipeline { id number name }
  status stage extractionMode trigger attempt
  rowsExtracted rowsWritten filesWritten bytesWritten
  changeCounts { created updated deleted }
  deltaTokenIn deltaTokenOut manifestUri
  error { code message retryable }
  cancelRequested queuedAt startedAt finishedAt
}`
    .split(/\n(?=fragment )/)
    .filter((f) => f.trim())
    .map((f) => [/fragment (\w+)/.exec(f)![1], f.trim()]),
)

/** An operation with the fragments it spreads (GraphQL refuses a document with an unused one). */
const op = (text: string) => {
  const used = [...text.matchAll(/\.\.\.(\w+)/g)].map((m) => FRAGMENTS[m[1]])
  return parse([text, ...used].join('\n'), { noLocation: true })
}

export const OPERATIONS = {
  listConnections: op('query RestConnections { connections { ...RestConnection } }'),
  getConnection: op('query RestConnection($id: ID!) { connection(id: $id) { ...RestConnection } }'),
  createConnection: op(
    'mutation RestCreateConnection($input: CreateConnectionInput!) { createConnection(input: $input) { ...RestConnection } }',
  ),
  updateConnection: op(
    'mutation RestUpdateConnection($id: ID!, $input: UpdateConnectionInput!) { updateConnection(id: $id, input: $input) { ...RestConnection } }',
  ),
  deleteConnection: op('mutation RestDeleteConnection($id: ID!) { deleteConnection(id: $id) }'),
  listDestinations: op('query RestDestinations { destinations { ...RestDestination } }'),
  getDestination: op('query RestDestination($id: ID!) { destination(id: $id) { ...RestDestination } }'),
  createDestination: op(
    'mutation RestCreateDestination($input: CreateDestinationInput!) { createDestination(input: $input) { ...RestDestination } }',
  ),
  updateDestination: op(
    'mutation RestUpdateDestination($id: ID!, $input: UpdateDestinationInput!) { updateDestination(id: $id, input: $input) { ...RestDestination } }',
  ),
  deleteDestination: op('mutation RestDeleteDestination($id: ID!) { deleteDestination(id: $id) }'),
  listPipelines: op('query RestPipelines { pipelines { ...RestPipeline } }'),
  getPipeline: op('query RestPipeline($id: ID!) { pipeline(id: $id) { ...RestPipeline } }'),
  createPipeline: op('mutation RestCreatePipeline($input: CreatePipelineInput!) { createPipeline(input: $input) { ...RestPipeline } }'),
  updatePipeline: op(
    'mutation RestUpdatePipeline($id: ID!, $input: UpdatePipelineInput!) { updatePipeline(id: $id, input: $input) { ...RestPipeline } }',
  ),
  deletePipeline: op('mutation RestDeletePipeline($id: ID!, $force: Boolean) { deletePipeline(id: $id, force: $force) }'),
  runPipeline: op(
    'mutation RestRunPipeline($id: ID!, $mode: ExtractionMode, $takeover: Boolean) { runPipeline(id: $id, mode: $mode, takeover: $takeover) { ...RestRun } }',
  ),
  listRuns: op(
    'query RestRuns($first: Int, $after: String, $pipelineId: ID, $status: RunStatus) { runs(first: $first, after: $after, pipelineId: $pipelineId, status: $status) { totalCount pageInfo { hasNextPage endCursor } edges { node { ...RestRun } } } }',
  ),
  getRun: op('query RestRun($id: ID!) { run(id: $id) { ...RestRun } }'),
  cancelRun: op('mutation RestCancelRun($id: ID!) { cancelRun(id: $id) { ...RestRun } }'),
}
