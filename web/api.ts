/**
 * The dashboard's one connection to the service: urql over HTTP for queries and mutations,
 * graphql-ws on the same origin for subscriptions (directly, so the page sees when one completes),
 * both carrying the token the user entered.
 */
import { Client, fetchExchange, stringifyDocument, type AnyVariables, type CombinedError, type TypedDocumentNode } from '@urql/core'
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws'

/** sessionStorage: the token lives as long as the tab, is never written to a URL or to disk by the page, and is not shared with other tabs. */
const TOKEN_KEY = 'delta-extractor.token'

export const storedToken = (): string | null => sessionStorage.getItem(TOKEN_KEY)
export const storeToken = (token: string): void => sessionStorage.setItem(TOKEN_KEY, token)
export const forgetToken = (): void => sessionStorage.removeItem(TOKEN_KEY)

export interface Api {
  query<R, V extends AnyVariables>(doc: TypedDocumentNode<R, V>, variables: V): Promise<R>
  mutate<R, V extends AnyVariables>(doc: TypedDocumentNode<R, V>, variables: V): Promise<R>
  /** Calls onData for each result until the subscription completes; returns the unsubscribe. */
  subscribe<R, V extends AnyVariables>(
    doc: TypedDocumentNode<R, V>,
    variables: V,
    onData: (data: R) => void,
    onEnd?: () => void,
  ): () => void
  close(): void
}

export function connect(token: string, onTokenRefused: () => void): Api {
  const ws: WsClient = createWsClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: true,
    on: { closed: (e) => isTokenClose(e) && onTokenRefused() },
  })
  const client = new Client({
    url: '/graphql',
    // POST with a JSON body: Yoga's CSRF prevention lets it through; urql's default GET for short queries would need its header.
    preferGetMethod: false,
    requestPolicy: 'network-only',
    fetchOptions: () => ({ headers: { authorization: `Bearer ${token}` } }),
    exchanges: [fetchExchange],
  })
  const settle = <R>(result: { data?: R; error?: CombinedError }): R => {
    // A refused token (401 here, 4401/4403 on the websocket): the page asks for it again.
    if (result.error?.response?.status === 401) onTokenRefused()
    if (result.error) throw new Error(messageOf(result.error))
    return result.data as R
  }
  return {
    query: async (doc, variables) => settle(await client.query(doc, variables).toPromise()),
    mutate: async (doc, variables) => settle(await client.mutation(doc, variables).toPromise()),
    subscribe: (doc, variables, onData, onEnd) =>
      ws.subscribe(
        { query: stringifyDocument(doc), variables: variables as Record<string, unknown> },
        {
          next: (r) => r.data && onData(r.data as Parameters<typeof onData>[0]),
          error: (e) => (console.warn('subscription failed', e), onEnd?.()),
          complete: () => onEnd?.(),
        },
      ),
    close: () => void ws.dispose(),
  }
}

/** The service's message, without urql's "[GraphQL]" prefix: what the user can act on. */
const messageOf = (e: CombinedError): string => e.graphQLErrors[0]?.message ?? e.networkError?.message ?? e.message

const isTokenClose = (e: unknown): boolean => {
  const code = (e as { code?: number } | null)?.code
  return code === 4401 || code === 4403
}
