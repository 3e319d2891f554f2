/**
 * `apply file.yaml` asks SAP's metadata about new or changed OData pipelines before its database
 * transaction opens, never inside it (cli/apply.ts, catalog/source-check-plan.ts): while SAP's
 * answer is held back, another connection to the same SQLite file writes at once (busy timeout 0,
 * so a held write lock would fail it with SQLITE_BUSY, not make it wait); and when the stored state
 * the check was made for changes meanwhile, the file is refused with CONFLICT instead of being
 * checked again inside the transaction. The CLI runs as a real process against the SAP simulator,
 * reached through a FaultProxy that holds the $metadata answer.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { SALES_ITEMS, startSapSimulator } from '../../src/simulator/index.js'
import { FaultProxy, type Hold } from '../helpers/fault-proxy.js'

const ROOT = join(import.meta.dirname, '../..')
const PASSWORD = 'Welcome1!'
let sim: Awaited<ReturnType<typeof startSapSimulator>>
let proxy: FaultProxy
let dataDir: string
const children: ChildProcess[] = []

beforeAll(async () => {
  sim = await startSapSimulator({ rows: { [SALES_ITEMS]: 10 } })
  proxy = await FaultProxy.start(() => Number(new URL(sim.serviceUrl).port))
})
afterAll(async () => {
  await proxy.close()
  await sim.close()
})
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL')
  proxy.reset()
  await rm(dataDir, { recursive: true, force: true })
})

function cli(args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, ALLOW_LOOPBACK: 'true', SAP_PASSWORD: PASSWORD }
  delete env.DATABASE_URL
  delete env.LOCAL_ROOTS
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  const output = { out: '', err: '' }
  child.stdout!.on('data', (d) => (output.out += d))
  child.stderr!.on('data', (d) => (output.err += d))
  return new Promise<{ code: number | null; out: string; err: string }>((r) => child.on('exit', (code) => r({ code, ...output })))
}

/** SAP's service, reached through the proxy. */
const serviceUrl = () => {
  const url = new URL(sim.serviceUrl)
  url.port = String(proxy.port)
  return url.toString().replace(/\/$/, '')
}

const connection = (maxConcurrentRuns: number) => `connections:
  - name: sim
    protocol: ODATA
    maxConcurrentRuns: ${maxConcurrentRuns}
    odataConfig:
      serviceUrl: ${serviceUrl()}
      sapClient: "100"
      user: DEMO
      password: \${SAP_PASSWORD}
`
const destination = () => `destinations:
  - name: lake
    kind: LOCAL
    local: { path: ${join(dataDir, 'lake')} }
`
const PIPELINE = `pipelines:
  - name: items
    connection: sim
    destination: lake
    mode: FULL
    source: { kind: ODP_ODATA, entitySet: ${SALES_ITEMS}, fields: [VBELN, POSNR] }
`

async function fileOf(name: string, text: string) {
  const path = join(dataDir, name)
  await writeFile(path, text)
  return path
}

/** A connection and a destination applied, so the database file exists. */
async function catalogWithConnection() {
  dataDir = await mkdtemp(join(tmpdir(), 'de-apply-sap-'))
  const base = await cli(['apply', await fileOf('base.yaml', connection(1) + destination())])
  expect(base.code, base.err).toBe(0)
  return join(dataDir, 'delta-extractor.db')
}

/** Waits until the held $metadata request arrived, failing (instead of hanging) when apply ended first. */
async function heldWhileRunning(hold: Hold, applying: Promise<{ code: number | null; err: string }>) {
  const ended = applying.then((r) => {
    throw new Error(`apply ended (exit ${r.code}) before SAP was asked: ${r.err}`)
  })
  await Promise.race([hold.arrived, ended])
  ended.catch(() => {}) // it ends later, after the release: that is the expected path
}

const isMetadata = (r: { path: string }) => r.path.endsWith('/$metadata')

