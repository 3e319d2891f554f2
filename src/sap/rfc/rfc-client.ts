/**
 * The one seam between the RFC sources and whatever performs the calls: node-rfc's `Client` (wrapped
 * by node-rfc.ts) in production, the function-level RFC simulator in tests and the demo
 * (docs/sap-protocols.md §D.3: never simulate the wire protocol, put `call(fm, params)` behind an
 * interface). The shape is node-rfc's own, so the simulator and the real driver are interchangeable.
 *
 * This shape is shared with `src/simulator/rfc/`; change it only together with the simulator.
 */

/** node-rfc's connection parameters (§D.2), the subset a pipeline connection carries. */
export interface RfcConnectionParameters {
  ashost?: string
  sysnr?: string
  mshost?: string
  msserv?: string
  group?: string
  sysid?: string
  client: string
  user?: string
  /** Only ever handed to the driver; never logged, never part of an error message. */
  passwd?: string
  lang?: string
  saprouter?: string
}

/** node-rfc's `Client`: starts closed; one connection, one call at a time. */
export interface RfcClient {
  readonly alive: boolean
  readonly id: number
  open(): Promise<RfcClient>
  close(): Promise<void>
  ping(): Promise<boolean>
  /** `timeout` in seconds: node-rfc cancels the call (and with it the connection) when it expires. */
  call(functionModule: string, params: Record<string, unknown>, options?: { timeout?: number }): Promise<Record<string, unknown>>
  /** Cancels the running call; the connection is unusable afterwards (node-rfc closes it). */
  cancel(): Promise<void>
}

export type RfcClientFactory = (params: RfcConnectionParameters) => RfcClient

/**
 * node-rfc's errors (§D.2, node-rfc `doc/api.md`): `RfcLibError` for SDK/transport failures
 * (`key` = the SDK's RFC_RC name) and `ABAPError` for exceptions the function module raised
 * (`key` = the ABAP exception name, e.g. `DATA_BUFFER_EXCEEDED`). Both are plain objects or Errors;
 * the fields below are all optional because nothing guarantees them.
 */
export interface RfcErrorLike {
  name?: string
  code?: number
  key?: string
  group?: number
  message?: string
  abapMsgClass?: string
  abapMsgType?: string
  abapMsgNumber?: string
  abapMsgV1?: string
  abapMsgV2?: string
  abapMsgV3?: string
  abapMsgV4?: string
}

/** One line of a BAPIRET2-like `ET_RETURN` table (RODPS_REPL_* modules, §B.1). */
export interface Bapiret2 {
  TYPE?: string
  ID?: string
  NUMBER?: string
  MESSAGE?: string
  MESSAGE_V1?: string
  MESSAGE_V2?: string
  MESSAGE_V3?: string
  MESSAGE_V4?: string
}
