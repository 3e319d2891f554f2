/**
 * Public types of the SAP Gateway ODP OData v2 simulator. Other parts of the project (tests, demo,
 * benchmark, the `simulate-sap` command) code against exactly these names.
 *
 * The simulator imports nothing from the rest of `src/`: it must not be able to agree with a client bug.
 */

/** The demo service's technical name (under `/sap/opu/odata/sap/`). */
export const DEMO_SERVICE = 'ZDELTA_DEMO_SRV'
/** Realistic sales items (NUMC keys, texts, amounts with units). */
export const SALES_ITEMS = 'EntityOfZSALES_ITEMS'
/** One property per EDM type, with the nasty values (see docs/sap-protocols.md A.5 and F.8). */
export const TYPES_SET = 'FactsOfZTYPES'
/** Master-data attributes (an `AttrOf` set): materials keyed by an 18-digit MATNR. */
export const MATERIALS = 'AttrOfZMATERIAL'

export interface SapSimulatorOptions {
  /** Default '127.0.0.1'. */
  host?: string
  /** Default 0 = a free port. */
  port?: number
  /** Basic-auth users → passwords; user names are case-insensitive like SAP's. Default `{ DEMO: 'Welcome1!' }`. */
  users?: Record<string, string>
  /** The one logon client that exists; default '100'. Requests without sap-client use it; another value → 401. */
  sapClient?: string
  /** Initial row count per entity set; defaults: EntityOfZSALES_ITEMS 2500, FactsOfZTYPES 60, AttrOfZMATERIAL 200. */
  rows?: Partial<Record<string, number>>
  /** Default 1; same seed → identical data. */
  seed?: number
  variants?: Partial<SimulatorVariants>
  /** A paged read not continued for this long is closed; default 30000. */
  openRequestIdleMs?: number
  /** Optional fixed delay per data page (demo realism); default 0. */
  latencyMs?: number
  /**
   * Rows per second each extraction request is served at (0 = unlimited): SAP works a request off in
   * one work process, so one read cannot go faster, while requests in parallel each get their own
   * rate (what a partitioned load counts on; docs/sap-protocols.md §A.6.1). Default 0.
   */
  rowsPerSecondPerRead?: number
}

/**
 * Behaviours SAP is known (or suspected) to vary on. Each default is the most commonly observed one;
 * see docs/sap-protocols.md A.6.5 / A.6.7 / A.10 for the evidence behind each switch.
 */
export interface SimulatorVariants {
  /**
   * Where a change-tracked read puts its next delta link (A.6.5): `delta` = `d.__delta` on the last page;
   * `terminal-next` = the last data page's `__next` leads to a page `{"d":{"results":[],"__next":"<delta link>"}}`;
   * `absent` = no inline link, the client must use `DeltaLinksOf<ES>`.
   */
  tokenPlacement: 'delta' | 'terminal-next' | 'absent'
  /** true: `!deltatoken='D…'` (SAP's own links); false: `!deltatoken=D…`. Both are always accepted on input. */
  tokenQuoted: boolean
  /** true: raw JSON carries `"\/Date(…)\/"`. */
  escapedDateSlashes: boolean
  /** false (observed): a delta with no rows returns the SAME token; true: a new token. */
  emptyDeltaNewToken: boolean
  /** true (observed): `preference-applied` only on the last page; false: on every page. */
  preferenceAppliedOnLastPage: boolean
  /** 'repeat': an older token still re-delivers everything after it (ODQ retention); 'gone': once a newer token was used, older ones are dead. */
  oldTokens: 'repeat' | 'gone'
  /** 'replace': a new init by the same user replaces the subscription (old tokens die); 'error': 400. */
  subscriptionConflict: 'replace' | 'error'
  /** 'before-and-after' (ABR: U/-1 then U/+1) or 'after-only' (AIE: U/+1). */
  updateImages: 'before-and-after' | 'after-only'
  /** true: inserts delivered as U/+1 (CDS CDC behaviour). */
  insertsAsUpdates: boolean
  /** Status for dead/expired/unknown tokens; the body is always a SAP error whose message names the delta token. */
  expiredTokenStatus: 410 | 400
  /**
   * Extra switch (not in the original brief): true makes the `__next` links of a paged *delta* read carry
   * `!deltatoken=…&$skiptoken=…` as in the constructed example of A.9, so a client that treats every
   * `__next` with `!deltatoken` as a delta link (instead of only those on an empty page) loses pages.
   * Default false: delta `__next` links carry only the `$skiptoken`.
   */
  nextLinkCarriesDeltaToken: boolean
  /**
   * false (default): an injected fault (5xx, 429, dropped connection) leaves the extraction request
   * open, so re-requesting the same `__next` URL serves that page again — the gateway failed, the ODQ
   * request behind it did not. true: a fault ends the read, and the old `__next` answers 400
   * (RSODP_ODATA/016) until the client restarts the whole read.
   */
  faultEndsRead: boolean
}

