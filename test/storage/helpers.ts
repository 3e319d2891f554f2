import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ObjectStoreOptions } from '../../src/storage/object-store.js'
import { TEST_OUTBOUND } from '../helpers/outbound.js'

/** Short retries: a refused connection fails in milliseconds, not seconds. */
export const QUICK: ObjectStoreOptions = {
  retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
  sdkTries: 2,
  requestTimeoutMs: 15_000,
  outbound: TEST_OUTBOUND,
}

/** A folder of random files for one test file; `file(mb)` writes one and returns its path and sha256. */
export async function scratch() {
  const dir = await mkdtemp(join(tmpdir(), 'de-storage-'))
  let n = 0
  return {
    dir,
    async file(mb: number): Promise<{ path: string; bytes: Buffer; sha256: string }> {
      const bytes = randomBytes(Math.round(mb * 1024 * 1024))
      const path = join(dir, `f${n++}.bin`)
      await writeFile(path, bytes)
      return { path, bytes, sha256: createHash('sha256').update(bytes).digest('hex') }
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  }
}
