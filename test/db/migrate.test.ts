import { createHash, randomBytes } from 'node:crypto'
import Database from 'better-sqlite3'
import pg from 'pg'
import { afterEach, expect, it } from 'vitest'
import { listMigrations, migrate, MigrationError } from '../../src/db/migrate.js'
import { dbTarget } from '../../src/db/target.js'
import { createTestDatabase, type TestDatabase } from '../helpers/database.js'
import { adminQuery, PG_ADMIN_URL } from '../helpers/pg-template.js'

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

it('numbers existing objects in creation order, then every new one from a counter that never goes back', async () => {
  db = await createTestDatabase()
  const files = listMigrations(dbTarget(db.databaseUrl, db.dataDir).provider)
  const last = files.findIndex((f) => f.name.endsWith('_object_numbers'))
  expect(last).toBeGreaterThan(0)
  const connection = (id: string, name: string, at: string) =>
    `INSERT INTO "Connection" ("id", "name", "protocol", "config", "createdAt", "updatedAt") VALUES ('${id}', '${name}', 'ODATA', '{}', '${at}', '${at}')`
  const steps = [
    ...files.slice(0, last).map((f) => f.sql),
    // made in this order, ids the other way round: creation time decides
    connection('b', 'second', '2026-01-02T00:00:00.000Z'),
    connection('a', 'first', '2026-01-01T00:00:00.000Z'),
    files[last].sql,
    connection('c', 'third', '2026-01-03T00:00:00.000Z'),
    `DELETE FROM "Connection" WHERE "id" = 'c'`,
    connection('d', 'fourth', '2026-01-04T00:00:00.000Z'),
  ]
  const numbers = await onEmptyDatabase(steps, 'SELECT "id", "number" FROM "Connection" ORDER BY "number"')
  expect(numbers).toEqual([
    { id: 'a', number: 1 },
    { id: 'b', number: 2 },
    { id: 'd', number: 4 },
  ])
})

/** Runs SQL scripts on a database no migration has touched (the PostgreSQL test databases are cloned migrated), and one query at the end. */
async function onEmptyDatabase(scripts: string[], query: string): Promise<unknown[]> {
  if (db.kind === 'sqlite') {
    const s = new Database(`${db.dataDir}/numbers.db`)
    try {
      for (const sql of scripts) s.exec(sql)
      return s.prepare(query).all()
    } finally {
      s.close()
    }
  }
  const name = `de_n_${randomBytes(6).toString('hex')}`
  await adminQuery(`CREATE DATABASE ${name}`)
  const url = new URL(PG_ADMIN_URL)
  url.pathname = `/${name}`
  const c = new pg.Client({ connectionString: url.href })
  await c.connect()
  try {
    for (const sql of scripts) await c.query(sql)
    return (await c.query(query)).rows
  } finally {
    await c.end()
    await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  }
}
