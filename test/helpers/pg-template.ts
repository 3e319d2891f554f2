/**
 * Global setup of the postgres project: one migrated template database per test run; each test
 * file clones it (CREATE DATABASE … TEMPLATE), which takes milliseconds instead of re-migrating.
 */
import pg from 'pg'
import { migrate } from '../../src/db/migrate.js'
import type { TestProject } from 'vitest/node'

export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'

export async function setup(project: TestProject) {
  const name = `de_tpl_${process.pid}`
  await adminQuery(`DROP DATABASE IF EXISTS ${name}`)
  await adminQuery(`CREATE DATABASE ${name}`)
  const url = new URL(PG_ADMIN_URL)
  url.pathname = `/${name}`
  await migrate({ provider: 'postgresql', url: url.href })
  project.provide('pgTemplate', name)
  return async () => {
    await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  }
}

export async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL })
  await c.connect()
  try {
    await c.query(sql)
  } finally {
    await c.end()
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgTemplate: string
  }
}
