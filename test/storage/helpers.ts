import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AzureBlobSettings } from '../../src/storage/azure-auth.js'
import { AzureBlobDestination } from '../../src/storage/azure-blob.js'
import type { ObjectStoreOptions } from '../../src/storage/object-store.js'
import { S3Destination } from '../../src/storage/s3.js'
import type { S3Settings } from '../../src/storage/s3-settings.js'
import { AZURITE_ACCOUNT, AZURITE_KEY } from '../helpers/azurite.js'
import { S3RVER_KEY_ID, S3RVER_SECRET } from '../helpers/s3rver.js'
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

/**
 * A destination on container `lake`, prefix `root` of a running Azurite, signed with the account key
 * (the set-up the storage and lake tests share); `over` changes a setting.
 */
export function azuriteDestination(accountUrl: string, over: Partial<AzureBlobSettings> = {}): AzureBlobDestination {
  return new AzureBlobDestination(
    {
      container: 'lake',
      prefix: 'root',
      accountUrl,
      accountName: AZURITE_ACCOUNT,
      auth: 'ACCOUNT_KEY',
      blockSizeMb: 1,
      uploadConcurrency: 2,
      ...over,
    },
    { accountKey: AZURITE_KEY },
    QUICK,
  )
}

/** A destination on bucket `lake`, prefix `root` of a running s3rver; `over` changes a setting. */
export function s3rverDestination(endpoint: string, over: Partial<S3Settings> = {}): S3Destination {
  return new S3Destination(
    {
      bucket: 'lake',
      prefix: 'root',
      endpoint,
      forcePathStyle: true,
      accessKeyId: S3RVER_KEY_ID,
      partSizeMb: 5,
      uploadConcurrency: 1,
      ...over,
    },
    { secretAccessKey: S3RVER_SECRET },
    QUICK,
  )
}
