/** The LOCAL destination's single-object delete: the one object goes, its neighbours stay, a missing one is fine. */
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { LocalDestination } from '../../src/storage/local.js'

let root: string | undefined
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true })
  root = undefined
})

describe('LocalDestination.remove', () => {
  it('removes one object, leaves its neighbours, and takes a missing one as removed', async () => {
    root = await mkdtemp(join(tmpdir(), 'de-local-'))
    const d = new LocalDestination(root)
    for (const k of ['run6/part-p00-a1-00000.parquet', 'run6/part-p00-a1-00001.parquet', 'run6/part-p00-a2-00000.parquet'])
      await d.putText(k, k)
    await d.remove('run6/part-p00-a1-00000.parquet')
    await d.remove('run6/part-p00-a1-00000.parquet')
    await d.remove('run6/never-written.parquet')
    expect((await readdir(join(root, 'run6'))).sort()).toEqual(['part-p00-a1-00001.parquet', 'part-p00-a2-00000.parquet'])
  })

  it('refuses a key that leaves the folder', async () => {
    root = await mkdtemp(join(tmpdir(), 'de-local-'))
    await expect(new LocalDestination(join(root, 'lake')).remove('../outside')).rejects.toMatchObject({ code: 'DESTINATION_NOT_FOUND' })
  })
})
