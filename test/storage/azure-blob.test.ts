import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AzureBlobDestination } from '../../src/storage/azure-blob.js'
import type { AzureBlobSettings } from '../../src/storage/azure-auth.js'
import { DestinationError } from '../../src/storage/destination.js'
import { storageError } from '../../src/storage/object-errors.js'
import { Azurite, AZURITE_ACCOUNT, AZURITE_KEY } from '../helpers/azurite.js'
import { QUICK, scratch } from './helpers.js'

describe('AzureBlobDestination against azurite', () => {
  let azurite: Azurite
  let files: Awaited<ReturnType<typeof scratch>>
  const settings = (over: Partial<AzureBlobSettings> = {}): AzureBlobSettings => ({
    container: 'lake',
    prefix: 'root',
    accountUrl: azurite.accountUrl,
    accountName: AZURITE_ACCOUNT,
    auth: 'ACCOUNT_KEY',
    blockSizeMb: 1,
    uploadConcurrency: 3,
    ...over,
  })
  const dest = (over: Partial<AzureBlobSettings> = {}) => new AzureBlobDestination(settings(over), { accountKey: AZURITE_KEY }, QUICK)

  beforeAll(async () => {
    azurite = await Azurite.start()
    await azurite.createContainer('lake')
    files = await scratch()
  })
  afterAll(async () => {
    await azurite?.dispose()
    await files?.dispose()
  })

  it('stores a file as staged 1 MiB blocks, committed in order, with the whole-file MD5', async () => {
    const f = await files.file(5.5)
    expect(await dest().putFile('run1/part-00000.parquet', f.path, undefined, { sha256: f.sha256 })).toEqual({ bytes: f.bytes.length })
    expect((await azurite.download('lake', 'root/run1/part-00000.parquet')).equals(f.bytes)).toBe(true)
    const blob = azurite.client().getContainerClient('lake').getBlockBlobClient('root/run1/part-00000.parquet')
    const list = await blob.getBlockList('committed')
    expect(list.committedBlocks?.map((b) => b.size)).toEqual([...Array(5).fill(1024 * 1024), f.bytes.length - 5 * 1024 * 1024])
    const props = await blob.getProperties()
    expect(Buffer.from(props.contentMD5!).equals(createHash('md5').update(f.bytes).digest())).toBe(true)
    expect(props.contentType).toBe('application/vnd.apache.parquet')
  })

  it('overwrites on a retried upload: one blob, the latest bytes', async () => {
    const [a, b] = [await files.file(1.5), await files.file(0.5)]
    await dest().putFile('run2/part-00000.parquet', a.path)
    await dest().putFile('run2/part-00000.parquet', b.path)
    expect(await azurite.list('lake', 'root/run2/')).toEqual(['root/run2/part-00000.parquet'])
    expect((await azurite.download('lake', 'root/run2/part-00000.parquet')).equals(b.bytes)).toBe(true)
  })

  it('commits nothing when the file differs from what the writer hashed (DESTINATION_INTEGRITY)', async () => {
    const f = await files.file(2)
    const err = await dest()
      .putFile('run3/part-00000.parquet', f.path, undefined, { sha256: '0'.repeat(64) })
      .catch((e) => e)
    expect(err).toBeInstanceOf(DestinationError)
    expect(err).toMatchObject({ code: 'DESTINATION_INTEGRITY', retryable: true })
    expect(await azurite.list('lake', 'root/run3/')).toEqual([])
  })

  it('relies on a check azurite really makes: a block with a wrong Content-MD5 is refused', async () => {
    const blob = azurite.client().getContainerClient('lake').getBlockBlobClient('root/tampered')
    const e = await blob
      .stageBlock(Buffer.from('blk-000000').toString('base64'), Buffer.from('abc'), 3, {
        transactionalContentMD5: createHash('md5').update('abd').digest(),
      })
      .catch((x) => x)
    expect(storageError('azurite', e, [])).toMatchObject({ code: 'DESTINATION_INTEGRITY', retryable: true })
  })

  it('writes and reads text, returns null for a missing object, and removes exactly one prefix', async () => {
    const d = dest()
    await d.putText('run4/manifest.json', '{"ok":true}')
    await d.putText('run4/_SUCCESS', '')
    await d.putText('run40/manifest.json', 'sibling')
    expect(await d.getText('run4/manifest.json')).toBe('{"ok":true}')
    expect(await d.getText('run4/_SUCCESS')).toBe('')
    expect(await d.getText('run4/nothing.json')).toBeNull()
    await d.removePrefix('run4')
    expect(await azurite.list('lake', 'root/run4')).toEqual(['root/run40/manifest.json'])
    expect(d.uriOf('run4/manifest.json')).toBe(`${azurite.accountUrl}/lake/root/run4/manifest.json`)
  })

  it('removes one object, leaves its neighbours, and takes a missing one as removed', async () => {
    const d = dest()
    for (const k of ['run6/part-p00-a1-00000.parquet', 'run6/part-p00-a1-00001.parquet', 'run6/part-p00-a2-00000.parquet'])
      await d.putText(k, k)
    await d.remove('run6/part-p00-a1-00000.parquet')
    await d.remove('run6/part-p00-a1-00000.parquet')
    await d.remove('run6/never-written.parquet')
    expect(await azurite.list('lake', 'root/run6')).toEqual(['root/run6/part-p00-a1-00001.parquet', 'root/run6/part-p00-a2-00000.parquet'])
  })

  it('fails with DESTINATION_UNAVAILABLE when azurite stops mid-upload, leaves no blob, and stores it after a restart', async () => {
    const f = await files.file(40)
    let stopping: Promise<void> | undefined
    const slowly = dest({ uploadConcurrency: 1 })
    const err = await slowly
      .putFile('run5/part-00000.parquet', f.path, undefined, {
        onProgress: (n) => void (n >= 4 * 1024 * 1024 && (stopping ??= azurite.stop())),
      })
      .catch((e) => e)
    await stopping
    expect(stopping).toBeDefined()
    expect(err).toMatchObject({ name: 'DestinationError', code: 'DESTINATION_UNAVAILABLE', retryable: true })
    await azurite.restart()
    expect(await azurite.list('lake', 'root/run5/')).toEqual([]) // staged blocks are invisible until committed
    await dest().putFile('run5/part-00000.parquet', f.path, undefined, { sha256: f.sha256 })
    expect((await azurite.download('lake', 'root/run5/part-00000.parquet')).equals(f.bytes)).toBe(true)
  })

  it('classifies wrong keys, missing containers and malformed connection strings, without secrets in messages', async () => {
    const wrongKey = Buffer.alloc(64, 1).toString('base64')
    const auth = await new AzureBlobDestination(settings(), { accountKey: wrongKey }, QUICK).probe().catch((e) => e)
    expect(auth).toMatchObject({ code: 'DESTINATION_AUTH', retryable: false })
    expect(auth.message).not.toContain(wrongKey)
    expect(
      await dest({ container: 'missing' })
        .probe()
        .catch((e) => e),
    ).toMatchObject({ code: 'DESTINATION_NOT_FOUND', retryable: false })
    const cs = `AccountName=${AZURITE_ACCOUNT};AccountKey=not-base64-@@@;BlobEndpoint=${azurite.accountUrl}`
    const bad = (() => {
      try {
        return new AzureBlobDestination(settings({ auth: 'CONNECTION_STRING' }), { connectionString: cs }, QUICK)
      } catch (e) {
        return e as Error
      }
    })()
    expect(bad).toMatchObject({ name: 'DestinationError', code: 'DESTINATION_AUTH', retryable: false })
    expect((bad as Error).message).not.toContain('not-base64-@@@')
  })
})
