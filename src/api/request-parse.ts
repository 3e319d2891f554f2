import { GraphQLError } from 'graphql'
import type { Plugin } from 'graphql-yoga'
import type { Logger } from '../util/logger.js'

/**
 * Yoga parses a GET request's `variables` and `extensions` parameters with a bare JSON.parse, so
 * `?variables={` threw a SyntaxError that reached error masking as an unexpected error: a 500-class
 * INTERNAL_SERVER_ERROR to the caller and an error-level log line with a stack for a typo. A body
 * parser that cannot read the request is the caller's mistake: 400 BAD_REQUEST, without the parser's
 * message (it quotes the text it could not read).
 */
export function useRequestParseErrors(log: Logger): Plugin {
  return {
    onRequestParse({ requestParser, setRequestParser }) {
      if (!requestParser) return
      setRequestParser(async (request) => {
        try {
          return await requestParser(request)
        } catch (e) {
          if (!(e instanceof SyntaxError)) throw e
          log.info({ code: 'BAD_REQUEST' }, 'request refused')
          throw new GraphQLError('the request is not valid: a JSON parameter (variables or extensions) could not be read', {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          })
        }
      })
    },
  }
}
