/**
 * Public types of the RFC simulator (the function-call layer of docs/sap-protocols.md B.8 / C.8 / D.3).
 * The RFC client in src/sap/rfc declares the same client shape on its side; nothing here is imported
 * from client code, so the simulator cannot agree with a client bug.
 */
import type { AddedField, ChangeRef, RowKey, SapRow } from '../types.js'

export type { ChangeRef, RowKey, SapRow }

/** What `startRfcSimulator` returns. */
export interface RfcSimulator {
  /** Like `new Client(connectionParameters)` of node-rfc: one (closed) connection to the simulated system. */
  createClient(params: RfcConnectionParameters): SimRfcClient
  admin: RfcSimulatorAdmin
  /** Aborts running calls; every client is dead afterwards (calls reject with RFC_COMMUNICATION_FAILURE). */
  close(): Promise<void>
}

export interface RfcConnectionParameters {
  ashost?: string
  sysnr?: string
  mshost?: string
  msserv?: string
  group?: string
  sysid?: string
  client: string
  user?: string
  passwd?: string
  lang?: string
  saprouter?: string
}

export interface SimRfcClient {
  readonly alive: boolean
  /** node-rfc has client.id: unique per simulator, starting at 1. */
  readonly id: number
  /** Logon. Rejects with the node-rfc RfcLibError of RFC_LOGON_FAILURE (see errors.ts). */
  open(): Promise<SimRfcClient>
  close(): Promise<void>
  ping(): Promise<boolean>
  call(functionModule: string, params: Record<string, unknown>, options?: { timeout?: number }): Promise<Record<string, unknown>>
  /** Aborts the running call (it rejects with RFC_CANCELED); resolves at once when nothing runs. */
  cancel(): Promise<void>
}

export interface RfcSimulatorOptions {
  /** User → password; user names are case-insensitive like SAP's. Default `{ DEMO: 'Welcome1!' }`. */
  users?: Record<string, string>
  /** The one logon client that exists; default '100'. */
  client?: string
  /** Default 1; same seed → identical data. */
  seed?: number
  /** Row counts of the RFC_READ_TABLE tables; defaults ZSD_ITEMS 2500, ZMAT_WIDE 300, ZQM_RESULTS 200. */
  tables?: Partial<Record<string, number>>
  /** Row counts of the ODPs; defaults ZSD_ITEMS_CDC 1000, 0MATERIAL_TEXT 90. */
  odps?: Partial<Record<string, number>>
  variants?: Partial<RfcSimulatorVariants>
  /** Fixed delay before each call is served (and before logon); default 0. */
  callLatencyMs?: number
  /**
   * Extra (not in the brief): an RFC_READ_TABLE result bigger than this many rows fails like SAP does
   * when the internal table outgrows memory (ABAP runtime error TSV_TNEW_PAGE_ALLOC_FAILED,
   * docs/sap-protocols.md E "memory errors"). Default 1 000 000.
   */
  maxReadTableRows?: number
}

/** Behaviours SAP varies on (or that the reference marks uncertain). */
export interface RfcSimulatorVariants {
  /** SAP Note 3255746 block: every RODPS_REPL_* call is refused (see `odpBlockedAs`). */
  odpBlocked: boolean
  /**
   * How a blocked call is refused; SAP has not published the shape. 'call-rejected' (default): an ABAP
   * E-message with the text vendors report (errors.ts `odpBlockedError`); 'authorization': the
   * authorization error of B.8 (errors.ts `odpAuthorizationError`).
   */
  odpBlockedAs: 'call-rejected' | 'authorization'
  /** C.2 (erpl e62280d): ROWSKIPS not a multiple of ROWCOUNT → OPTION_NOT_VALID. */
  strictRowskips: boolean
  /**
   * An extra read-table module installed next to RFC_READ_TABLE: '/BODS/RFC_READ_TABLE' or
   * '/SAPDS/RFC_READ_TABLE' (DATA lines of 2048 characters, C.5) or 'BBP_RFC_READ_TABLE' (512).
   * 'RFC_READ_TABLE' (default) = only the classic module exists.
   */
  readTableModule: string
  /** No ORDER BY (C.4): when true every RFC_READ_TABLE call returns the rows in a different order. */
  unstableOrder: boolean
  /**
   * Extra: the S/4HANA-era RFC_READ_TABLE interface (C.1): GET_SORTED, USE_ET_DATA_4_RETURN and the
   * string table ET_DATA. Default false = the 7.50 interface, where those names are unknown parameters.
   */
  s4ReadTable: boolean
  /**
   * Extra: when FETCH says E_NO_MORE_DATA='X' (B.3 leaves it open). 'with-last-package' (default): on the
   * last package that carries data; 'after-last-package': only on a further FETCH that returns no data.
   */
  odpNoMoreData: 'with-last-package' | 'after-last-package'
  /**
   * Extra: RODPS_REPL_CURSOR_GET_LIST's ET_PROCESS carries an EXTRACTION_MODE column (default true);
   * false = only POINTER, SUBSCRIBER_PROC and CLOSED, the columns B.1 names.
   */
  odpCursorModes: boolean
  /** Extra: delta images of an update: ABR 'before-and-after' (U/-1 then U/+1, default) or AIE 'after-only'. */
  odpUpdateImages: 'before-and-after' | 'after-only'
}

export const DEFAULT_RFC_VARIANTS: Readonly<RfcSimulatorVariants> = Object.freeze({
  odpBlocked: false,
  odpBlockedAs: 'call-rejected',
  strictRowskips: false,
  readTableModule: 'RFC_READ_TABLE',
  unstableOrder: false,
  s4ReadTable: false,
  odpNoMoreData: 'with-last-package',
  odpUpdateImages: 'before-and-after',
  odpCursorModes: true,
})

