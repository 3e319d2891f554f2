import { existsSync, readFileSync, renameSync } from 'node:fs'
import type { Db } from './client.js'
import { isUniqueViolation } from '../catalog/prisma-errors.js'
import { keyFile, SecretBox } from './secrets.js'

/**
 * A key check value stored with the data: a constant sealed with SECRET_KEY (AES-GCM, so another
 * key cannot open it). Without it a wrong key started fine and every secret failed later, one
 * "Unexpected error" at a time.
 */
const CHECK_TEXT = 'delta-extractor key check v1'
export const KEY_CHECK_ID = 1

/** The service must not start: the key cannot open what the database holds. */
export class SecretKeyMismatch extends Error {
  override readonly name = 'SecretKeyMismatch'
}

export const sealKeyCheck = (box: SecretBox) => box.seal(CHECK_TEXT)

export function opens(box: SecretBox, sealed: string): boolean {
  try {
    box.open(sealed)
    return true
  } catch {
    return false
  }
}

/** Whether `value` is the key check value sealed with `box`'s key. */
export const opensKeyCheck = (box: SecretBox, value: string): boolean => opens(box, value) && box.open<string>(value) === CHECK_TEXT

/** Every stored secret, with what names its row in a message. Add new sealed columns here and in rotate-key.ts. */
export async function sealedSecrets(db: Pick<Db, 'connection' | 'destination'>): Promise<Array<{ what: string; secret: string }>> {
  const where = { secret: { not: null } }
  const select = { id: true, name: true, secret: true } as const
  return [
    ...(await db.connection.findMany({ where, select })).map((r) => ({ what: `connection "${r.name}" (${r.id})`, secret: r.secret! })),
    ...(await db.destination.findMany({ where, select })).map((r) => ({ what: `destination "${r.name}" (${r.id})`, secret: r.secret! })),
  ]
}

/**
 * Proves `box` holds the key the database's secrets were sealed with, or throws SecretKeyMismatch
 * naming SECRET_KEY. On the first start of a database without a check value (new, or from before
 * this check existed), every stored secret must open with the key before the check value is written.
 */
export async function verifySecretKey(db: Db, box: SecretBox, where: string): Promise<'verified' | 'recorded'> {
  const row = await db.keyCheck.findUnique({ where: { id: KEY_CHECK_ID } })
  if (row && !opensKeyCheck(box, row.value)) throw mismatch(where)
  // Every secret, not only the check value: a database left on two keys (a secret sealed by a
  // service that ran on through rotate-key) would start, then fail on those rows one "Unexpected
  // error" at a time. An AES-GCM open per secret is cheap.
  const sealed = await sealedSecrets(db)
  const failing = sealed.filter((r) => !opens(box, r.secret))
  if (row) {
    if (failing.length)
      throw mixedKeys(
        where,
        failing.map((r) => r.what),
      )
    return 'verified'
  }
  if (failing.length) throw mismatch(where, `${failing.length} of ${sealed.length} stored secrets`)
  try {
    await db.keyCheck.create({ data: { id: KEY_CHECK_ID, value: sealKeyCheck(box) } })
  } catch (e) {
    // Another process started at the same moment and wrote it first: check against theirs.
    if (!isUniqueViolation(e)) throw e
    return verifySecretKey(db, box, where)
  }
  return 'recorded'
}

function mismatch(where: string, what = 'the secrets'): SecretKeyMismatch {
  return new SecretKeyMismatch(
    `SECRET_KEY does not open ${what} stored in ${where}: it is not the key they were encrypted with. ` +
      'Start with the SECRET_KEY used before (or, without SECRET_KEY, the DATA_DIR/secret.key that belongs to this database). ' +
      'To change the key, run `delta-extractor rotate-key` with the old key as SECRET_KEY and the new one as NEW_SECRET_KEY.',
  )
}

function mixedKeys(where: string, rows: string[]): SecretKeyMismatch {
  const named = rows.length > 20 ? `${rows.slice(0, 20).join(', ')} and ${rows.length - 20} more` : rows.join(', ')
  return new SecretKeyMismatch(
    `the key opens the key check value in ${where} but not the secrets of ${named}: they were sealed under another key ` +
      '(for example by a service that kept running through rotate-key). If that was the key before a rotation, run ' +
      '`delta-extractor rotate-key` again with it as SECRET_KEY and the current key as NEW_SECRET_KEY: it re-seals what the current key does not open. ' +
      'If that key is lost, so are those secrets: remove the rows (or their secret column) and create them again.',
  )
}

/**
 * The key of a service without SECRET_KEY, from DATA_DIR/secret.key. rotate-key writes the new key
 * to secret.key.new before its transaction and renames it afterwards; a crash in between leaves the
 * database on the new key and secret.key on the old one, which this finishes on the next start.
 */
export async function verifiedKeyFile(db: Db, dataDir: string, key: string, where: string): Promise<SecretBox> {
  const box = new SecretBox(key)
  try {
    await verifySecretKey(db, box, where)
    return box
  } catch (e) {
    const pending = `${keyFile(dataDir)}.new`
    if (!(e instanceof SecretKeyMismatch) || !existsSync(pending)) throw e
    const next = new SecretBox(readFileSync(pending, 'utf8').trim())
    await verifySecretKey(db, next, where)
    renameSync(pending, keyFile(dataDir))
    return next
  }
}
