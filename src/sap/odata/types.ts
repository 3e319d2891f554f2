/**
 * Public shapes of the ODP-over-OData client. The orchestrator and the API layer code against these
 * names; keep them stable.
 */
import type { Column, Row } from '../fields.js'
import type { SapLog } from '../log.js'

/** Where and as whom to reach one SAP Gateway OData service. */
export interface ODataConnection {
  /** e.g. `http://host:port/sap/opu/odata/sap/ZDELTA_DEMO_SRV` (a trailing slash is tolerated). */
  serviceUrl: string
  /** Sent as the `sap-client` query parameter on every request. */
  sapClient?: string
  user?: string
  /** Only ever sent inside the Authorization header; never logged, never in an error message. */
  password?: string
  /** Sent as `sap-language`. */
  language?: string
  /** Per HTTP request, body included (default 120_000). */
  timeoutMs?: number
}

export interface ClientOptions {
  /** Transient retries per request (default 4). */
  retries?: number
  /** Base backoff in ms (default 500); exponential with full jitter, capped; Retry-After wins on 503/429. */
  backoffMs?: number
  log?: SapLog
  /** Injectable for tests; defaults to the global fetch. */
  fetch?: typeof fetch
}

export interface EntitySetInfo {
  entitySet: string
  /** Every property of the entity type, in `$metadata` order. */
  columns: Column[]
  /** `sap:change-tracking="true"` or a `DeltaLinksOf<ES>` set exists. */
  deltaCapable: boolean
  /** Properties not annotated `sap:filterable="false"`. */
  filterable: string[]
  /** Business key: the entity key minus ODQ_CHANGEMODE / ODQ_ENTITYCNTR. */
  keyFields: string[]
}

/** FULL = snapshot without subscription; DELTA_INIT = snapshot + subscription; DELTA = changes since a link. */
export type ReadMode = 'FULL' | 'DELTA_INIT' | 'DELTA'

export interface ReadRequest {
  entitySet: string
  mode: ReadMode
  /** Business fields; key fields and the ODQ fields are added when the set has them. */
  select?: string[]
  /** OData `$filter` text, validated with {@link validateFilter} and passed through. */
  filter?: string
  /** Sent as `Prefer: odata.maxpagesize=N`. */
  pageSize: number
  /**
   * Most rows per yielded {@link Page} (default 1,000). A server page with more rows is yielded in
   * several Pages as its body arrives, so the client holds a batch of rows, never a whole page.
   */
  batchRows?: number
  /** Required for DELTA: the stored link (full URL as the server returned it) or a bare token. */
  deltaLink?: string
  signal?: AbortSignal
}

/**
 * A batch of converted rows: a whole server page, or a part of one when the page has more than
 * `ReadRequest.batchRows` rows (a batch never spans two server pages). `index` counts yielded pages
 * from 0; empty server pages yield nothing.
 */
export interface Page {
  index: number
  /** Rows in `ReadResult.columns` order. */
  rows: Row[]
}

export interface ReadEnd {
  /** The link to store for the next DELTA (DELTA_INIT and DELTA only). */
  deltaLink?: string
  deltaToken?: string
  /** Pages yielded (batches, see {@link Page}). */
  pages: number
  /** Rows yielded, in all. */
  rows: number
}

export interface ReadResult {
  columns: Column[]
  /**
   * Lazy: one HTTP request in flight at most; its body is read only as fast as the consumer takes
   * batches (TCP back-pressure), and the next page is requested only when the consumer asks.
   */
  pages: AsyncIterable<Page>
  /** Resolves after `pages` is exhausted; rejects if iteration failed or was abandoned. */
  end(): Promise<ReadEnd>
}

export interface DeltaLinkEntry {
  token: string
  createdAt: Date
  isInitialLoad: boolean
}
