import { existsSync, renameSync, rmSync } from 'node:fs'
import type { Config } from '../config.js'
import { openDb } from '../db/client.js'
import { verifiedKeyFile } from '../db/key-check.js'
import { migrate } from '../db/migrate.js'
import { rotateSecrets } from '../db/rotate-key.js'
import { generateKey, keyFile, resolveSecretKey, SecretBox, writeKeyFile } from '../db/secrets.js'
import { dbTarget, describeTarget } from '../db/target.js'

/**
 * `delta-extractor rotate-key`: re-encrypts every stored secret under a new key, in one transaction.
 * Stop the service first: a running one still holds the old key (it refuses to save secrets under
 * it, see db/current-key.ts, until it is restarted with the new one).
 *
 * - SECRET_KEY set: the new key is NEW_SECRET_KEY; afterwards set SECRET_KEY to it.
 * - no SECRET_KEY (the generated DATA_DIR/secret.key): a new key is generated (or NEW_SECRET_KEY
 *   taken) and replaces the file. It is written to secret.key.new before the transaction and renamed
 *   after it, so a crash in between is finished by the next start (see verifiedKeyFile).
 */
export async function rotateKey(config: Config): Promise<number> {
  if (config.SECRET_KEY && !config.NEW_SECRET_KEY) {
    console.error('rotate-key: SECRET_KEY is set, so the new key must be given as NEW_SECRET_KEY (at least 16 characters)')
    return 2
  }
  const target = dbTarget(config.DATABASE_URL, config.DATA_DIR)
  const where = describeTarget(target)
  await migrate(target)
  const db = await openDb(target)
  try {
    const fileMode = !config.SECRET_KEY
    const current = fileMode
      ? await verifiedKeyFile(db, config.DATA_DIR, resolveSecretKey(undefined, config.DATA_DIR), where)
      : new SecretBox(config.SECRET_KEY!)
    const nextKey = config.NEW_SECRET_KEY ?? generateKey()
    const pending = `${keyFile(config.DATA_DIR)}.new`
    if (fileMode) writeKeyFile(pending, nextKey)
    let count: number
    try {
      count = await rotateSecrets(db, current, new SecretBox(nextKey), where)
    } catch (e) {
      if (fileMode && existsSync(pending)) rmSync(pending)
      throw e
    }
    if (fileMode) renameSync(pending, keyFile(config.DATA_DIR))
    console.log(`${where}: ${count} secret(s) re-encrypted under the new key.`)
    console.log(
      fileMode
        ? `The new key is in ${keyFile(config.DATA_DIR)}; back it up with the database.`
        : 'Set SECRET_KEY to the value of NEW_SECRET_KEY before starting the service again.',
    )
    return 0
  } finally {
    await db.$disconnect()
  }
}
