import { createHash } from 'node:crypto'
import { conflict } from '../errors.js'
import type { SourceFactory } from '../orchestrator/sources.js'
import type { Logger } from '../util/logger.js'
import type { ConnectionCatalog } from './connections.js'
import { askSap, type SourceChecker, type SourceCheckRequest, type SourceCheckResult, sourceCheckRequest } from './source-check.js'

/**
 * Source checks asked of SAP before a database transaction instead of inside it (`apply`: README
 * "All or nothing", docs/architecture.md, `cli/`): SAP may take up to 15 s per check, and a
 * transaction held open that long makes the service's own writes wait (SQLite) or keeps rows locked
 * (PostgreSQL).
 *
 * 1. `noting()` is the checker of a rehearsal of the writes (rolled back): it notes each question
 *    the catalogue would put to SAP, as the catalogue computes it from the state it sees, and asks
 *    nothing.
 * 2. `ask()` puts the noted questions to SAP, with no transaction open.
 * 3. `answering()` is the checker of the real transaction: it answers from what SAP said. A question
 *    that was not asked (the stored state changed between the rehearsal and the transaction, so the
 *    catalogue now checks another connection or selection) is refused with CONFLICT rather than put
 *    to SAP inside the transaction.
 */
export class SourceCheckPlan {
  readonly #questions = new Map<string, SourceCheckRequest>()
  readonly #answers = new Map<string, () => SourceCheckResult>()

  /** The rehearsal's checker: notes the question, answers nothing (the rehearsal's rows are rolled back). */
  noting(connections: ConnectionCatalog): SourceChecker {
    return async (next, current) => {
      const request = await sourceCheckRequest(connections, next, current)
      if (request) this.#questions.set(keyOf(request), request)
      return undefined
    }
  }

  /** Asks SAP each noted question once, one after the other; a refusal is kept to be thrown in the transaction. */
  async ask(deps: { sources: SourceFactory; log: Logger }): Promise<void> {
    for (const [key, request] of this.#questions) {
      if (this.#answers.has(key)) continue
      try {
        const result = await askSap(deps, request)
        this.#answers.set(key, () => result)
      } catch (e) {
        this.#answers.set(key, () => {
          throw e
        })
      }
    }
  }

  /** The transaction's checker: SAP's answer to the same question, never a call to SAP. */
  answering(connections: ConnectionCatalog): SourceChecker {
    return async (next, current) => {
      const request = await sourceCheckRequest(connections, next, current)
      if (!request) return undefined
      const answer = this.#answers.get(keyOf(request))
      if (!answer)
        throw conflict(
          `the catalogue changed while SAP was asked about pipeline "${next.name}" (its connection or selection is not what was checked); nothing was applied, run apply again`,
          { field: 'source' },
        )
      return answer()
    }
  }
}

/**
 * The question, without the connection's row id (a connection the file creates gets another id in
 * the rehearsal than in the transaction); hashed, since the resolved connection holds its password.
 */
function keyOf({ connection, spec, mode }: SourceCheckRequest): string {
  const { id: _, ...settings } = connection
  return createHash('sha256').update(JSON.stringify({ settings, spec, mode })).digest('hex')
}
