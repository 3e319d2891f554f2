import { join, resolve } from 'node:path'
import { ensurePrivateDir } from './private-files.js'

/** Which database the service uses: DATABASE_URL when set, else a SQLite file under DATA_DIR. */
export type DbTarget = { provider: 'sqlite'; file: string } | { provider: 'postgresql'; url: string }

export function dbTarget(databaseUrl: string | undefined, dataDir: string): DbTarget {
  if (databaseUrl?.startsWith('postgres')) return { provider: 'postgresql', url: databaseUrl }
  if (databaseUrl?.startsWith('file:')) return { provider: 'sqlite', file: resolve(databaseUrl.slice('file:'.length)) }
  ensurePrivateDir(dataDir)
  return { provider: 'sqlite', file: resolve(join(dataDir, 'delta-extractor.db')) }
}

/** The target as text that is safe to log: no password. */
export function describeTarget(t: DbTarget): string {
  if (t.provider === 'sqlite') return `sqlite:${t.file}`
  const u = new URL(t.url)
  u.password = ''
  return `postgresql://${u.username ? u.username + '@' : ''}${u.host}${u.pathname}`
}
