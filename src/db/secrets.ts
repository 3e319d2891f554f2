import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ensurePrivateDir } from './private-files.js'

/**
 * Encrypts secrets at rest (SAP passwords, storage keys) with AES-256-GCM. The stored form is
 * `v1:<base64(iv | tag | ciphertext)>`; the version prefix leaves room for key rotation.
 */
export class SecretBox {
  readonly #key: Buffer

  constructor(secretKey: string) {
    // Any string of >= 16 characters is accepted; hashing it gives a uniform 256-bit key.
    this.#key = createHash('sha256').update(secretKey, 'utf8').digest()
  }

  seal(value: unknown): string {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv)
    const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()])
    return 'v1:' + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')
  }

  open<T>(sealed: string): T {
    if (!sealed.startsWith('v1:')) throw new Error('unknown secret format')
    const raw = Buffer.from(sealed.slice(3), 'base64')
    const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12))
    decipher.setAuthTag(raw.subarray(12, 28))
    const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')
    return JSON.parse(text) as T
  }
}

/**
 * SECRET_KEY when set; otherwise a key generated into DATA_DIR on first start (readable by the owner
 * only), so a laptop install encrypts from day one without any setup.
 */
export function resolveSecretKey(secretKey: string | undefined, dataDir: string): string {
  if (secretKey) return secretKey
  const file = keyFile(dataDir)
  if (existsSync(file)) return readFileSync(file, 'utf8').trim()
  ensurePrivateDir(dataDir)
  const key = generateKey()
  writeKeyFile(file, key)
  return key
}

/** Where a generated key lives: DATA_DIR/secret.key. */
export const keyFile = (dataDir: string) => join(dataDir, 'secret.key')

export const generateKey = () => randomBytes(32).toString('base64')

/** Writes a key file readable by the owner only (also when the file existed with wider rights). */
export function writeKeyFile(file: string, key: string): void {
  writeFileSync(file, key + '\n', { mode: 0o600 })
  chmodSync(file, 0o600)
}