it("while SAP's metadata answer is held, apply holds no write lock: another connection writes at once, and the file is then applied", async () => {
  const dbFile = await catalogWithConnection()
  // The connection changes first (a write in the transaction before the pipeline's check), then a new OData pipeline.
  const file = await fileOf('change.yaml', connection(2) + destination() + PIPELINE)
  const hold = proxy.holdAnswer(isMetadata)
  const applying = cli(['apply', file])
  await heldWhileRunning(hold, applying)

  // A write from another connection, as the service's heartbeat would make: no waiting (timeout 0).
  const other = new Database(dbFile, { timeout: 0 })
  try {
    other.prepare("INSERT INTO AuditEvent (actor, action, objectType) VALUES ('test', 'concurrentWrite', 'Test')").run()
    expect(other.prepare("SELECT count(*) AS n FROM AuditEvent WHERE action = 'concurrentWrite'").get()).toEqual({ n: 1 })
  } finally {
    other.close()
  }

  hold.release()
  const done = await applying
  expect(done.code, done.err).toBe(0)
  expect(done.out.trim().split('\n')).toEqual(['connection "sim": updated', 'destination "lake": unchanged', 'pipeline "items": created'])
  const db = new Database(dbFile, { readonly: true })
  try {
    expect(db.prepare("SELECT maxConcurrentRuns FROM Connection WHERE name = 'sim'").get()).toEqual({ maxConcurrentRuns: 2 })
    expect(
      db.prepare("SELECT p.entitySet, s.status FROM Pipeline p JOIN SourceCheck s ON s.pipelineId = p.id WHERE p.name = 'items'").get(),
    ).toEqual({ entitySet: SALES_ITEMS, status: 'CHECKED' })
    expect(db.prepare('SELECT action FROM AuditEvent ORDER BY id').all()).toEqual([
      { action: 'createConnection' },
      { action: 'createDestination' },
      { action: 'concurrentWrite' },
      { action: 'updateConnection' },
      { action: 'createPipeline' },
    ])
  } finally {
    db.close()
  }
  expect(proxy.requests.filter(isMetadata)).toHaveLength(1) // asked once, not again in the transaction
}, 60_000)

it('when the stored connection a check was made for changes while SAP is asked, apply refuses the file with CONFLICT and applies nothing', async () => {
  const dbFile = await catalogWithConnection()
  // The pipeline alone: its connection is the stored one, read before SAP is asked.
  const file = await fileOf('pipeline.yaml', PIPELINE)
  const hold = proxy.holdAnswer(isMetadata)
  const applying = cli(['apply', file])
  await heldWhileRunning(hold, applying)

  const other = new Database(dbFile, { timeout: 0 })
  try {
    other.prepare("UPDATE Connection SET config = json_set(config, '$.sapClient', '200') WHERE name = 'sim'").run()
  } finally {
    other.close()
  }

  hold.release()
  const refused = await applying
  expect(refused.code, refused.err).toBe(1)
  expect(refused.err).toContain(`${file}: pipeline "items"`)
  expect(refused.err).toContain('run apply again')
  expect(refused.err).toContain('nothing was applied')
  expect(refused.out).toBe('')
  const db = new Database(dbFile, { readonly: true })
  try {
    expect(db.prepare('SELECT count(*) AS n FROM Pipeline').get()).toEqual({ n: 0 })
  } finally {
    db.close()
  }
}, 60_000)

it("SAP's refusal, asked before the transaction, still refuses the file inside it: nothing applied, the field named", async () => {
  const dbFile = await catalogWithConnection()
  const file = await fileOf('unknown.yaml', connection(2) + destination() + PIPELINE.replace(SALES_ITEMS, 'NoSuchEntitySet'))
  const refused = await cli(['apply', file])
  expect(refused.code, refused.err).toBe(1)
  expect(refused.err).toContain(`${file}: pipeline "items": source.entitySet`)
  expect(refused.err).toContain('nothing was applied')
  const db = new Database(dbFile, { readonly: true })
  try {
    // The connection's change before it was rolled back with it.
    expect(db.prepare("SELECT maxConcurrentRuns FROM Connection WHERE name = 'sim'").get()).toEqual({ maxConcurrentRuns: 1 })
    expect(db.prepare('SELECT count(*) AS n FROM Pipeline').get()).toEqual({ n: 0 })
  } finally {
    db.close()
  }
  expect(proxy.requests.filter(isMetadata)).toHaveLength(1)
}, 60_000)
