import type { TypedDocumentNode } from '@graphql-typed-document-node/core'
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { graphql } from '../gql/index.js'
import { Harness, type HarnessOptions } from '../helpers/harness.js'

const CreateDestination = graphql(
  `mutation LrCreateDestination($input: CreateDestinationInput!) { createDestination(input: $input) { id uri } }`,
)
const TestDestination = graphql(`mutation LrTestDestination($id: ID!) { testDestination(id: $id) { ok code message } }`)

/**
 * Issue 10, point 6: LOCAL destinations live under LOCAL_ROOTS (the harness: the test's data dir;
 * the service's default: DATA_DIR/lake). Anything that resolves outside, symlinks included, is
 * refused when the destination is saved and again when a run writes.
 */
let h: Harness | undefined
let outside: string
beforeEach(async () => {
  outside = await mkdtemp(join(tmpdir(), 'de-outside-'))
})
afterEach(async () => {
  await h?.stop()
  h = undefined
  await rm(outside, { recursive: true, force: true })
})
const start = async (opts: HarnessOptions = {}) => (h = await Harness.start(opts))

let n = 0
async function create(via: 'http' | 'ws', path: string) {
  const doc: TypedDocumentNode<{ createDestination: { id: string; uri: string } }, { input: object }> = CreateDestination as never
  const input = { name: `local-${n++}`, kind: 'LOCAL', local: { path } }
  return via === 'http' ? h!.request(doc, { input }) : h!.requestWs(doc, { input })
}

describe.each(['http', 'ws'] as const)('createDestination over %s', (via) => {
  it('refuses folders outside the roots, /etc and climbing paths included, and touches nothing there', async () => {
    await start()
    const root = h!.db.dataDir
    const climbing = join(root, '..', '..', relative('/', outside), 'climbed')
    for (const path of [
      '/etc',
      '/root/lake',
      '/etc/cron.d',
      climbing,
      join(outside, 'new-folder'),
      relative(process.cwd(), join(outside, 'relative')),
    ]) {
      const r = await create(via, path)
      expect([path, r.errors?.[0]?.extensions]).toEqual([path, { code: 'BAD_USER_INPUT', field: 'local.path' }])
      expect(r.errors![0].message).toBe(`local.path: must be inside one of the folders LOCAL_ROOTS allows (${root}); symlinks are followed`)
    }
    expect(await readdir(outside)).toEqual([])
  })

  it('answers the same whether the outside path exists, is a file or is missing (no existence oracle)', async () => {
    await start()
    await writeFile(join(outside, 'a-file'), 'x')
    const answers = await Promise.all(
      [join(outside, 'a-file'), join(outside, 'a-file', 'below'), join(outside, 'missing'), '/etc/passwd', '/etc/no-such-thing'].map(
        async (p) => (await create(via, p)).errors?.[0],
      ),
    )
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1)
  })

  it('follows symlinks: a link inside the root that points outside is outside', async () => {
    await start()
    await symlink(outside, join(h!.db.dataDir, 'escape'))
    const r = await create(via, join(h!.db.dataDir, 'escape', 'lake'))
    expect(r.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'local.path' })
    expect(await readdir(outside)).toEqual([])
    // A folder inside the root is fine.
    const fine = await create(via, join(h!.db.dataDir, 'lake', 'sales'))
    expect(fine.errors).toBeUndefined()
  })
})

describe('at run time', () => {
  it('a destination folder replaced by a symlink to outside after it was saved: the run fails, nothing is written outside', async () => {
    await start()
    const lake = join(h!.db.dataDir, 'lake-rt')
    const { pipelineId, destinationId } = await h!.createPipeline({
      name: 'rt',
      mode: 'FULL',
      destination: { kind: 'LOCAL', local: { path: lake } },
    })
    expect((await h!.run(pipelineId)).status).toBe('SUCCEEDED')

    await rm(lake, { recursive: true })
    await symlink(outside, lake)
    const run = await h!.run(pipelineId)
    expect(run).toMatchObject({
      status: 'FAILED',
      error: { code: 'DESTINATION_AUTH', retryable: false, message: expect.stringContaining('outside the folders LOCAL_ROOTS allows') },
    })
    expect((await h!.gql(TestDestination, { id: destinationId })).testDestination).toMatchObject({ ok: false, code: 'DESTINATION_AUTH' })
    expect(await readdir(outside)).toEqual([])
  })

  it('a symlink planted inside the destination (where a run’s folders go) is refused before anything is created through it', async () => {
    await start()
    const lake = join(h!.db.dataDir, 'lake-in')
    const { pipelineId } = await h!.createPipeline({ name: 'planted', mode: 'FULL', destination: { kind: 'LOCAL', local: { path: lake } } })
    await mkdir(lake, { recursive: true })
    await symlink(outside, join(lake, 'planted')) // the default path template starts with {pipeline}
    const run = await h!.run(pipelineId)
    expect(run).toMatchObject({ status: 'FAILED', error: { code: 'DESTINATION_AUTH' } })
    expect(await readdir(outside)).toEqual([])
  })
})

it('without LOCAL_ROOTS the root is DATA_DIR/lake', async () => {
  await start({ access: { localRoots: undefined } })
  expect((await create('http', join(h!.db.dataDir, 'lake', 'x'))).errors).toBeUndefined()
  expect((await create('http', join(h!.db.dataDir, 'elsewhere'))).errors?.[0]?.message).toContain(`(${join(h!.db.dataDir, 'lake')})`)
})