export const DEFAULT_VARIANTS: Readonly<SimulatorVariants> = Object.freeze({
  tokenPlacement: 'delta',
  tokenQuoted: true,
  escapedDateSlashes: false,
  emptyDeltaNewToken: false,
  preferenceAppliedOnLastPage: true,
  oldTokens: 'repeat',
  subscriptionConflict: 'replace',
  updateImages: 'before-and-after',
  insertsAsUpdates: false,
  expiredTokenStatus: 410,
  nextLinkCarriesDeltaToken: false,
  faultEndsRead: false,
})

export interface SapSimulator {
  /** 'http://127.0.0.1:<port>' */
  url: string
  /** `${url}/sap/opu/odata/sap/ZDELTA_DEMO_SRV` */
  serviceUrl: string
  admin: SimulatorAdmin
  /** Closes the server and every open socket; resolves when fully closed. */
  close(): Promise<void>
}

import type { AddedField } from './model/field-changes.js'

export type { AddedField }

export interface SimulatorAdmin {
  /** New rows with fresh keys (generated deterministically from the seed). */
  insert(entitySet: string, count: number): ChangeRef[]
  /** Changes non-key values deterministically; a number picks that many existing rows deterministically. */
  update(entitySet: string, keysOrCount: RowKey[] | number): ChangeRef[]
  delete(entitySet: string, keysOrCount: RowKey[] | number): ChangeRef[]
  /** Every change ever made to that entity set, in order. */
  changeLog(entitySet: string): ChangeRef[]
  /**
   * Current table content in key order, streamed. Rows carry the business fields only: ODQ_CHANGEMODE and
   * ODQ_ENTITYCNTR are extraction artefacts added by reads ("" / "0" on full and init reads).
   */
  rows(entitySet: string): AsyncIterable<SapRow>
  rowCount(entitySet: string): number
  /**
   * Adds a business field to an entity set mid-life (an append structure in SAP): in $metadata and
   * in every row from now on, initial in the rows that exist (model/field-changes.ts).
   */
  addField(entitySet: string, field: AddedField): void
  /** Drops a business field (not a key field) mid-life: gone from $metadata and from every row. */
  dropField(entitySet: string, name: string): void
  injectFault(fault: Fault): void
  clearFaults(): void
  setVariants(v: Partial<SimulatorVariants>): void
  /** Every token of that subscription (of every user if `user` is omitted) now answers `expiredTokenStatus`. */
  expireTokens(entitySet: string, user?: string): void
  /** Live subscriptions with every token issued to them, oldest first. */
  subscriptions(): Array<{
    user: string
    service: string
    entitySet: string
    tokens: string[]
    selection: { select?: string; filter?: string }
  }>
  /** Paged reads currently open. */
  openRequests(): number
  /**
   * Request counts; `inFlight`: OData requests being served at once (current, and the highest
   * seen), in total and by SAP user (upper case), counted from a successful logon until the answer
   * has gone — the dialog work processes SAP would have given the client; `rowsVisited`: table rows
   * read so far, all entity sets (a scan visits every row, a key range only its own).
   */
  stats(): {
    requests: number
    dataPages: number
    faultsFired: number
    byPath: Record<string, number>
    inFlight: InFlightStats
    rowsVisited: number
  }
}

/** Requests being served at once: now, and the highest count seen. */
export interface InFlight {
  current: number
  max: number
}

export interface InFlightStats extends InFlight {
  /** By SAP user, upper case. */
  byUser: Record<string, InFlight>
}

/** Business key of a row, values as strings in ABAP notation, e.g. `{ VBELN: '0000000042', POSNR: '000010' }`. */
export type RowKey = Record<string, string>

/** One source change. `seq` is global across entity sets and strictly increasing. */
export interface ChangeRef {
  seq: number
  mode: 'C' | 'U' | 'D'
  key: RowKey
  before: SapRow | null
  after: SapRow | null
}

/**
 * A row in ABAP's own notation, independent of any client: strings as stored (NUMC with zeros), DATS
 * 'YYYYMMDD' ('00000000' = initial), TIMS 'HHMMSS' ('240000' possible; a property with Precision 3 carries
 * 'HHMMSS.fff'), decimals as canonical strings '-12.50' with exactly `scale` fraction digits, INT as number,
 * INT8 as string, FLTP as number, booleans as boolean, binary as base64 string, GUID as lower-case
 * 8-4-4-4-12 string, timestamps as 'YYYYMMDDhhmmss' UTC. `null` only in nullable properties.
 */
export type SapRow = Record<string, string | number | boolean | null>

export type FaultKind = 'http-500' | 'http-503' | 'http-429' | 'drop' | 'slow' | 'http-401'

export interface Fault {
  /**
   * 'drop' sends the headers and part of the body, then destroys the socket. 'slow' delays the page by
   * `delayMs`. Every other kind answers that status. Any fault except 'slow' ends the server-side read.
   */
  kind: FaultKind
  /** 1-based page number within one read request (the initial GET is page 1, each __next is +1). */
  page: number
  /** Default 'any'. */
  read?: 'full' | 'init' | 'delta' | 'any'
  /** Default any. */
  entitySet?: string
  /** How many times it fires; default 1. */
  times?: number
  /** For 'slow'. */
  delayMs?: number
  /** For 503/429: Retry-After header. */
  retryAfterSeconds?: number
}
