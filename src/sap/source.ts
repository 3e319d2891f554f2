/**
 * What the orchestrator needs of any SAP source, whatever the protocol: read a snapshot or a delta
 * as pages of typed rows, end with the position to resume from, and (for protocols that have it)
 * confirm the read once the files are safe. ODP over OData, ODP over RFC and RFC_READ_TABLE each
 * implement it.
 */
import type { Column, Row } from './fields.js'
import type { FieldKeyRange, KeyRangePlan } from './key-ranges.js'

export type SourceKind = 'ODP_ODATA' | 'ODP_RFC' | 'TABLE_RFC'

/** What a pipeline reads: the fields of `Source` in the API. */
export interface SourceSpec {
  kind: SourceKind
  /** ODP_ODATA */
  entitySet?: string
  /** ODP_RFC */
  odpContext?: string
  odpName?: string
  /** TABLE_RFC */
  table?: string
  /** Fields to read; all when omitted (keys and ODQ fields are always included). */
  fields?: string[]
  /** ODP_ODATA: an OData $filter; TABLE_RFC: an ABAP WHERE clause. */
  filter?: string
  /** TABLE_RFC: the date/time field watermark deltas follow. */
  watermarkField?: string
  /** Rows per OData page, or per RFC package. */
  pageSize: number
  /** One partition of a partitioned FULL read: only the rows whose first key field lies in this range. */
  keyRange?: FieldKeyRange
  /**
   * A name unique to the pipeline and stable across its runs (ODP_RFC: the subscriber process,
   * at most 32 characters).
   */
  subscriber: string
}

/** FULL: snapshot, no subscription. DELTA_INIT: snapshot and a new delta subscription. DELTA: changes since `position`. */
export type SourceReadMode = 'FULL' | 'DELTA_INIT' | 'DELTA'

export interface SourceReadRequest {
  spec: SourceSpec
  mode: SourceReadMode
  /**
   * DELTA: where the last committed read ended (an OData delta link, an RFC pointer, a watermark).
   * DELTA_INIT of one partition of a split initialisation: {@link SplitInit.start}.
   */
  position?: string
  signal: AbortSignal
}

export interface SourcePage {
  /** Rows in `SourceRead.columns` order. */
  rows: Row[]
}

export interface SourceReadEnd {
  /** Where the next DELTA starts; required after DELTA_INIT and DELTA. Stored only after commit. */
  position?: string
  /** The position as people know it (an ODQ delta token, a timestamp), for the run's history. */
  token?: string
}

export interface SourceRead {
  columns: Column[]
  /** Lazy pages; the next is requested only when the consumer asks (backpressure). */
  pages: AsyncIterable<SourcePage>
  /** Resolves once `pages` is exhausted; rejects if the read failed or was abandoned. */
  end(): Promise<SourceReadEnd>
  /**
   * Called after the run committed (files, manifest and new position are durable): protocols that
   * hold the read open until it is confirmed (ODP over RFC) close it here. Failing here does not
   * undo the commit; the next read repeats from the stored position.
   */
  confirm?(signal: AbortSignal): Promise<void>
}

/** Something a source spec names that SAP does not have; `field` is the SourceInput field (or `mode`). */
export interface SourceSpecProblem {
  field: 'entitySet' | 'fields' | 'filter' | 'mode'
  message: string
}

/**
 * A DELTA_INIT read as key-range partitions: the start every partition reads from (handed to each
 * partition's read as `position`), fixed before any of them reads, and how their ends make the run's
 * one end. The partitions read at different times, so the position the run commits must not depend
 * on when each read (docs/sap-protocols.md §C.7).
 */
export interface SplitInit {
  start: string
  /** The start as people know it (a watermark), for the run's log. */
  token?: string
  /** The run's end from every partition's, each read from `start`; rejects ends from another start. */
  join(ends: readonly SourceReadEnd[]): SourceReadEnd
}

export interface Source {
  read(req: SourceReadRequest): Promise<SourceRead>
  /**
   * Whether SAP already holds the delta subscription a DELTA_INIT of `spec` would open (OData: for
   * this user on this entity set; ODP over RFC: for this subscriber process): a sentence naming it,
   * or null. Sources without subscriptions (RFC_READ_TABLE) answer null.
   */
  subscription(spec: SourceSpec, signal: AbortSignal): Promise<string | null>
  /** Ends the delta subscription in SAP (TerminateDeltasFor…, RODPS_REPL_ODP_RESET); the next read must be DELTA_INIT. */
  reset(spec: SourceSpec, signal: AbortSignal): Promise<void>
  /**
   * Where a FULL read of `spec` splits into at most `parts` ranges of its first key field, found with
   * a few cheap probes (src/sap/key-ranges.ts). Sources that cannot split answer one open range.
   */
  keyRanges?(spec: SourceSpec, parts: number, signal: AbortSignal): Promise<KeyRangePlan>
  /**
   * How a DELTA_INIT of `spec` is read as partitions, or undefined when it cannot be (an ODP
   * initialisation is one request in SAP that opens the subscription: README, Partitioned loads).
   * Called once, before any partition reads.
   */
  splitInit?(spec: SourceSpec, signal: AbortSignal): Promise<SplitInit | undefined>
  /** Logs on and measures a round trip. */
  ping(signal: AbortSignal): Promise<{ latencyMs: number }>
  /**
   * Checks a spec against SAP's own description of it (metadata) without reading data: resolves
   * with the first problem found, or undefined; rejects when SAP cannot be asked.
   */
  check?(spec: SourceSpec, mode: 'FULL' | 'DELTA', signal: AbortSignal): Promise<SourceSpecProblem | undefined>
}
