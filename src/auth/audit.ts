import type { Db } from '../db/client.js'
import type { Logger } from '../util/logger.js'

/** The actor of changes made on the command line (no token involved). */
export const CLI_ACTOR = 'cli'

export interface AuditEntry {
  /** Token name, or CLI_ACTOR. */
  actor: string
  actorTokenId?: string
  /** What was done, named after the mutation: createConnection, runPipeline, revokeApiToken … */
  action: string
  objectType: string
  objectId?: string | null
}

/**
 * The audit trail: who changed what, and when. Entries name objects by id only, never by their
 * settings, so a secret cannot end up here.
 */
export class AuditLog {
  constructor(
    private readonly db: Db,
    private readonly log: Logger,
  ) {}

  /**
   * Records an entry. The change it describes has already happened, so a failure to record is
   * logged (with the entry) rather than turned into an error for a change that did take place.
   */
  async record(entry: AuditEntry): Promise<void> {
    try {
      await this.db.auditEvent.create({ data: { ...entry, objectId: entry.objectId ?? null } })
    } catch (err) {
      this.log.error({ err, audit: entry }, 'could not write an audit event')
    }
  }
}
