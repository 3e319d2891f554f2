import { createHash } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AzureBlobDestination } from '../../src/storage/azure-blob.js'
import { Azurite, AZURITE_ACCOUNT, AZURITE_KEY } from '../helpers/azurite.js'
import { FaultProxy, isAzureBlock, type ProxiedRequest } from '../helpers/fault-proxy.js'
import { QUICK, scratch } from './helpers.js'

const MiB = 1024 * 1024
const md5 = (b: Buffer) => createHash('md5').update(b).digest('base64')
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')
/** The block index an Azure block id (base64 of `blk-000003`) stands for. */
const blockIndex = (r: ProxiedRequest) => Number(Buffer.from(r.query.get('blockid')!, 'base64').toString().slice(4))

/**
 * What AzureBlobDestination sends, seen request by request through a FaultProxy in front of azurite:
 * per-block checksums, parallel blocks, and what a failed block does to the upload.
 */
describe('AzureBlobDestination through a fault proxy', () => {
  let azurite: Azurite
  let proxy: FaultProxy
  let files: Awaited<ReturnType<typeof scratch>>
  const dest = () =>
    new AzureBlobDestination(
      {
        container: 'lake',
        prefix: 'faults',
        accountUrl: `${proxy.url}/${AZURITE_ACCOUNT}`,
        accountName: AZURITE_ACCOUNT,
        auth: 'ACCOUNT_KEY',
        blockSizeMb: 1,
        uploadConcurrency: 3,
      },
      { accountKey: AZURITE_KEY },
      QUICK,
    )
  const blocks = () => proxy.requests.filter(isAzureBlock)
  const stored = async (name: string) => sha256(await azurite.download('lake', `faults/${name}`))

  beforeAll(async () => {
    azurite = await Azurite.start()
    await azurite.createContainer('lake')
    proxy = await FaultProxy.start(() => azurite.port)
    files = await scratch()
  })
  afterEach(() => proxy.reset())
  afterAll(async () => {
    await proxy?.close()
    await azurite?.dispose()
    await files?.dispose()
  })

  it('sends every block with the Content-MD5 of its bytes, up to uploadConcurrency at once', async () => {
    const f = await files.file(5.5)
    // The first block is held at azurite until a second one is on its way: only a parallel upload gets there.
    const held = proxy.hold(isAzureBlock)
    const put = dest().putFile('run1/part-00000.parquet', f.path, undefined, { sha256: f.sha256 })
    await held.arrived
    try {
      await expect.poll(() => blocks().length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2)
    } finally {
      held.release()
    }
    expect(await put).toEqual({ bytes: f.bytes.length })

    expect(proxy.peakInFlight).toBeGreaterThanOrEqual(2)
    expect(proxy.peakInFlight).toBeLessThanOrEqual(3)
    const sent = blocks().sort((a, b) => blockIndex(a) - blockIndex(b))
    expect(sent.map(blockIndex)).toEqual([0, 1, 2, 3, 4, 5])
    for (const b of sent) {
      const i = blockIndex(b)
      const slice = f.bytes.subarray(i * MiB, (i + 1) * MiB)
      expect(b).toMatchObject({ status: 201, bodyBytes: slice.length, bodyMd5: md5(slice) })
      expect(b.headers['content-md5']).toBe(md5(slice))
    }
    expect(await stored('run1/part-00000.parquet')).toBe(f.sha256)
  })

  it.each([
    ['a 503', '503' as const],
    ['a connection cut mid-block', 'reset' as const],
  ])('retries a block answered with %s, and stores the file intact', async (_, fault) => {
    const f = await files.file(4.5)
    const fired = proxy.inject(fault, isAzureBlock, 3)
    await dest().putFile('run2/part-00000.parquet', f.path, undefined, { sha256: f.sha256 })
    expect(fired).toHaveLength(1)
    expect(fired[0].status).toBe(fault === '503' ? 503 : undefined)
    // the SDK sent that block again, with the same bytes and MD5; the file was not started over
    const again = blocks().filter((b) => b !== fired[0] && blockIndex(b) === blockIndex(fired[0]))
    expect(again).toHaveLength(1)
    expect(again[0]).toMatchObject({
      status: 201,
      bodyMd5: md5(f.bytes.subarray(blockIndex(fired[0]) * MiB, (blockIndex(fired[0]) + 1) * MiB)),
    })
    expect(blocks()).toHaveLength(5 + 1)
    expect(await stored('run2/part-00000.parquet')).toBe(f.sha256)
  })

  it('has a block whose bytes changed on the way refused by azurite (Content-MD5), then uploads the file again', async () => {
    const f = await files.file(3)
    const fired = proxy.inject('flip', isAzureBlock, 2)
    await dest().putFile('run3/part-00000.parquet', f.path, undefined, { sha256: f.sha256 })
    expect(fired).toHaveLength(1)
    expect(fired[0].status).toBe(400) // Md5Mismatch: the block was not staged
    expect(await stored('run3/part-00000.parquet')).toBe(f.sha256)
  })

  it('gives up with DESTINATION_INTEGRITY when every try arrives damaged, and commits nothing', async () => {
    const f = await files.file(2)
    const fired = proxy.inject('flip', isAzureBlock, 'every')
    const err = await dest()
      .putFile('run4/part-00000.parquet', f.path, undefined, { sha256: f.sha256 })
      .catch((e) => e)
    expect(err).toMatchObject({ name: 'DestinationError', code: 'DESTINATION_INTEGRITY' })
    expect(fired.length).toBeGreaterThanOrEqual(QUICK.retry.attempts)
    // every block that got an answer was refused; one still in flight when the upload gave up has none
    const answered = fired.filter((r) => r.status != null)
    expect(answered.length).toBeGreaterThanOrEqual(QUICK.retry.attempts)
    expect(answered.every((r) => r.status === 400)).toBe(true)
    expect(await azurite.list('lake', 'faults/run4/')).toEqual([])
  })
})
