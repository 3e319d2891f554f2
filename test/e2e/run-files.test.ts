/**
 * Issue 12 point 3 (the dashboard's run page): `Run.files` lists the committed manifest's files, read
 * from the destination the run pinned, and `me` tells a client its token's role. The manifest is read
 * here from the lake folder directly, not through the service's storage code.
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { graphql } from '../gql/index.js'
import { Harness } from '../helpers/harness.js'

const RunFiles = graphql(`
  query RunFilesOfRun($id: ID!, $first: Int) { run(id: $id) { status manifestUri filesWritten files(first: $first) { path rows bytes sha256 } } }
`)
const UpdateDestination = graphql(`
  mutation RunFilesMoveDestination($id: ID!, $path: String!) { updateDestination(id: $id, input: { local: { path: $path } }) { id } }
`)
const Me = graphql(`
  query RunFilesMe { me { name role } }
`)

let h: Harness
beforeAll(async () => {
  h = await Harness.start()
})
afterAll(() => h.stop())

describe('Run.files', () => {
  it("lists the committed manifest's files, from where the run wrote them, after the destination moved", async () => {
    // A file per partition: several of them, so order and the first argument mean something.
    const { pipelineId, destinationId } = await h.createPipeline({ mode: 'FULL', partitions: 3 })
    const run = await h.run(pipelineId)
    expect(run.status).toBe('SUCCEEDED')
    const manifest = JSON.parse(await readFile(fileURLToPath(run.manifestUri!), 'utf8')) as {
      files: Array<{ path: string; rows: number; bytes: number; sha256: string }>
    }
    await h.gql(UpdateDestination, { id: destinationId, path: `${h.lakeDir}-moved` })

    const all = (await h.gql(RunFiles, { id: run.id })).run!
    expect(all.files).toEqual(manifest.files.map((f) => ({ path: f.path, rows: String(f.rows), bytes: String(f.bytes), sha256: f.sha256 })))
    expect(all.files!.length).toBeGreaterThan(1)
    expect(all.files!.length).toBe(all.filesWritten)
    expect(all.files!.reduce((n, f) => n + Number(f.rows), 0)).toBe(300)
    expect((await h.gql(RunFiles, { id: run.id, first: 1 })).run!.files).toHaveLength(1)
  })

  it('is null for a run without a manifest', async () => {
    const { pipelineId } = await h.createPipeline({ mode: 'FULL', name: 'failing' })
    h.sim.admin.injectFault({ kind: 'http-401', page: 1 })
    const run = await h.run(pipelineId)
    h.sim.admin.clearFaults()
    expect(run.status).toBe('FAILED')
    expect((await h.gql(RunFiles, { id: run.id })).run!.files).toBeNull()
  })
})

describe('me', () => {
  it("names the caller's token and role", async () => {
    expect((await h.gql(Me)).me).toEqual({ name: expect.any(String), role: 'ADMIN' })
  })
})
