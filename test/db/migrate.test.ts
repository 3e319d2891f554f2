import { createHash } from 'node:crypto'
import Database from 'better-sqlite3'
import pg from 'pg'
import { afterEach, expect, it } from 'vitest'
import { listMigrations, migrate, MigrationError } from '../../src/db/migrate.js'
import { dbTarget } from '../../src/db/target.js'
import { createTestDatabase, type TestDatabase } from '../helpers/database.js'

let db: TestDatabase
afterEach(() => db?.drop())

type Recorded = { migration_name: string; checksum: string; finished_at: unknown; applied_steps_count: number }

async function recorded(t: ReturnType<typeof dbTarget>, sql: string): Promise<Recorded[]> {
  if (t.provider === 'sqlite') {
    const s = new Database(t.file)
    try {
      return s.prepare(sql).all() as Recorded[]
    } finally {
      s.close()
    }
  }
  const c = new pg.Client({ connectionString: t.url })
  await c.connect()
  try {
    return (await c.query(sql)).rows
  } finally {
    await c.end()
  }
}

it('applies the committed migrations once and records them the way prisma migrate deploy does', async () => {
  db = await createTestDatabase()
  const target = dbTarget(db.databaseUrl, db.dataDir)
  const files = listMigrations(target.provider)
  expect(files.length).toBeGreaterThan(0)
  const first = await migrate(target)
  // the postgres test database is cloned from an already migrated template
  if (db.kind === 'sqlite') expect(first.applied).toEqual(files.map((f) => f.name))
  expect(await migrate(target)).toEqual({ applied: [], alreadyApplied: files.map((f) => f.name) })

  const rows = await recorded(
    target,
    'SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name',
  )
  expect(rows.map((r) => [r.migration_name, r.checksum, r.applied_steps_count])).toEqual(
    files.map((f) => [f.name, createHash('sha256').update(f.sql).digest('hex'), 1]),
  )
  expect(rows.every((r) => r.finished_at != null)).toBe(true)
  const tables = await recorded(
    target,
    target.provider === 'sqlite'
      ? `SELECT name AS migration_name FROM sqlite_master WHERE type = 'table' ORDER BY name`
      : `SELECT table_name AS migration_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
  )
  expect(tables.map((t) => t.migration_name)).toEqual(
    expect.arrayContaining(['Connection', 'DeltaState', 'Destination', 'Pipeline', 'Run', 'RunEvent', '_prisma_migrations']),
  )
})

it('refuses to start on a database whose applied migration was edited afterwards', async () => {
  db = await createTestDatabase()
  const target = dbTarget(db.databaseUrl, db.dataDir)
  await migrate(target)
  const name = listMigrations(target.provider)[0].name
  const tamper = `UPDATE "_prisma_migrations" SET checksum = 'x' WHERE migration_name = '${name}'`
  if (target.provider === 'sqlite') {
    const s = new Database(target.file)
    s.exec(tamper)
    s.close()
  } else await recorded(target, tamper)
  await expect(migrate(target)).rejects.toThrow(MigrationError)
  await expect(migrate(target)).rejects.toThrow(/changed after it was applied/)
})
