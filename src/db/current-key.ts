import type { Db, Prisma } from './client.js'
import { DomainError } from '../errors.js'
import { KEY_CHECK_ID, opensKeyCheck } from './key-check.js'
import type { SecretBox } from './secrets.js'

type Tx = Prisma.TransactionClient

/**
 * Refused write of a secret: the database's key is no longer the one this process holds. Sealing
 * under the old key would leave the database on two keys, and the next start (on the new key) could
 * not open what was written.
 */
const keyRotated = () =>
  new DomainError(
    'SECRET_KEY_ROTATED',
    'the secret key was rotated while this service was running; restart it with the new key (nothing was saved)',
  )

/**
 * Inside a transaction, before anything is written: locks the key check row and proves that `box`
 * still opens it, or throws SECRET_KEY_ROTATED. The lock is a write to the row (nothing changes),
 * the statement rotate-key's transaction also begins with (rotateSecrets), so the two cannot
 * interleave: on PostgreSQL the row lock makes the second wait for the first to commit, and it then
 * reads what the first wrote (the new check value, or the new row rotate-key re-seals); SQLite has
 * one writer at a time, and a transaction that begins with a write reads the latest data.
 * Cheap: one indexed update and one AES-GCM open of a short value.
 */
export async function lockCurrentKey(tx: Tx, box: SecretBox): Promise<void> {
  await tx.$executeRaw`UPDATE "KeyCheck" SET "value" = "value" WHERE "id" = ${KEY_CHECK_ID}`
  const row = await tx.keyCheck.findUnique({ where: { id: KEY_CHECK_ID } })
  // The row is written at the first start (verifySecretKey); without it there is nothing to check against.
  if (!row) throw new Error('the key check value is missing from the database; restart the service to record it')
  if (!opensKeyCheck(box, row.value)) throw keyRotated()
}

/** Runs `write` (which stores sealed secrets) in a transaction that first proves the key is still current (lockCurrentKey). */
export function withCurrentKey<T>(db: Db, box: SecretBox, write: (tx: Tx) => Promise<T>): Promise<T> {
  return db.$transaction(async (tx) => {
    await lockCurrentKey(tx, box)
    return write(tx)
  })
}
