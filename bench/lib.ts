/** Small shared pieces of the benchmark: child processes, timing, the SAP simulator process. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** The project folder, whether this file runs from bench/ (tsx) or compiled in dist/bench/. */
export const ROOT = (() => {
  let dir = import.meta.dirname
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir)
  return dir
})()

/**
 * How the service's code runs in the benchmark's processes: compiled JavaScript from dist/, as `npm
 * start` and the installed command run it (the default; run.ts compiles the bench beside the sources
 * first, tsconfig.bench.json), or the TypeScript sources through the tsx loader (`--sources`: how the
 * service ran before it was compiled, and how developers run it).
 */
const fromSources = (): boolean => process.env.BENCH_FROM_SOURCES === '1'

/** Node arguments that run a bench script, e.g. `scenarios/e2e`, the way {@link fromSources} says. */
export const benchScript = (script: string): string[] =>
  fromSources() ? ['--import', 'tsx', join(ROOT, 'bench', `${script}.ts`)] : [join(ROOT, 'dist/bench', `${script}.js`)]

/** Node arguments that run the command line (src/main.ts), compiled or from the sources. */
const cliScript = (sources = fromSources()): string[] =>
  sources ? ['--import', 'tsx', join(ROOT, 'src/main.ts')] : [join(ROOT, 'dist/src/main.js')]

/**
 * Compiles the service and the benchmark's scripts beside it into dist/ (tsconfig.bench.json), so the
 * scenarios import the compiled service by the same relative paths as the sources.
 */
export function buildBench(): void {
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.bench.json')], {
    cwd: ROOT,
    stdio: 'inherit',
  })
}

/**
 * The Node flags the service ships with (`npm start`): service processes in the benchmark run with
 * exactly these, so its figures are the product's. Read from package.json, the one place they live.
 */
export const SERVICE_NODE_FLAGS: string[] =
  (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.match(
    /--(?!import)[\w-]+(=\S+)?/g,
  ) ?? []

/**
 * Resident memory of `delta-extractor serve` (Node flags of `npm start`; compiled, or from the sources
 * through tsx) once it listens and has settled, on an empty database, before any request: what the
 * service costs doing nothing. Read from /proc: the process's own figure, untouched by a client.
 */
export async function idleServiceRss(
  sources: boolean,
  settleMs = 3_000,
): Promise<{ rssMiB: number; peakRssMiB: number; startSeconds: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'de-bench-idle-'))
  const started = performance.now()
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, ...cliScript(sources), 'serve'], {
    cwd: ROOT,
    // the embedded default database (SQLite under DATA_DIR), as a fresh install starts
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'DATABASE_URL')),
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  try {
    await new Promise<void>((resolve, reject) => {
      let out = ''
      child.stdout!.on('data', (d) => {
        out += d
        if (out.includes('GraphQL API listening')) resolve()
      })
      child.on('exit', (c) => reject(new Error(`the service exited with ${c} before listening: ${out}`)))
    })
    const startSeconds = (performance.now() - started) / 1000
    await sleep(settleMs)
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8')
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1])
    return { rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024, startSeconds }
  } finally {
    await new Promise<void>((r) => {
      if (child.exitCode !== null) return r()
      child.once('exit', () => r())
      child.kill('SIGTERM')
    })
    await rm(dataDir, { recursive: true, force: true })
  }
}

/** Peak resident memory of this process so far, in MiB. */
export const peakRssMiB = () => process.resourceUsage().maxRSS / 1024

/** A scenario prints one JSON line last; this is how it reports. */
export function report(result: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(result) + '\n')
}

/** Runs a scenario file in its own Node process (so its memory is its own) and returns its report. */
export async function runScenario<T>(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<T> {
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, ...benchScript(`scenarios/${file.replace(/\.ts$/, '')}`), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  const code: number = await new Promise((r) => child.on('exit', (c) => r(c ?? 1)))
  const last = out.trim().split('\n').at(-1) ?? ''
  if (code !== 0) throw new Error(`${file} exited with ${code}: ${out.slice(-2000)}`)
  return JSON.parse(last) as T
}

/** The SAP simulator in its own process, as SAP would be: its CPU is not the extractor's. */
export async function startSimulatorProcess(
  rows: number,
  latencyMs = 0,
  rowsPerSecondPerRead = 0,
): Promise<{ serviceUrl: string; stop(): Promise<void> }> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...cliScript(),
      'simulate-sap',
      '--port',
      '0',
      '--rows',
      String(rows),
      '--latency-ms',
      String(latencyMs),
      '--rows-per-second-per-read',
      String(rowsPerSecondPerRead),
    ],
    {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  const serviceUrl = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d) => {
      out += d
      const m = /service:\s+(\S+)/.exec(out)
      if (m) resolve(m[1])
    })
    child.on('exit', (c) => reject(new Error(`simulator exited with ${c}: ${out}`)))
  })
  return {
    serviceUrl,
    stop: () =>
      new Promise((r) => {
        child.once('exit', () => r())
        child.kill('SIGTERM')
      }),
  }
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}
