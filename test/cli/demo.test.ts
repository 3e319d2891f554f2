/**
 * The README's first command, as a user runs it: `npm run demo` on embedded defaults (SQLite under
 * DATA_DIR, the built-in simulator, a local folder). Fewer rows than the default, same path.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '../..')
let dataDir: string | undefined
afterEach(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

it('npm run demo loads, changes and deltas the simulator into Parquet, and says where the files are', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'de-demo-'))
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn' }
  delete env.DATABASE_URL
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'demo', '--rows', '3000'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const code = await new Promise<number | null>((r) => child.on('exit', r))
  expect(code, out).toBe(0)

  expect(out).toContain('testConnection: ok')
  expect(out).toMatch(/DELTA_INIT: SUCCEEDED, 3,000 rows in 1 file\(s\), token - → D\d{14}_\d{9}/)
  expect(out).toMatch(/DELTA: SUCCEEDED, 1,200 rows/)
  expect(out).toContain('changes: 500 created, 300 updated, 100 deleted')
  const manifests = [...out.matchAll(/manifest: (file:\S+)/g)].map((m) => fileURLToPath(m[1]))
  expect(manifests).toHaveLength(2)
  expect(manifests.every((p) => p.startsWith(join(dataDir!, 'demo', 'lake')))).toBe(true)
  const delta = JSON.parse(await readFile(manifests[1], 'utf8'))
  expect(delta).toMatchObject({ extractionMode: 'DELTA', rows: 1_200, changeCounts: { created: 500, updated: 300, deleted: 100 } })
  expect(out).toMatch(/schema: VBELN STRING, POSNR STRING, .*NETWR DECIMAL\(15,2\)/)
})
