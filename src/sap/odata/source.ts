import type { Source, SourceRead, SourceReadRequest, SourceSpec } from '../source.js'
import type { ODataOdpClient } from './client.js'

/** ODP over OData as a {@link Source}: the position is the delta link SAP returned, verbatim. */
export class ODataSource implements Source {
  constructor(private readonly client: ODataOdpClient) {}

  async read({ spec, mode, position, signal }: SourceReadRequest): Promise<SourceRead> {
    const read = await this.client.read({
      entitySet: entitySetOf(spec),
      mode,
      select: spec.fields,
      filter: spec.filter,
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
}

function entitySetOf(spec: SourceSpec): string {
  if (!spec.entitySet) throw new Error('an ODP_ODATA source needs an entity set')
  return spec.entitySet
}
