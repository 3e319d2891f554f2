import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs'

/**
 * DATA_DIR holds the SQLite database (every connection and destination, secrets sealed), the
 * generated key that unseals them and staged Parquet files: readable by the service's user only.
 */

/** Creates DATA_DIR (0700) when missing; says whether an existing one is open to others. */
export function ensurePrivateDir(dir: string): { openToOthers: boolean } {
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    chmodSync(dir, 0o700) // mkdir's mode is filtered through the umask
    return { openToOthers: false }
  }
  return { openToOthers: (statSync(dir).mode & 0o077) !== 0 }
}

/**
 * The SQLite file, created 0600 before SQLite opens it (SQLite gives its -wal and -shm files the
 * database file's mode), or tightened to 0600 when an older version left it 0644.
 */
export function preparePrivateFile(file: string): void {
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600))
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f) && (statSync(f).mode & 0o077) !== 0) chmodSync(f, 0o600)
}
