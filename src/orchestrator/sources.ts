import type { ResolvedConnection } from '../catalog/connections.js'
import { SourceError } from '../sap/errors.js'
import { ODataOdpClient, ODataSource } from '../sap/odata/index.js'
import type { Source } from '../sap/source.js'
import type { Logger } from '../util/logger.js'

export type SourceFactory = (connection: ResolvedConnection, log: Logger) => Source

/** Transient-failure retries of each SAP request (the client's own backoff; Retry-After is honoured). */
export interface SourceRetry {
  retries?: number
  backoffMs?: number
}

export const sapSourceFactory =
  (retry: SourceRetry = {}): SourceFactory =>
  (c, log) => {
    if (c.protocol !== 'ODATA')
      throw new SourceError('SOURCE_NOT_FOUND', `${c.protocol} connections are not available in this release yet`)
    const client = new ODataOdpClient(
      {
        serviceUrl: c.odata.serviceUrl,
        sapClient: c.odata.sapClient,
        user: c.odata.user,
        password: c.secrets.password,
        language: c.odata.language,
      },
      { ...retry, log: (level, msg, data) => log[level](data ?? {}, msg) },
    )
    return new ODataSource(client)
  }

export const defaultSourceFactory = sapSourceFactory()
