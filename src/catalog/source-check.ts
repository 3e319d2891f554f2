import type { Pipeline } from '../db/client.js'
import { badInput } from '../errors.js'
import type { SourceFactory } from '../orchestrator/sources.js'
import type { SourceSpec, SourceSpecProblem } from '../sap/source.js'
import { SourceError } from '../sap/errors.js'
import type { Logger } from '../util/logger.js'
import type { ConnectionCatalog, ResolvedConnection } from './connections.js'
import { fieldsOf } from './pipeline-world.js'

/**
 * An ODP_ODATA pipeline's entity set, fields and $filter, checked against the service's $metadata
 * when the pipeline is saved, so a typo is refused (BAD_USER_INPUT naming the field) instead of
 * failing the first run hours later. RFC sources check their WHERE clause syntax at save already
 * (pipelines.ts); their fields are checked by SAP at the first read.
 *
 * When SAP cannot be asked (down, wrong password, refused by the outbound policy), the pipeline is
 * saved anyway and the result says so: `Pipeline.sourceCheck { status: UNCHECKED, message }`.
 */
export interface SourceCheckResult {
  status: 'CHECKED' | 'UNCHECKED'
  message: string | null
  checkedAt: Date
}

/** The pipeline row being saved, as PipelineCatalog builds it. */
type PipelineData = Pick<Pipeline, 'name' | 'connectionId' | 'sourceKind' | 'entitySet' | 'fields' | 'filter' | 'mode'>

/** Checks `next` (against `current` on an update: unchanged sources are not asked again); throws BAD_USER_INPUT. */
export type SourceChecker = (next: PipelineData, current?: Pipeline) => Promise<SourceCheckResult | undefined>

const CHECKED_FIELDS = ['connectionId', 'sourceKind', 'entitySet', 'fields', 'filter', 'mode'] as const

export function sourceChecker(
  deps: { connections: ConnectionCatalog; sources: SourceFactory; log: Logger },
  opts: { timeoutMs?: number } = {},
): SourceChecker {
  return async (next, current) => {
    const request = await sourceCheckRequest(deps.connections, next, current)
    return request && (await askSap(deps, request, opts))
  }
}

/** What a source check asks SAP: the connection as it is resolved now, and the source spec. */
export interface SourceCheckRequest {
  connection: ResolvedConnection
  spec: SourceSpec
  mode: Pipeline['mode']
}

/** The question `next` puts to SAP, or undefined when it needs none (not OData, or its checked fields are unchanged). */
export async function sourceCheckRequest(
  connections: ConnectionCatalog,
  next: PipelineData,
  current?: Pipeline,
): Promise<SourceCheckRequest | undefined> {
  if (next.sourceKind !== 'ODP_ODATA') return undefined
  if (current && CHECKED_FIELDS.every((k) => next[k] === current[k])) return undefined
  const connection = connections.resolve(await connections.get(next.connectionId))
  const spec: SourceSpec = {
    kind: next.sourceKind,
    entitySet: next.entitySet ?? undefined,
    fields: fieldsOf(next) ?? undefined,
    filter: next.filter ?? undefined,
    pageSize: 1,
    subscriber: '',
  }
  return { connection, spec, mode: next.mode }
}

/**
 * Asks SAP's metadata (up to `timeoutMs`, 15 s by default): CHECKED, UNCHECKED when SAP cannot be
 * asked, or BAD_USER_INPUT naming the field SAP does not have.
 */
export async function askSap(
  deps: { sources: SourceFactory; log: Logger },
  { connection, spec, mode }: SourceCheckRequest,
  opts: { timeoutMs?: number } = {},
): Promise<SourceCheckResult> {
  const timeoutMs = opts.timeoutMs ?? 15_000
  const source = deps.sources(connection, deps.log)
  const checkedAt = new Date()
  let problem: SourceSpecProblem | undefined
  try {
    problem = await source.check?.(spec, mode, AbortSignal.timeout(timeoutMs))
  } catch (e) {
    const why =
      e instanceof SourceError
        ? `${e.code}: ${e.message}`
        : (e as Error)?.name === 'TimeoutError'
          ? `SAP did not answer within ${timeoutMs / 1000} s`
          : 'unexpected error (see the service log)'
    if (!(e instanceof SourceError)) deps.log.warn({ err: e, connectionId: connection.id }, 'source check against SAP failed')
    return { status: 'UNCHECKED', message: `not checked against SAP's metadata: ${why}`, checkedAt }
  }
  if (problem) {
    const field = problem.field === 'mode' ? 'mode' : `source.${problem.field}`
    throw badInput(`${field}: ${problem.message}`, field)
  }
  return { status: 'CHECKED', message: null, checkedAt }
}

/** The nested write that stores a check with the pipeline row (nothing when there was none). */
export function sourceCheckWrite(result: SourceCheckResult | undefined, op: 'create' | 'update') {
  if (!result) return {}
  return op === 'create' ? { sourceCheck: { create: result } } : { sourceCheck: { upsert: { create: result, update: result } } }
}
