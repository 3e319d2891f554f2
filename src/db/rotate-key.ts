import type { Db } from './client.js'
import { KEY_CHECK_ID, opens, opensKeyCheck, sealedSecrets, sealKeyCheck, SecretKeyMismatch, verifySecretKey } from './key-check.js'
import type { SecretBox } from './secrets.js'

/** Every column that holds a sealed secret. Add new ones here (and in sealedSecrets): rotate-key must reach them all. */
const SEALED = ['connection', 'destination'] as const

/**
 * Re-seals every stored secret and the key check value under `next`, in one transaction: either
 * everything is on the new key or nothing changed. `current` must be the key the data was sealed
 * with. Returns how many secrets were re-sealed.
 *
 * The transaction begins by writing the key check row, as every write of a secret by the service
 * does (lockCurrentKey): a service still on `current` either saves before this reads the secrets
 * (and its secret is re-sealed here) or waits and then finds the key rotated (and saves nothing).
 *
 * When the check value already opens with `next`, an earlier rotation to `next` happened and this
 * finishes it: secrets that `next` opens stay, the others are re-sealed from `current` (a database
 * left on two keys by a service that ran on through an earlier version's rotate-key).
 */
export async function rotateSecrets(db: Db, current: SecretBox, next: SecretBox, where: string): Promise<number> {
  // A database from before the key check gets its check value first (all its secrets must open).
  if (!(await db.keyCheck.findUnique({ where: { id: KEY_CHECK_ID } }))) await verifySecretKey(db, current, where)
  return db.$transaction(async (tx) => {
    await tx.$executeRaw`UPDATE "KeyCheck" SET "value" = "value" WHERE "id" = ${KEY_CHECK_ID}`
    const check = await tx.keyCheck.findUniqueOrThrow({ where: { id: KEY_CHECK_ID } })
    const finishing = opensKeyCheck(next, check.value)
    if (!finishing && !opensKeyCheck(current, check.value))
      throw new SecretKeyMismatch(`SECRET_KEY does not open the secrets stored in ${where}: it is not the key they were encrypted with`)
    const lost = (await sealedSecrets(tx)).filter((r) => !opens(current, r.secret) && !(finishing && opens(next, r.secret)))
    if (lost.length)
      throw new SecretKeyMismatch(`neither key opens the secrets of ${lost.map((r) => r.what).join(', ')}; nothing was changed`)
    let count = 0
    for (const table of SEALED) {
      const model = tx[table] as unknown as {
        findMany(a: object): Promise<Array<{ id: string; secret: string | null }>>
        update(a: object): Promise<unknown>
      }
      for (const row of await model.findMany({ where: { secret: { not: null } }, select: { id: true, secret: true } })) {
        if (finishing && opens(next, row.secret!)) continue
        await model.update({ where: { id: row.id }, data: { secret: next.seal(current.open(row.secret!)) } })
        count++
      }
    }
    if (!finishing) await tx.keyCheck.update({ where: { id: KEY_CHECK_ID }, data: { value: sealKeyCheck(next) } })
    return count
  })
}
