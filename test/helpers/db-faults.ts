/**
 * Faults inside the metadata database itself, made with the database's own triggers: the service's
 * statements really fail, the way a busy SQLite file or a dropped PostgreSQL connection fails them.
 * Each returns the statement that removes it again.
 */
import type { Db } from '../../src/db/client.js'
import type { TestDbKind } from './database.js'

export interface DbFault {
  remove(): Promise<void>
}

async function trigger(db: Db, kind: TestDbKind, name: string, when: string, sqliteEvent: string, pgEvent: string): Promise<DbFault> {
  if (kind === 'sqlite') {
    await db.$executeRawUnsafe(
      `CREATE TRIGGER ${name} BEFORE ${sqliteEvent} ON "Run" WHEN ${when} BEGIN SELECT RAISE(ABORT, 'injected fault ${name}'); END`,
    )
    return { remove: async () => void (await db.$executeRawUnsafe(`DROP TRIGGER IF EXISTS ${name}`)) }
  }
  await db.$executeRawUnsafe(
    `CREATE FUNCTION ${name}() RETURNS trigger AS $$ BEGIN IF ${when} THEN RAISE EXCEPTION 'injected fault ${name}'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`,
  )
  await db.$executeRawUnsafe(`CREATE TRIGGER ${name} BEFORE ${pgEvent} ON "Run" FOR EACH ROW EXECUTE FUNCTION ${name}()`)
  return {
    remove: async () => {
      await db.$executeRawUnsafe(`DROP TRIGGER IF EXISTS ${name} ON "Run"`)
      await db.$executeRawUnsafe(`DROP FUNCTION IF EXISTS ${name}()`)
    },
  }
}

/** Every statement that would mark a run SUCCEEDED fails: the commit transaction is refused. */
export const refuseCommits = (db: Db, kind: TestDbKind) =>
  trigger(db, kind, 'refuse_commits', `NEW."status" = 'SUCCEEDED'`, 'UPDATE OF "status"', 'UPDATE')
