import type { Plugin } from 'graphql-yoga'
import type { Principal } from '../../auth/roles.js'
import type { TokenService } from '../../auth/tokens.js'

/** The server context of an HTTP request, once its token has been resolved. */
export interface AuthenticatedServerContext {
  principal?: Principal
}

/** The token of an `Authorization: Bearer <token>` header (or a bare token, as some clients send). */
export function bearerToken(header: string | null | undefined): string | undefined {
  if (!header) return undefined
  const m = /^\s*(?:bearer\s+)?(\S+)\s*$/i.exec(header)
  return m?.[1]
}

/**
 * HTTP and SSE: the token is resolved once per request, before the body is parsed, so a caller
 * without a valid token costs one hash and (at most) one indexed lookup. Every request that reaches
 * Yoga is checked, whatever its path (server.ts lets one path through). GraphiQL's page itself (GET
 * with Accept: text/html) is answered before Yoga and needs no token: it holds no data, and the
 * token goes into its headers editor. CORS preflights are answered by Yoga's CORS plugin, before this.
 */
export function useHttpAuthentication(tokens: TokenService): Plugin<{}, AuthenticatedServerContext> {
  return {
    async onRequest({ request, serverContext, endResponse, fetchAPI }) {
      const token = bearerToken(request.headers.get('authorization'))
      const principal = token ? await tokens.authenticate(token) : undefined
      if (principal) {
        serverContext.principal = principal
        return
      }
      const message = token
        ? 'the API token is not valid (unknown or revoked)'
        : 'an API token is required: send Authorization: Bearer <token>'
      endResponse(
        new fetchAPI.Response(JSON.stringify({ errors: [{ message, extensions: { code: 'UNAUTHENTICATED' } }] }), {
          status: 401,
          headers: { 'content-type': 'application/json; charset=utf-8', 'www-authenticate': 'Bearer' },
        }),
      )
    },
  }
}
