import { createClient, type Client } from 'graphql-ws'
import WebSocket from 'ws'

/**
 * The smallest GraphQL client the demo needs: queries over HTTP, subscriptions over graphql-ws,
 * exactly as an external client would talk to the service.
 */
export class GraphQLHttpClient {
  readonly #ws: Client

  /** `token`: an API token, sent as `Authorization: Bearer` over HTTP and in connection_init over websockets. */
  constructor(
    private readonly endpoint: string,
    private readonly token: string,
  ) {
    this.#ws = createClient({
      url: endpoint.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      lazy: true,
      connectionParams: { authorization: `Bearer ${token}` },
    })
  }

  async request<T = Record<string, any>>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const res = await fetch(this.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ query, variables }),
    })
    const body = (await res.json()) as { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> }
    if (body.errors?.length) throw new Error(body.errors.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('; '))
    return body.data as T
  }

  subscribe<T = Record<string, any>>(query: string, variables: Record<string, unknown> = {}): AsyncIterableIterator<{ data?: T | null }> {
    return this.#ws.iterate({ query, variables }) as AsyncIterableIterator<{ data?: T | null }>
  }

  async close(): Promise<void> {
    await this.#ws.dispose()
  }
}
