import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inject } from 'vitest'
import { adminQuery, PG_ADMIN_URL } from './pg-template.js'

export type TestDbKind = 'sqlite' | 'postgres'
export const TEST_DB: TestDbKind = process.env.TEST_DB === 'postgres' ? 'postgres' : 'sqlite'

export interface TestDatabase {
  kind: TestDbKind
  /** DATABASE_URL for the app: undefined means SQLite under dataDir (the embedded default). */
  databaseUrl: string | undefined
  dataDir: string
  drop(): Promise<void>
}

/** A fresh, migrated-on-start database and data folder for one test file (or one test). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), 'de-test-'))
  if (TEST_DB === 'sqlite')
    return { kind: 'sqlite', databaseUrl: undefined, dataDir, drop: () => rm(dataDir, { recursive: true, force: true }) }
  const name = `de_t_${randomBytes(6).toString('hex')}`
  await adminQuery(`CREATE DATABASE ${name} TEMPLATE ${inject('pgTemplate')}`)
  const url = new URL(PG_ADMIN_URL)
  url.pathname = `/${name}`
  return {
    kind: 'postgres',
    databaseUrl: url.href,
    dataDir,
    drop: async () => {
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}
