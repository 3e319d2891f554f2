/** RFC connections (node-rfc): TABLE_RFC over RFC_READ_TABLE and ODP_RFC over RODPS_REPL_*. */
export { createRfcSource } from './source.js'
export type { RfcSource, RfcSourceOptions } from './source.js'
export type { RfcClient, RfcClientFactory, RfcConnectionParameters } from './rfc-client.js'
export type { RfcPoolOptions } from './pool.js'
export type { OdpPosition } from './odp.js'
export type { TablePosition } from './watermark.js'
export { checkWhereSyntax } from './where.js'
export { rfcConnectGuard } from './connect-guard.js'
