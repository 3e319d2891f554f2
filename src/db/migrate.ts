import { createHash, randomUUID } from 'node:crypto'
import { readdirSync, readFileSync, existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import { preparePrivateFile } from './private-files.js'
import type { DbTarget } from './target.js'

/**
 * Applies the committed migrations at start-up without the Prisma CLI (its native schema engine
 * cannot be downloaded here or in many data centres). Each prisma/<provider>/migrations/<name>/
 * migration.sql runs once, in its own transaction, and is recorded in `_prisma_migrations` the way
 * `prisma migrate deploy` records it (checksum = sha256 of the file), so both tools agree about
 * what has been applied.
 */
export interface MigrationResult {
  applied: string[]
  alreadyApplied: string[]
}

/**
 * The project's prisma/ folder: above src/db when run from sources (tsx, tests), above dist/src/db when
 * compiled. Looked for rather than assumed, since a wrong path would quietly apply no migrations.
 */
function migrationsRoot(): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'prisma', 'models.prisma'))) return join(dir, 'prisma')
    if (dirname(dir) === dir) throw new MigrationError(`no prisma/ folder with the migrations above ${import.meta.dirname}`)
  }
}

export function listMigrations(provider: DbTarget['provider']): Array<{ name: string; sql: string; checksum: string }> {
  const dir = join(migrationsRoot(), provider === 'sqlite' ? 'sqlite' : 'pg', 'migrations')
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8')
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') }
    })
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError'
}

export async function migrate(target: DbTarget): Promise<MigrationResult> {
  return target.provider === 'sqlite' ? migrateSqlite(target.file) : migratePostgres(target.url)
}

function checkDrift(name: string, storedChecksum: string, checksum: string) {
  if (storedChecksum !== checksum)
    throw new MigrationError(`migration ${name} was changed after it was applied (checksum differs); restore the file`)
}

function migrateSqlite(file: string): MigrationResult {
  preparePrivateFile(file)
  const db = new Database(file)
  try {
    db.pragma('busy_timeout = 10000')
    db.exec(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
      "id" TEXT PRIMARY KEY NOT NULL, "checksum" TEXT NOT NULL, "finished_at" DATETIME,
      "migration_name" TEXT NOT NULL, "logs" TEXT, "rolled_back_at" DATETIME,
      "started_at" DATETIME NOT NULL DEFAULT current_timestamp, "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0)`)
    const result: MigrationResult = { applied: [], alreadyApplied: [] }
    for (const m of listMigrations('sqlite')) {
      // IMMEDIATE takes the write lock before reading, so two processes starting together apply each
      // migration once.
      const apply = db.transaction(() => {
        const row = db
          .prepare(
            `SELECT checksum FROM "_prisma_migrations" WHERE migration_name = ? AND finished_at IS NOT NULL AND rolled_back_at IS NULL`,
          )
          .get(m.name) as { checksum: string } | undefined
        if (row) return (checkDrift(m.name, row.checksum, m.checksum), false)
        const started = new Date().toISOString()
        db.exec(m.sql)
        db.prepare(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES (?, ?, ?, ?, ?, 1)`,
        ).run(randomUUID(), m.checksum, new Date().toISOString(), m.name, started)
        return true
      })
      ;(apply.immediate() ? result.applied : result.alreadyApplied).push(m.name)
    }
    return result
  } finally {
    db.close()
  }
}

/** The lock id `prisma migrate` itself takes, so this never runs beside a CLI deploy. */
const PRISMA_ADVISORY_LOCK = 72707369

async function migratePostgres(url: string): Promise<MigrationResult> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK])
    await client.query(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
      "id" VARCHAR(36) PRIMARY KEY NOT NULL, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ,
      "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ,
      "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0)`)
    const result: MigrationResult = { applied: [], alreadyApplied: [] }
    for (const m of listMigrations('postgresql')) {
      const { rows } = await client.query<{ checksum: string }>(
        `SELECT checksum FROM "_prisma_migrations" WHERE migration_name = $1 AND finished_at IS NOT NULL AND rolled_back_at IS NULL`,
        [m.name],
      )
      if (rows[0]) {
        checkDrift(m.name, rows[0].checksum, m.checksum)
        result.alreadyApplied.push(m.name)
        continue
      }
      const started = new Date()
      await client.query('BEGIN')
      try {
        await client.query(m.sql)
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES ($1, $2, now(), $3, $4, 1)`,
          [randomUUID(), m.checksum, m.name, started],
        )
        await client.query('COMMIT')
      } catch (e) {
        await client.query('ROLLBACK')
        throw new MigrationError(`migration ${m.name} failed: ${(e as Error).message}`)
      }
      result.applied.push(m.name)
    }
    return result
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK]).catch(() => {})
    await client.end()
  }
}
