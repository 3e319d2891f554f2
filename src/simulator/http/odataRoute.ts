/**
 * Requests under `/sap/opu/odata/`: logon first (as ICF does, so an unknown service still needs valid
 * credentials), then the service, then the resource. Everything is read-only: a modifying request that
 * passes the CSRF check gets 405 (function imports, GET only) or 501 (not implemented in the provider).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RequestContext } from '../odata/context.js'
import { sendJson } from '../odata/context.js'
import { handleCount, handleDataRead } from '../odata/dataReads.js'
import { handleDeltaLink, handleDeltaLinks, handleSubscribedTo, handleTerminate } from '../odata/deltaLinks.js'
import { MSG, notFound, SapHttpError } from '../odata/errors.js'
import { catalogJson, entitySetNames, metadataXml, serviceDocumentXml } from '../odata/metadata.js'
import { parseQuery, wantsJson } from '../odata/query.js'
import type { Resource } from '../odata/resource.js'
import { parseResource } from '../odata/resource.js'
import type { SimState } from '../state.js'
import { tableOf } from '../state.js'
import type { LogonService } from './logon.js'

const SERVICE_PREFIX = '/sap/opu/odata/sap/'
const CATALOG_PATH = '/sap/opu/odata/iwfnd/catalogservice;v=2/ServiceCollection'

function sendText(res: ServerResponse, contentType: string, body: string): void {
  res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), dataserviceversion: '2.0' })
  res.end(body)
}

function notImplemented(resource: Resource, method: string): SapHttpError {
  if (resource.kind === 'subscribedTo' || resource.kind === 'terminate') {
    return new SapHttpError(405, MSG.notImplemented, `Function import is declared m:HttpMethod="GET"; ${method} is not allowed`, {
      allow: 'GET',
    })
  }
  if (resource.kind === 'batch')
    return new SapHttpError(501, MSG.notImplemented, '$batch is not implemented by this simulator; ODP extraction needs only GET')
  const name = 'def' in resource ? resource.def.name.toUpperCase() : resource.kind.toUpperCase()
  const op = method === 'POST' ? 'CREATE_ENTITY' : method === 'DELETE' ? 'DELETE_ENTITY' : 'UPDATE_ENTITY'
  return new SapHttpError(501, MSG.notImplemented, `Method '${name}_${op}' not implemented in data provider class`)
}

/** The entity set as this instance has it now: a field may have been added or dropped (admin addField, dropField). */
function currentDef(state: SimState, resource: Resource): Resource {
  return 'def' in resource ? { ...resource, def: tableOf(state, resource.def.name).def } : resource
}

async function dispatch(ctx: RequestContext, resource: Resource): Promise<void> {
  switch (resource.kind) {
    case 'serviceDocument':
      if (wantsJson(ctx.query, ctx.req.headers)) return sendJson(ctx, { d: { EntitySets: entitySetNames() } })
      return sendText(ctx.res, 'application/atomsvc+xml; charset=utf-8', serviceDocumentXml(ctx.serviceRoot))
    case 'metadata':
      return sendText(
        ctx.res,
        'application/xml',
        metadataXml(
          ctx.state.service,
          ctx.serviceRoot,
          [...ctx.state.tables.values()].map((t) => t.def),
        ),
      )
    case 'batch':
      throw new SapHttpError(405, MSG.notImplemented, '$batch requires POST', { allow: 'POST' })
    case 'entitySet':
      return handleDataRead(ctx, resource.def)
    case 'changesAfter':
      return handleDataRead(ctx, resource.def, resource.token)
    case 'count':
      return handleCount(ctx, resource.def)
    case 'entity':
      throw new SapHttpError(
        501,
        MSG.notImplemented,
        `Method '${resource.def.name.toUpperCase()}_GET_ENTITY' not implemented in data provider class`,
      )
    case 'deltaLinks':
      return handleDeltaLinks(ctx, resource.def)
    case 'deltaLink':
      return handleDeltaLink(ctx, resource.def, resource.token)
    case 'subscribedTo':
      return handleSubscribedTo(ctx, resource.def)
    case 'terminate':
      return handleTerminate(ctx, resource.def)
  }
}

function origin(req: IncomingMessage, fallback: string): string {
  const host = req.headers.host
  return host && /^[A-Za-z0-9.\-:[\]]+$/.test(host) ? `http://${host}` : fallback
}

/** Handles an OData request; throws SapHttpError for the caller to render. `fallbackOrigin` is the simulator URL. */
export async function handleOData(
  state: SimState,
  logon: LogonService,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  fallbackOrigin: string,
): Promise<void> {
  const user = logon.logon(req, res, url.searchParams.get('sap-client') ?? undefined)
  const served = state.inFlight.begin(user)
  res.once('finish', served)
  res.once('close', served)
  const method = req.method ?? 'GET'
  const modifying = method !== 'GET' && method !== 'HEAD'
  if (modifying) logon.checkCsrf(req, user)

  const base = origin(req, fallbackOrigin)
  if (url.pathname === CATALOG_PATH) {
    if (modifying) throw new SapHttpError(405, MSG.notImplemented, 'The catalog service is read-only')
    const expand = url.searchParams.get('$expand') === 'EntitySets'
    return sendJson({ state, req, res, user, serviceRoot: base, query: {} }, catalogJson(base, state.service, expand))
  }
  const query = parseQuery(url.searchParams)
  if (!url.pathname.startsWith(SERVICE_PREFIX)) throw notFound(url.pathname.split('/').filter(Boolean).pop() ?? '')
  const segments = url.pathname
    .slice(SERVICE_PREFIX.length)
    .split('/')
    .map((s) => decodeURIComponent(s))
  // SAP resolves the service name case-insensitively and accepts a version suffix (;v=0001)
  const serviceSegment = segments.shift()!.replace(/;v=0*1$/i, '')
  if (serviceSegment.toUpperCase() !== state.service) {
    throw new SapHttpError(404, MSG.serviceNotFound, `No service found for namespace '/SAP/', name '${serviceSegment}', version '0001'`)
  }
  const resource = currentDef(state, parseResource(segments.length === 1 && segments[0] === '' ? [] : segments))
  if (modifying) throw notImplemented(resource, method)
  const ctx: RequestContext = { state, req, res, user, serviceRoot: `${base}${SERVICE_PREFIX}${state.service}`, query }
  if (method === 'HEAD') {
    // HEAD is how clients fetch a CSRF token cheaply; it must not open an extraction
    res.writeHead(200, { dataserviceversion: '2.0' })
    return void res.end()
  }
  await dispatch(ctx, resource)
}
