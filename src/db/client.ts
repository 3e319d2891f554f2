import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient as SqliteClient } from './generated/sqlite/client.js'
import { PrismaClient as PgClient } from './generated/pg/client.js'
import type { DbTarget } from './target.js'

export { Prisma } from './generated/sqlite/client.js'
export type * from './generated/sqlite/client.js'

/**
 * The Prisma client the rest of the code uses. Both generated clients come from the same models, so
 * they share one type; only their query compilers differ (SQLite vs PostgreSQL SQL).
 */
export type Db = SqliteClient

export interface DbOptions {
  /** Called with each SQL statement Prisma sends: the hook behind statement counts in tests and benchmarks. */
  onQuery?: (sql: string) => void
}

export async function openDb(target: DbTarget, opts: DbOptions = {}): Promise<Db> {
  const log = opts.onQuery ? [{ emit: 'event' as const, level: 'query' as const }] : []
  let db: Db
  if (target.provider === 'sqlite') {
    // busy_timeout: the API and the orchestrator write from the same process through one connection,
    // but a CLI `run` or a second process may hold the write lock for a moment.
    db = new SqliteClient({ adapter: new PrismaBetterSqlite3({ url: target.file, timeout: 10_000 }), log }) as Db
    await db.$executeRawUnsafe('PRAGMA journal_mode = WAL')
    await db.$executeRawUnsafe('PRAGMA foreign_keys = ON')
  } else {
    db = new PgClient({ adapter: new PrismaPg({ connectionString: target.url, max: 10 }), log }) as unknown as Db
  }
  if (opts.onQuery) {
    const onQuery = opts.onQuery
    ;(db as unknown as { $on(e: 'query', cb: (e: { query: string }) => void): void }).$on('query', (e) => onQuery(e.query))
  }
  return db
}
