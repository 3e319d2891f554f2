/**
 * Issue 12, point 2, as a user meets it: the catalogue commands in real processes (`node --import
 * tsx src/main.ts …`) against the SAP simulator, with their exit codes: apply (idempotent, all or
 * nothing, ${ENV} secrets), pipelines/runs listings as JSON, runs logs --follow of a run another
 * process executes, connections test, run file.yaml without touching the catalogue, and run <pipeline>
 * in queue mode (REDIS_URL), run by a worker process.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import Database from 'better-sqlite3'
import { SALES_ITEMS, startSapSimulator } from '../../src/simulator/index.js'
import { readRun } from '../helpers/lake.js'
import { deleteRedisKeys, TEST_REDIS_URL, testRedisPrefix } from '../helpers/redis.js'

const ROOT = join(import.meta.dirname, '../..')
const PASSWORD = 'Welcome1!'
const ROWS = 3000
let sim: Awaited<ReturnType<typeof startSapSimulator>>
let dataDir: string
const children: ChildProcess[] = []

beforeAll(async () => {
  // Slow enough (400 rows/s per read: a run takes about 8 s) that a run is still going when a second process follows it.
  sim = await startSapSimulator({ rows: { [SALES_ITEMS]: ROWS }, rowsPerSecondPerRead: 400 })
})
const redisPrefix = testRedisPrefix('commands')
afterAll(async () => {
  await sim.close()
  await deleteRedisKeys(redisPrefix)
})
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL')
  await rm(dataDir, { recursive: true, force: true })
})

function start(args: string[], env: Record<string, string> = {}) {
  const e: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    ALLOW_LOOPBACK: 'true',
    SAP_PASSWORD: PASSWORD,
    ...env,
  }
  delete e.DATABASE_URL
  delete e.LOCAL_ROOTS
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: ROOT,
    env: e,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  const output = { out: '', err: '' }
  child.stdout!.on('data', (d) => (output.out += d))
  child.stderr!.on('data', (d) => (output.err += d))
  const done = new Promise<{ code: number | null; out: string; err: string }>((r) => child.on('exit', (code) => r({ code, ...output })))
  return { child, output, done }
}
const cli = (args: string[], env: Record<string, string> = {}) => start(args, env).done

async function newDataDir() {
  dataDir = await mkdtemp(join(tmpdir(), 'de-commands-'))
}

/** A file in the shape of examples/pipelines.yaml, pointing at this test's simulator and DATA_DIR/lake. */
async function catalogFile(opts: { pageSize?: number; password?: string; extra?: string; mode?: 'FULL' | 'DELTA' } = {}) {
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
      password: \${${opts.password ?? 'SAP_PASSWORD'}}
destinations:
  - name: lake
    kind: LOCAL
    local: { path: ${join(dataDir, 'lake', 'sim')} }
pipelines:
  - name: items
    connection: sim
    destination: lake
    mode: ${opts.mode ?? 'FULL'}
    source: { kind: ODP_ODATA, entitySet: ${SALES_ITEMS}, fields: [VBELN, POSNR, NETWR], pageSize: ${opts.pageSize ?? 500} }
${opts.extra ?? ''}`,
  )
  return path
}

const json = <T = unknown>(text: string): T => JSON.parse(text)

it('apply creates, then reports every object unchanged; a changed key updates only its object; the password from the environment works and is never printed', async () => {
  await newDataDir()
  const file = await catalogFile()
  const first = await cli(['apply', file])
  expect(first.code, first.err).toBe(0)
  expect(first.out.trim().split('\n')).toEqual(['connection "sim": created', 'destination "lake": created', 'pipeline "items": created'])

  const again = await cli(['apply', file, '--json'])
  expect(again.code, again.err).toBe(0)
  expect(json(again.out)).toEqual([
    { kind: 'connection', name: 'sim', outcome: 'unchanged' },
    { kind: 'destination', name: 'lake', outcome: 'unchanged' },
    { kind: 'pipeline', name: 'items', outcome: 'unchanged' },
  ])

  await catalogFile({ pageSize: 700 })
  const changed = await cli(['apply', file])
  expect(changed.out).toContain('connection "sim": unchanged')
  expect(changed.out).toContain('pipeline "items": updated')

  const list = await cli(['pipelines', 'list', '--json'])
  expect(list.code).toBe(0)
  expect(json(list.out)).toMatchObject([
    {
      name: 'items',
      mode: 'FULL',
      connection: 'sim',
      destination: 'lake',
      source: { kind: 'ODP_ODATA', entitySet: SALES_ITEMS, pageSize: 700 },
      lastRun: null,
    },
  ])

  const test = await cli(['connections', 'test', 'sim'])
  expect(test.code, test.err).toBe(0)
  expect(test.out).toMatch(/^ok: logged on to sim/)
  for (const r of [first, again, changed, list, test]) expect(r.out + r.err).not.toContain(PASSWORD)
}, 90_000)

it('apply with one invalid object applies nothing, exits 2 and names the file, the object and the field; an unset variable likewise', async () => {
  await newDataDir()
  const file = await catalogFile({
    extra: `  - name: broken
    connection: sim
    destination: lake
    mode: FULL
    source: { kind: ODP_ODATA, entitySet: ${SALES_ITEMS}, pageSize: 0 }
`,
  })
  const refused = await cli(['apply', file])
  expect(refused.code).toBe(2)
  expect(refused.err).toContain(`${file}: pipeline "broken": source.pageSize:`)
  expect(refused.err).toContain('nothing was applied')
  // The valid connection before it was not created either.
  const test = await cli(['connections', 'test', 'sim'])
  expect(test.code).toBe(1)
  expect(test.err).toContain('no connection named or with id "sim"')
  expect(json((await cli(['pipelines', 'list', '--json'])).out)).toEqual([])

  const unset = await cli(['apply', await catalogFile({ password: 'NO_SUCH_VARIABLE' })])
  expect(unset.code).toBe(2)
  expect(unset.err).toContain('connection "sim": odataConfig.password: environment variable NO_SUCH_VARIABLE is not set')
}, 90_000)

it("connections test with a wrong password exits 1 with SAP's answer and no secret", async () => {
  await newDataDir()
  const wrong = 'not-the-password-42'
  expect((await cli(['apply', await catalogFile()], { SAP_PASSWORD: wrong })).code).toBe(0)
  const test = await cli(['connections', 'test', 'sim', '--json'], { SAP_PASSWORD: wrong })
  expect(test.code).toBe(1)
  expect(json(test.out)).toMatchObject({ connection: 'sim', ok: false, code: 'SOURCE_AUTH' })
  expect(test.out + test.err).not.toContain(wrong)
}, 60_000)

it('runs logs --follow follows a run another process executes to its last line, and runs list/show --json describe it', async () => {
  await newDataDir()
  expect((await cli(['apply', await catalogFile()])).code).toBe(0)
  const run = start(['run', 'items'])
  // The run command says which run it started before it waits.
  await expect.poll(() => /run (\S+) of "items"/.exec(run.output.err)?.[1], { timeout: 30_000 }).toBeDefined()
  const runId = /run (\S+) of "items"/.exec(run.output.err)![1]
  const following = start(['runs', 'logs', runId, '--follow'])
  await expect.poll(() => following.output.out, { timeout: 30_000 }).toContain('run started')
  // The follower has printed the first line while the process running the run is still at it.
  expect(run.child.exitCode).toBeNull()
  const follow = await following.done
  expect(follow.code, follow.err).toBe(0)
  const lines = follow.out.trim().split('\n')
  expect(lines[0]).toContain('run started (FULL)')
  expect(lines.at(-1)).toContain('run committed')
  expect(follow.err).toContain(`run ${runId} SUCCEEDED`)
  const ran = await run.done
  expect(ran.code, ran.err).toBe(0)
  // Off a terminal the progress is plain lines, one per stage.
  expect(ran.err).toContain('items FULL EXTRACTING:')

  const list = json((await cli(['runs', 'list', '--json'])).out)
  expect(list).toMatchObject([{ id: runId, pipeline: 'items', status: 'SUCCEEDED', extractionMode: 'FULL', rowsWritten: String(ROWS) }])
  const show = json<{ manifestUri: string }>((await cli(['runs', 'show', runId, '--json'])).out)
  expect(show).toMatchObject({ id: runId, status: 'SUCCEEDED', stage: 'DONE', error: null, trigger: 'MANUAL' })
  const { rows } = await readRun(show.manifestUri)
  expect(rows).toHaveLength(ROWS)
}, 90_000)

it('run file.yaml writes the rows SAP holds, with a manifest, and leaves the catalogue untouched; exit codes 1 and 2', async () => {
  await newDataDir()
  const file = await catalogFile()
  const ran = await cli(['run', file])
  expect(ran.code, ran.err).toBe(0)
  const manifestUri = /committed \d+ rows in \d+ file\(s\): (\S+)/.exec(ran.out)![1]
  const { manifest, rows } = await readRun(manifestUri)
  const expected: string[] = []
  for await (const r of sim.admin.rows(SALES_ITEMS)) expected.push(`${r.VBELN}/${r.POSNR}`)
  expect(rows.map((r) => `${r.VBELN}/${r.POSNR}`).sort()).toEqual(expected.sort())
  expect(manifest.schema.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining(['VBELN', 'POSNR', 'NETWR']))
  expect(json((await cli(['pipelines', 'list', '--json'])).out)).toEqual([])
  expect(json((await cli(['runs', 'list', '--json'])).out)).toEqual([])

  const failed = await cli(['run', file], { SAP_PASSWORD: 'wrong' })
  expect(failed.code).toBe(1)
  expect(failed.err).toMatch(/FAILED: SOURCE_AUTH/)
  const usage = await cli(['run', file, '--mode', 'DELTA'])
  expect(usage.code).toBe(2)
  expect(usage.err).toContain('a run from a file is a FULL read')
  expect((await cli(['runs', 'nonsense'])).code).toBe(2)
}, 120_000)

it('run <pipeline> with REDIS_URL queues the run for the workers and follows it: a worker process runs it, once, and the command exits 0', async () => {
  await newDataDir()
  expect((await cli(['apply', await catalogFile()])).code).toBe(0)
  const queueMode = { REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: redisPrefix }
  const worker = start(['worker'], queueMode)
  await expect.poll(() => worker.output.out, { timeout: 30_000 }).toContain('worker ready')

  const ran = await cli(['run', 'items'], queueMode)
  expect(ran.code, ran.err).toBe(0)
  expect(ran.err).toContain('items FULL EXTRACTING:') // its progress, heard over Redis
  const runId = /run (\S+) of "items"/.exec(ran.err)![1]
  expect(ran.out).toContain(`run ${runId} committed ${ROWS} rows`)

  const db = new Database(join(dataDir, 'delta-extractor.db'), { readonly: true })
  try {
    const runs = db.prepare('SELECT id, status, workerId FROM Run').all() as Array<{ id: string; status: string; workerId: string }>
    // The worker's process ran it (workerId = host:pid:random), not the command's.
    expect(runs).toEqual([{ id: runId, status: 'SUCCEEDED', workerId: expect.stringContaining(`:${worker.child.pid}:`) }])
    const started = db.prepare("SELECT count(*) AS n FROM RunEvent WHERE runId = ? AND message LIKE 'run started%'").get(runId)
    expect(started).toEqual({ n: 1 })
  } finally {
    db.close()
  }
  const { rows } = await readRun(/committed \d+ rows in \d+ file\(s\): (\S+)/.exec(ran.out)![1])
  expect(rows).toHaveLength(ROWS)
  expect(ran.err).toContain("the run is queued for the deployment's workers")
}, 120_000)

it('apply is one transaction: when the third object is refused by what is stored, the two before it are not applied either', async () => {
  await newDataDir()
  expect((await cli(['apply', await catalogFile({ mode: 'DELTA' })])).code).toBe(0)
  const init = await cli(['run', 'items']) // DELTA_INIT: SAP now holds the pipeline's subscription
  expect(init.code, init.err).toBe(0)
  const dbFile = join(dataDir, 'delta-extractor.db')
  const stored = () => {
    const db = new Database(dbFile, { readonly: true })
    try {
      return {
        connections: db.prepare('SELECT name, maxConcurrentRuns, config FROM Connection ORDER BY name').all(),
        destinations: db.prepare('SELECT name, kind, config FROM Destination ORDER BY name').all(),
        pipelines: db.prepare('SELECT name, fields, destinationId FROM Pipeline ORDER BY name').all(),
        audit: db.prepare('SELECT count(*) AS n FROM AuditEvent').get(),
      }
    } finally {
      db.close()
    }
  }
  const before = stored()
  expect(before.pipelines).toHaveLength(1)

  // 1. the connection changes, 2. a new destination, 3. the pipeline's selection changes (NETWR
  // dropped, to the new destination): refused while SAP holds the subscription (resetDelta first).
  const file = join(dataDir, 'change.yaml')
  await writeFile(
    file,
    `connections:
  - name: sim
    protocol: ODATA
    maxConcurrentRuns: 3
    odataConfig:
      serviceUrl: ${sim.serviceUrl}
      sapClient: "100"
      user: DEMO
      password: \${SAP_PASSWORD}
destinations:
  - name: archive
    kind: LOCAL
    local: { path: ${join(dataDir, 'lake', 'archive')} }
pipelines:
  - name: items
    connection: sim
    destination: archive
    mode: DELTA
    source: { kind: ODP_ODATA, entitySet: ${SALES_ITEMS}, fields: [VBELN, POSNR], pageSize: 500 }
`,
  )
  const refused = await cli(['apply', file])
  expect(refused.code, refused.err).toBe(1)
  // Nothing changed: not the connection's limit, no destination "archive", not the pipeline, no audit entry.
  expect(stored()).toEqual(before)
  expect(refused.err).toContain(`${file}: pipeline "items"`)
  expect(refused.err).toContain('resetDelta')
  expect(refused.err).toContain('nothing was applied')
  expect(refused.out).toBe('') // no object is reported as created or updated
}, 120_000)
