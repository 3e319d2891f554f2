/**
 * `delta-extractor compact <pipeline>` as a user meets it (issue 13 point 4): real processes
 * (`node --import tsx src/main.ts …`) against the SAP simulator and a LOCAL lake. A DELTA pipeline with
 * `output: { table: ICEBERG }` runs a DELTA_INIT and small deltas, `compact` rewrites its files into one
 * `replace` snapshot that icebird reads as the same row set, the pipeline runs on afterwards (the hold
 * is let go), and bad input exits 2 with the table untouched.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { icebergMetadata, icebergRead } from 'icebird'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import type { PipelineCompaction } from '../../src/orchestrator/lake/compact-pipeline.js'
import { SALES_ITEMS, startSapSimulator } from '../../src/simulator/index.js'
import { fileObjects, withObjectFetch } from '../helpers/object-fetch.js'

const ROOT = join(import.meta.dirname, '../..')
const PASSWORD = 'Welcome1!'
let sim: Awaited<ReturnType<typeof startSapSimulator>>
let dataDir: string
let restoreFetch: () => void
const children: ChildProcess[] = []

beforeAll(async () => {
  sim = await startSapSimulator({ rows: { [SALES_ITEMS]: 40 } })
  restoreFetch = withObjectFetch(fileObjects)
})
afterAll(async () => {
  restoreFetch()
  await sim.close()
})
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL')
  await rm(dataDir, { recursive: true, force: true })
})

function cli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'info', ALLOW_LOOPBACK: 'true', SAP_PASSWORD: PASSWORD }
  delete env.DATABASE_URL
  delete env.LOCAL_ROOTS
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  const output = { out: '', err: '' }
  child.stdout!.on('data', (d) => (output.out += d))
  child.stderr!.on('data', (d) => (output.err += d))
  return new Promise((r) => child.on('exit', (code) => r({ code, ...output })))
}

async function catalogFile(): Promise<string> {
  const path = join(dataDir, 'pipelines.yaml')
  await writeFile(
    path,
    `connections:
  - name: sim
    protocol: ODATA
    odataConfig:
      serviceUrl: ${sim.serviceUrl}
      sapClient: "100"
      user: DEMO
      password: \${SAP_PASSWORD}
destinations:
  - name: lake
    kind: LOCAL
    local: { path: ${join(dataDir, 'lake')} }
pipelines:
  - name: items
    connection: sim
    destination: lake
    mode: DELTA
    source: { kind: ODP_ODATA, entitySet: ${SALES_ITEMS}, fields: [VBELN, POSNR, NETWR, ARKTX], pageSize: 500 }
    output: { table: ICEBERG }
  - name: plain
    connection: sim
    destination: lake
    mode: FULL
    source: { kind: ODP_ODATA, entitySet: ${SALES_ITEMS}, pageSize: 500 }
`,
  )
  return path
}

/** Every row of the table as icebird reads it, as comparable texts, sorted: a row set. */
async function rowSet(tableUrl: string): Promise<string[]> {
  return (await icebergRead({ tableUrl })).map((r) => JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? String(v) : v))).sort()
}

it('compact rewrites the small files of many deltas into one replace snapshot with the same rows; bad input exits 2 and changes nothing', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'de-compact-'))
  const applied = await cli(['apply', await catalogFile()])
  expect(applied.code, applied.err).toBe(0)
  const ran = async () => {
    const r = await cli(['run', 'items'])
    expect(r.code, r.err).toBe(0)
  }
  await ran()
  for (let i = 0; i < 3; i++) {
    sim.admin.insert(SALES_ITEMS, 2)
    sim.admin.update(SALES_ITEMS, 1)
    await ran()
  }
  const tableUrl = pathToFileURL(join(dataDir, 'lake', 'items')).href
  const before = await rowSet(tableUrl)
  expect(before).toHaveLength(40 + 3 * 4)

  const compacted = await cli(['compact', 'items', '--min-input-files', '2', '--json'])
  expect(compacted.code, compacted.err).toBe(0)
  const result = JSON.parse(compacted.out) as PipelineCompaction
  expect(result).toMatchObject({ pipeline: 'items', tables: [{ tablePath: 'items', filesBefore: 4, filesAfter: 1, rows: before.length }] })
  const meta = await icebergMetadata({ tableUrl })
  const current = meta.snapshots!.find((s) => s['snapshot-id'] === meta['current-snapshot-id'])!
  expect(String(current['snapshot-id'])).toBe(result.tables[0].snapshotId)
  expect(current.summary.operation).toBe('replace')
  expect(await rowSet(tableUrl)).toEqual(before)

  // One file is left: nothing more to compact, said in words without --json.
  const again = await cli(['compact', 'items'])
  expect(again.code, again.err).toBe(0)
  expect(again.out).toMatch(/^table items: nothing to compact \(1 data file\(s\), 52 rows/)

  // Bad input: exit 2, a clear message, the table as it was.
  const version = (await icebergMetadata({ tableUrl }))['last-updated-ms']
  for (const [args, message] of [
    [['compact', 'nope'], /pipeline nope does not exist/],
    [['compact', 'plain'], /pipeline "plain" writes no lake table/],
    [['compact', 'items', '--target-file-mb', 'lots'], /--target-file-mb must be a number/],
    [['compact', 'items', '--min-input-files', '1'], /--min-input-files must be a whole number of at least 2/],
    [['compact'], /compact needs exactly one pipeline/],
  ] as const) {
    const r = await cli([...args])
    expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2)
    expect(r.err).toMatch(message)
  }
  expect((await icebergMetadata({ tableUrl }))['last-updated-ms']).toBe(version)

  // The hold is let go: the pipeline runs on, and its next delta lands on top of the compacted file.
  const added = sim.admin.insert(SALES_ITEMS, 1)
  await ran()
  const after = await rowSet(tableUrl)
  expect(after).toHaveLength(before.length + added.length)
  expect(after.filter((r) => !before.includes(r))).toEqual([expect.stringContaining(`"VBELN":"${added[0].after!.VBELN}"`)])
}, 180_000)