/** Which calls a hold keeps waiting: the module's name and its input as the module reads it (OPTIONS, ROWCOUNT, …). */
export type RfcHoldMatch = (call: { functionModule: string; input: Record<string, unknown> }) => boolean

export interface RfcHold {
  /** Resolves when the first matching call is waiting. */
  arrived: Promise<void>
  /** How many calls it has held. */
  held(): number
  /** Lets every held call run, and holds no more. */
  release(): void
}

export type RfcFaultKind = 'communication-failure' | 'slow' | 'dump' | 'return-message'

/** An injected fault, matched against each call. */
export interface RfcFault {
  kind: RfcFaultKind
  /** Default: any function module. */
  functionModule?: string
  /** RODPS_REPL_ODP_FETCH only: the 1-based package number (within its request) the FETCH delivers. */
  package?: number
  /** How many times it fires; default 1. */
  times?: number
  /** 'slow': delay in ms before the call is served. */
  delayMs?: number
  /**
   * 'communication-failure': 'response' (default) = the server did the work (a FETCH advanced its
   * package cursor, a CLOSE confirmed) and the answer was lost; 'request' = nothing happened on the server.
   */
  lost?: 'request' | 'response'
  /** 'dump': the ABAP runtime error key; default 'TSV_TNEW_PAGE_ALLOC_FAILED'. */
  dumpKey?: string
  /**
   * 'return-message' (RODPS_REPL_* modules only, B.8 "ET_RETURN messages for errors (type E/A/X)"): the
   * module stops before doing anything and answers with one BAPIRET2 line of this type — A (abort) or
   * X (exit, the module's own short dump) — in ET_RETURN; the call itself succeeds. Default 'A'.
   */
  messageType?: 'E' | 'A' | 'X'
  /** 'return-message': the MESSAGE text. */
  message?: string
}

/** One ODQ request of a subscription, as the admin API lists it. */
export interface RfcRequestInfo {
  pointer: string
  mode: 'F' | 'D' | 'R'
  kind: 'full' | 'init' | 'delta'
  state: 'open' | 'closed' | 'cancelled'
  explicitClose: boolean
  packagesFetched: number
  /** Set for repeats (mode R): the pointer whose data this request repeats. */
  repeatOf?: string
}

export interface RfcSubscriptionInfo {
  subscriberType: string
  subscriberName: string
  subscriberProcess: string
  context: string
  odpName: string
  /** The selection rows as the client sent them at delta init. */
  selection: Array<{ FIELDNAME: string; SIGN: string; OPTION: string; LOW: string; HIGH: string }>
  /** Change-log position the next delta starts after (global change sequence, see ChangeRef.seq). */
  confirmedSeq: number
  requests: RfcRequestInfo[]
}

export interface RfcSimulatorAdmin {
  /** RFC_READ_TABLE table names. */
  tables(): string[]
  /** ODPs as context + name. */
  odps(): Array<{ context: string; name: string }>
  /** New rows with fresh keys; `name` is a table or an ODP name. Stamps creation date/time with `now()`. */
  insert(name: string, count: number): ChangeRef[]
  /** Changes non-key values; sets the change date/time fields (AEDAT/AEZET/CHANGED_AT) to `now()`. */
  update(name: string, keysOrCount: RowKey[] | number): ChangeRef[]
  delete(name: string, keysOrCount: RowKey[] | number): ChangeRef[]
  /** Every change ever made to that table or ODP, in order. */
  changeLog(name: string): ChangeRef[]
  /** Current content in key order, streamed, in ABAP notation (see SapRow). */
  rows(name: string): AsyncIterable<SapRow>
  rowCount(name: string): number
  /**
   * Adds a field to a table or ODP mid-life (an append structure): in DDIC_FIELDS-style metadata
   * (RFC_READ_TABLE's field list, RODPS_REPL_ODP_GET_DETAIL) and in every row from now on, full and
   * delta reads alike; rows that exist hold its initial value (model/field-changes.ts).
   */
  addField(name: string, field: AddedField): void
  /** Drops a non-key field of a table or ODP mid-life: gone from the metadata and from every row. */
  dropField(name: string, field: string): void
  /** System time (UTC) as 'YYYYMMDDhhmmss'; every admin change batch advances it by one second afterwards. */
  now(): string
  advanceClock(seconds: number): void
  /** false → RFC_READ_TABLE raises NOT_AUTHORIZED for that table (S_TABU_DIS / S_TABU_NAM missing). */
  setTableAuthorization(table: string, allowed: boolean): void
  /** false → every call of that module fails with the runtime error RFC_NO_AUTHORITY (S_RFC missing). */
  setFunctionAuthorization(functionModule: string, allowed: boolean): void
  setVariants(v: Partial<RfcSimulatorVariants>): void
  variants(): RfcSimulatorVariants
  injectFault(fault: RfcFault): void
  clearFaults(): void
  /**
   * Holds the calls `match` accepts (after the network, before the module runs) until `release()`:
   * a test changes data while a read is provably in the middle, with no sleep.
   */
  hold(match: RfcHoldMatch): RfcHold
  subscriptions(): RfcSubscriptionInfo[]
  /**
   * Counters. `calls`/`byFunction` count calls that reached the system (counted as they start);
   * `running` = calls being served right now, so a test can await "the call has started";
   * `connections`: logged-on clients now (`open`), the most at once (`peak`) and logons in total.
   */
  stats(): {
    calls: number
    byFunction: Record<string, number>
    rowsVisited: number
    faultsFired: number
    running: number
    connections: { open: number; peak: number; logons: number }
  }
}
