import { SourceError } from '../errors.js'
import { domainOf, planKeyRanges, type KeyRange, type KeyRangePlan } from '../key-ranges.js'
import type { Source, SourceRead, SourceReadRequest, SourceSpec, SourceSpecProblem } from '../source.js'
import type { ODataOdpClient } from './client.js'
import { validateFilter } from './filter.js'
import { filterWithKeyRange } from './key-filter.js'
import { selectColumns } from './read.js'

/** ODP over OData as a {@link Source}: the position is the delta link SAP returned, verbatim. */
export class ODataSource implements Source {
  constructor(private readonly client: ODataOdpClient) {}

  async read({ spec, mode, position, signal }: SourceReadRequest): Promise<SourceRead> {
    const read = await this.client.read({
      entitySet: entitySetOf(spec),
      mode,
      select: spec.fields,
      filter: filterWithKeyRange(spec.filter, spec.keyRange),
      pageSize: spec.pageSize,
      deltaLink: position,
      signal,
    })
    return {
      columns: read.columns,
      pages: read.pages,
      end: async () => {
        const end = await read.end()
        return { position: end.deltaLink, token: end.deltaToken }
      },
    }
  }

  /**
   * Ranges of the first key field, found with `$top=1` existence probes (no `$orderby`: ODP sets
   * cannot sort, docs/sap-protocols.md §A.7). A key that is not text, or not filterable, is not cut.
   */
  async keyRanges(spec: SourceSpec, parts: number, signal: AbortSignal): Promise<KeyRangePlan> {
    const entitySet = entitySetOf(spec)
    const info = await this.client.entitySet(entitySet, signal)
    const field = info.keyFields[0]
    const column = info.columns.find((c) => c.name === field)
    if (!field || column?.type.kind !== 'string' || !info.filterable.includes(field))
      return { ranges: [{}], note: `${entitySet} has no filterable text key field to split on; read as one partition` }
    const sample = (r: KeyRange) => this.client.firstValue(entitySet, field, filterWithKeyRange(spec.filter, { field, ...r }), signal)
    const first = await sample({})
    if (first === undefined) return { field, ranges: [{}] }
    return { field, ranges: await planKeyRanges(domainOf(first), parts, async (r) => (await sample(r)) !== undefined, first) }
  }

  async subscription(spec: SourceSpec, signal: AbortSignal): Promise<string | null> {
    const entitySet = entitySetOf(spec)
    if (!(await this.client.subscribed(entitySet, signal))) return null
    const newest = (await this.client.deltaLinks(entitySet, signal)).at(-1)
    const since = newest ? ` (newest delta token ${newest.token}, ${newest.createdAt.toISOString()})` : ''
    return `SAP user ${this.client.user ?? '(from the service URL)'} already holds a delta subscription on ${entitySet} of ${this.client.serviceUrl}${since}`
  }

  async reset(spec: SourceSpec, signal: AbortSignal): Promise<void> {
    await this.client.terminate(entitySetOf(spec), signal)
  }

  ping(signal: AbortSignal): Promise<{ latencyMs: number }> {
    return this.client.ping(signal)
  }

  /** The checks a read makes before its first data request, against `$metadata` only. */
  async check(spec: SourceSpec, mode: 'FULL' | 'DELTA', signal: AbortSignal): Promise<SourceSpecProblem | undefined> {
    let info
    try {
      info = await this.client.entitySetNow(entitySetOf(spec), signal)
    } catch (e) {
      // Not in the metadata SAP sent (no HTTP status: SAP answered); a 404 of the service is the connection's problem.
      if (e instanceof SourceError && e.code === 'SOURCE_NOT_FOUND' && e.httpStatus === undefined)
        return { field: 'entitySet', message: e.message }
      throw e
    }
    const problem = (field: SourceSpecProblem['field'], check: () => void): SourceSpecProblem | undefined => {
      try {
        check()
        return undefined
      } catch (e) {
        if (e instanceof SourceError && e.code === 'SOURCE_BAD_REQUEST') return { field, message: e.message }
        throw e
      }
    }
    return (
      problem('fields', () => selectColumns(info, spec.fields)) ??
      (spec.filter?.trim() ? problem('filter', () => validateFilter(spec.filter!, info)) : undefined) ??
      (mode === 'DELTA' && !info.deltaCapable
        ? { field: 'mode', message: `entity set ${info.entitySet} is not delta-capable (no sap:change-tracking): use mode FULL` }
        : undefined)
    )
  }
}

function entitySetOf(spec: SourceSpec): string {
  if (!spec.entitySet) throw new Error('an ODP_ODATA source needs an entity set')
  return spec.entitySet
}
