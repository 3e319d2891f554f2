/**
 * Issue 10, point 1, as a user meets it: `delta-extractor serve` on a new database prints a one-time
 * admin token (on stderr, never in the JSON log) and listens on loopback; HOST=0.0.0.0 without any
 * token refuses to start and says what to do; `token create | list | revoke` manage tokens.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterEach, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '../..')
let dataDir: string | undefined
const children: ChildProcess[] = []
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL')
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

function cli(args: string[], env: Record<string, string>) {
  const e: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir!, LOG_LEVEL: 'info', PORT: '0', ...env }
  delete e.DATABASE_URL
  if (!env.HOST) delete e.HOST
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: ROOT,
    env: e,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d) => (stdout += d))
  child.stderr!.on('data', (d) => (stderr += d))
  const exited = new Promise<number | null>((r) => child.on('exit', r))
  return { child, exited, out: () => stdout, err: () => stderr }
}

/** Starts `serve` and resolves with its port once the JSON log says it listens. */
async function serve(env: Record<string, string> = {}) {
  const p = cli(['serve'], env)
  const lines = createInterface({ input: p.child.stdout! })
  const port = await new Promise<number>((resolve, reject) => {
    p.exited.then((code) => reject(new Error(`serve exited ${code}: ${p.err()}`)))
    lines.on('line', (line) => {
      const m = /"url":"http:\/\/[^"]+:(\d+)\/graphql"/.exec(line)
      if (m) resolve(Number(m[1]))
    })
  })
  const stop = async () => {
    p.child.kill('SIGTERM')
    return p.exited
  }
  return { ...p, port, stop }
}

const ask = (port: number, token?: string) =>
  fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: '{ apiTokens { name role } }' }),
  })

it('prints a one-time admin token at the first start on loopback, and only then', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'de-first-'))
  const first = await serve()
  const token = /dex_[A-Za-z0-9_-]{43}/.exec(first.err())?.[0]
  expect(token, first.err()).toBeDefined()
  expect(first.out()).not.toContain(token)
  expect(first.out()).toContain('created an admin token')
  expect((await ask(first.port)).status).toBe(401)
  const r = await ask(first.port, token)
  expect(await r.json()).toEqual({ data: { apiTokens: [{ name: 'initial-admin', role: 'ADMIN' }] } })
  expect(await first.stop()).toBe(0)

  const second = await serve()
  expect(second.err()).not.toMatch(/dex_/)
  expect((await ask(second.port, token)).status).toBe(200)
  await second.stop()
}, 60_000)

it('refuses to listen beyond loopback before a token exists, then starts once one is created', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'de-first-'))
  const refused = cli(['serve'], { HOST: '0.0.0.0' })
  expect(await refused.exited).toBe(2)
  expect(refused.err()).toContain('delta-extractor token create --role admin --name')
  expect(refused.err()).not.toMatch(/dex_/)

  const create = cli(['token', 'create', '--role', 'admin', '--name', 'ops'], {})
  expect(await create.exited).toBe(0)
  const token = create.out().trim()
  expect(token).toMatch(/^dex_[A-Za-z0-9_-]{43}$/)

  const server = await serve({ HOST: '0.0.0.0' })
  expect(server.err()).not.toMatch(/dex_/)
  expect(await (await ask(server.port, token)).json()).toEqual({ data: { apiTokens: [{ name: 'ops', role: 'ADMIN' }] } })

  const list = cli(['token', 'list'], {})
  expect(await list.exited).toBe(0)
  expect(list.out()).toMatch(/ops {2}admin .* active/)
  expect(list.out()).not.toContain(token)

  const revoke = cli(['token', 'revoke', 'ops'], {})
  expect(await revoke.exited).toBe(0)
  // The running service trusts a token it checked for at most 5 s; then it asks the database again.
  const deadline = Date.now() + 10_000
  let status = 200
  while (status !== 401 && Date.now() < deadline) status = (await ask(server.port, token)).status
  expect(status).toBe(401)
  await server.stop()
}, 60_000)

it('token create refuses an unknown role and explains', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'de-first-'))
  const bad = cli(['token', 'create', '--role', 'root', '--name', 'x'], {})
  expect(await bad.exited).toBe(2)
  expect(bad.err()).toContain('--role (viewer, operator, admin)')
})

it('a port in use or a HOST that is not this machine says which setting to change, without stack traces, and exits 2', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'de-first-'))
  const holder = await serve()
  const busy = cli(['serve'], { PORT: String(holder.port) })
  expect(await busy.exited).toBe(2)
  expect(busy.err()).toContain(
    `refusing to start: cannot listen on 127.0.0.1:${holder.port}: another process already uses port ${holder.port}. Set PORT`,
  )
  await holder.stop()

  // Beyond loopback a token must exist first (see above), so the address is what is refused.
  expect(await cli(['token', 'create', '--role', 'admin', '--name', 'ops'], {}).exited).toBe(0)
  const foreign = cli(['serve'], { HOST: '192.0.2.1' }) // TEST-NET-1: never an address of this machine
  expect(await foreign.exited).toBe(2)
  expect(foreign.err()).toContain('HOST "192.0.2.1" is not an address of this machine. Set HOST')
  const unknown = cli(['serve'], { HOST: 'no-such-host.invalid' })
  expect(await unknown.exited).toBe(2)
  expect(unknown.err()).toContain('HOST "no-such-host.invalid" is not a name this machine can resolve')

  for (const p of [busy, foreign, unknown]) {
    const output = p.out() + p.err()
    expect(output).not.toMatch(/Internal error emitted|websocket server error|\n\s+at /)
  }
}, 90_000)
