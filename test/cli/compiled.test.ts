/**
 * `npm start` and the installed `delta-extractor` command run the JavaScript compiled to dist/, with
 * no TypeScript loader. Plain Node forgives less than tsx (an import without its extension in
 * generated code, a path worked out from the source tree's layout), so this builds dist/ the way
 * `npm install` does and drives the compiled service as a user would.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, expect, it } from 'vitest'
import { listMigrations } from '../../src/db/migrate.js'

const ROOT = join(import.meta.dirname, '../..')
const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts

let dataDir: string | undefined
let child: ChildProcess | undefined
beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    stdio: 'inherit',
  })
})
afterEach(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r))
    child.kill('SIGTERM')
    await exited
  }
  child = undefined
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

/** The environment of a fresh install: embedded SQLite under DATA_DIR. */
async function freshEnv(): Promise<NodeJS.ProcessEnv> {
  dataDir = await mkdtemp(join(tmpdir(), 'de-compiled-'))
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' }
  delete env.DATABASE_URL
  return env
}

it('the installed command (bin/delta-extractor.js, compiled) applies the committed migrations to an empty database', async () => {
  const env = await freshEnv()
  // executed as a user's shell does: the shebang line's Node flags included
  child = spawn(join(ROOT, 'bin/delta-extractor.js'), ['migrate'], { cwd: tmpdir(), env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const code = await new Promise((r) => child!.on('exit', r))
  expect(code, out).toBe(0)
  const names = listMigrations('sqlite').map((m) => m.name)
  expect(names.length).toBeGreaterThan(0)
  expect(out).toContain(`applied ${names.length} migration(s): ${names.join(', ')}; 0 already applied`)
})

it('npm start runs dist/ with the Node flags the README measures, and serves the API', async () => {
  const [node, ...args] = scripts.start.split(/\s+/)
  expect(node).toBe('node')
  expect(args).toEqual(['--max-old-space-size=512', '--max-semi-space-size=16', '--liftoff-only', 'dist/src/main.js', 'serve'])
  child = spawn(process.execPath, args, { cwd: ROOT, env: await freshEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  // The first start prints a one-time admin token on stderr; the JSON log on stdout says where it listens.
  let err = ''
  const token = new Promise<string>((resolve) =>
    child!.stderr!.on('data', (d) => {
      err += d
      const m = /dex_[A-Za-z0-9_-]{43}/.exec(err)
      if (m) resolve(m[0])
    }),
  )
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child!.stdout!.on('data', (d) => {
      out += d
      const m = /"url":"(http:[^"]+)"/.exec(out)
      if (m) resolve(m[1])
    })
    child!.on('exit', (c) => reject(new Error(`exited with ${c}: ${out}${err}`)))
  })
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await token}` },
    body: JSON.stringify({ query: '{ pipelines { id } connections { id } }' }),
  })
  expect(await res.json()).toEqual({ data: { pipelines: [], connections: [] } })
})
