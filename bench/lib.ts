/** Small shared pieces of the benchmark: child processes, timing, the SAP simulator process. */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export const ROOT = join(import.meta.dirname, '..')

/**
 * The Node flags the service ships with (`npm start`): service processes in the benchmark run with
 * exactly these, so its figures are the product's. Read from package.json, the one place they live.
 */
export const SERVICE_NODE_FLAGS: string[] =
  (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.match(/--(?!import)[\w-]+(=\S+)?/g) ?? []

/** Peak resident memory of this process so far, in MiB. */
export const peakRssMiB = () => process.resourceUsage().maxRSS / 1024

/** A scenario prints one JSON line last; this is how it reports. */
export function report(result: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(result) + '\n')
}

/** Runs a scenario file in its own Node process (so its memory is its own) and returns its report. */
export async function runScenario<T>(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<T> {
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, '--import', 'tsx', join(ROOT, 'bench/scenarios', file), ...args], {
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
export async function startSimulatorProcess(rows: number, latencyMs = 0): Promise<{ serviceUrl: string; stop(): Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'simulate-sap', '--port', '0', '--rows', String(rows), '--latency-ms', String(latencyMs)], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
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
