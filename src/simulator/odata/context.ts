import type { IncomingMessage, ServerResponse } from 'node:http'
import type { SimState } from '../state.js'
import type { QueryOptions } from './query.js'

/** One authenticated OData request. */
export interface RequestContext {
  state: SimState
  req: IncomingMessage
  res: ServerResponse
  /** Upper-case SAP user. */
  user: string
  /** Absolute service root as the client addressed it, e.g. http://127.0.0.1:4711/sap/opu/odata/sap/ZDELTA_DEMO_SRV */
  serviceRoot: string
  query: QueryOptions
}

/** Sends a small JSON document; `escapeDates` writes `"\/Date(…)\/"` (variant escapedDateSlashes). */
export function sendJson(ctx: RequestContext, body: unknown, escapeDates = false): void {
  let text = JSON.stringify(body)
  if (escapeDates) text = text.replace(/"\/Date\(([^)"]*)\)\/"/g, '"\\/Date($1)\\/"')
  ctx.res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    dataserviceversion: '2.0',
  })
  ctx.res.end(text)
}
