import type { Db } from './client.js'
import { sealKeyCheck, verifySecretKey } from './key-check.js'
import type { SecretBox } from './secrets.js'

/** Every column that holds a sealed secret. Add new ones here: rotate-key must reach them all. */
const SEALED = ['connection', 'destination'] as const

/**
 * Re-seals every stored secret and the key check value under `next`, in one transaction: either
 * everything is on the new key or nothing changed. `current` must be the key the data was sealed
 * with (checked first). Returns how many secrets were re-sealed.
 */
export async function rotateSecrets(db: Db, current: SecretBox, next: SecretBox, where: string): Promise<number> {
  await verifySecretKey(db, current, where)
  return db.$transaction(async (tx) => {
    let count = 0
    for (const table of SEALED) {
      const model = tx[table] as unknown as {
        findMany(a: object): Promise<Array<{ id: string; secret: string | null }>>
        update(a: object): Promise<unknown>
      }
      for (const row of await model.findMany({ where: { secret: { not: null } }, select: { id: true, secret: true } })) {
        await model.update({ where: { id: row.id }, data: { secret: next.seal(current.open(row.secret!)) } })
        count++
      }
    }
    await tx.keyCheck.update({ where: { id: 1 }, data: { value: sealKeyCheck(next) } })
    return count
  })
}
