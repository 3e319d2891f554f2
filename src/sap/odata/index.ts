/** ODP over OData v2: the client the orchestrator and the API layer use. */
export { ODataOdpClient } from './client.js'
export type {
  ClientOptions,
  DeltaLinkEntry,
  EntitySetInfo,
  ODataConnection,
  Page,
  ReadEnd,
  ReadMode,
  ReadRequest,
  ReadResult,
} from './types.js'
export { ODataSource } from './source.js'
export { observedFetch } from './observed-fetch.js'
