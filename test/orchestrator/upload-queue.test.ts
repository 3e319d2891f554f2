import { createHash, randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { UploadQueue, type StagedFile } from '../../src/orchestrator/uploads.js'
import type { Destination } from '../../src/storage/destination.js'
import { LocalDestination } from '../../src/storage/local.js'

/**
 * A real LOCAL destination whose putFile waits until the test lets it go: a store slower than the
 * producer, without a slow network. The wrapper only holds; the copy, check and rename are LocalDestination's.
 */
function heldDestination(root: string) {
  const real = new LocalDestination(root)
  const held: Array<() => void> = []
  let holding = true
  const destination: Destination = {
    uri: real.uri,
    uriOf: (k) => real.uriOf(k),
    tableUriOf: (k) => real.tableUriOf(k),
    putFile: async (...args) => {
      if (holding) await new Promise<void>((go) => held.push(go))
      return real.putFile(...args)
    },
    putText: (key, body, signal) => real.putText(key, body, signal),
    putTextIfAbsent: (key, body, signal) => real.putTextIfAbsent(key, body, signal),
    getText: (key) => real.getText(key),
    getBytes: (key) => real.getBytes(key),
    remove: (key) => real.remove(key),
    removePrefix: (prefix) => real.removePrefix(prefix),
    probe: () => real.probe(),
  }
  return {
    destination,
    /** Uploads that have started and wait to be let go. */
    held: () => held.length,
    releaseOne: () => held.shift()!(),
    /** Lets every held upload go, and holds no more. */
    releaseAll: () => {
      holding = false
      for (const go of held.splice(0)) go()
    },
  }
}

describe('UploadQueue', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'de-uploads-'))
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  it('makes the producer wait while the store is slow, so staged files stay bounded, and uploads every file', async () => {
    const concurrency = 2
    const files = 8
    const staging = join(dir, 'staging')
    const store = heldDestination(join(dir, 'lake'))
    const uploaded: string[] = []
    const queue = new UploadQueue(store.destination, 'run', concurrency, new AbortController().signal, (f) => uploaded.push(f.fileName))

    // The producer stages a file (as the Parquet writer does), then hands it over and waits for room.
    const contents = new Map<string, Buffer>()
    let handed = 0
    let mostStaged = 0
    let pending: Promise<void> | undefined
    const producer = (async () => {
      await mkdir(staging, { recursive: true })
      for (let i = 0; i < files; i++) {
        const fileName = `part-${String(i).padStart(5, '0')}.parquet`
        const bytes = randomBytes(64 * 1024)
        contents.set(fileName, bytes)
        const localPath = join(staging, fileName)
        await writeFile(localPath, bytes)
        mostStaged = Math.max(mostStaged, (await readdir(staging)).length)
        const file: StagedFile = {
          index: i,
          fileName,
          localPath,
          rows: 1,
          bytes: bytes.length,
          sha256: createHash('sha256').update(bytes).digest('hex'),
        }
        handed++
        pending = queue.add(file)
        await pending
      }
    })()

    // Two uploads start and are held; two more files wait; the fourth add() does not return.
    await expect.poll(() => [store.held(), handed], { timeout: 10_000 }).toEqual([concurrency, 2 * concurrency])
    const state = await Promise.race([pending!.then(() => 'returned'), Promise.resolve('waiting')])
    expect(state).toBe('waiting')
    expect(await readdir(staging)).toHaveLength(2 * concurrency)

    // Each finished upload makes room for exactly one more file.
    store.releaseOne()
    await expect.poll(() => [uploaded.length, handed, store.held()], { timeout: 10_000 }).toEqual([1, 2 * concurrency + 1, concurrency])
    expect(await readdir(staging)).toHaveLength(2 * concurrency)

    // The store catches up: the rest go through, in file order in the result.
    store.releaseAll()
    await producer
    const done = await queue.done()
    expect(done.map((f) => f.fileName)).toEqual([...contents.keys()])
    expect(mostStaged).toBeLessThanOrEqual(2 * concurrency)
    expect(await readdir(staging)).toEqual([])
    for (const [name, bytes] of contents) expect((await readFile(join(dir, 'lake', 'run', name))).equals(bytes)).toBe(true)
  })

  it('lists files in run order past part-99999, where their names no longer sort as text', async () => {
    const staging = join(dir, 'staging')
    await mkdir(staging, { recursive: true })
    const queue = new UploadQueue(new LocalDestination(join(dir, 'lake')), 'run', 2, new AbortController().signal, () => {})
    // Handed over out of order, as parallel uploads finish them.
    for (const index of [100_000, 99_999, 100_001, 9_999]) {
      const fileName = `part-${String(index).padStart(5, '0')}.parquet`
      const localPath = join(staging, fileName)
      const bytes = Buffer.from(fileName)
      await writeFile(localPath, bytes)
      await queue.add({
        index,
        fileName,
        localPath,
        rows: 1,
        bytes: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      })
    }
    expect((await queue.done()).map((f) => f.index)).toEqual([9_999, 99_999, 100_000, 100_001])
  })
})
