import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

const ROOT = join(import.meta.dirname, '../..')

/** One JSON log line of the service (pino). */
export type LogLine = { msg?: string; level?: number } & Record<string, unknown>

/**
 * A `delta-extractor <command>` in its own OS process (`node --import tsx src/main.ts`), as an
 * operator starts it: its JSON log is kept line by line, stderr as text. Tests kill every one they
 * started in afterEach with {@link killAll}.
 */
export class ServiceProcess {
  readonly logs: LogLine[] = []
  stderr = ''
  readonly exited: Promise<number | NodeJS.Signals | null>

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.logs.push(JSON.parse(line) as LogLine)
      } catch {
        this.logs.push({ msg: line })
      }
    })
    child.stderr!.on('data', (d) => (this.stderr += d))
    // A death by signal resolves with the signal's name: a test expecting an exit code then says which.
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)))
  }

  static #started: ServiceProcess[] = []

  /**
   * Starts the command with exactly `env` (plus PATH and HOME) and resolves once its log has a line
   * whose `msg` starts with `readyMsg`; rejects if it exits first or is not ready within the time.
   */
  static async start(args: string[], env: Record<string, string>, readyMsg: string, timeoutMs = 30_000): Promise<ServiceProcess> {
    const p = ServiceProcess.#spawn(args, env)
    await p.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith(readyMsg), timeoutMs)
    return p
  }

  /**
   * Runs a command that ends by itself (`apply`, `run`, `token …`) with exactly `env` (plus PATH and
   * HOME) and resolves with its exit code and output once it has exited; killAll() ends it if the test does first.
   */
  static async once(
    args: string[],
    env: Record<string, string>,
  ): Promise<{ code: number | NodeJS.Signals | null; out: string; err: string }> {
    const p = ServiceProcess.#spawn(args, env)
    let out = ''
    p.child.stdout!.on('data', (d) => (out += d))
    const code = await p.exited
    return { code, out, err: p.stderr }
  }

  static #spawn(args: string[], env: Record<string, string>): ServiceProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const p = new ServiceProcess(child)
    ServiceProcess.#started.push(p)
    return p
  }

  get pid(): number {
    return this.child.pid!
  }

  /** The first log line that matches, as soon as it is written; fails if the process exits or time runs out. */
  async waitForLog(match: (line: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    let exitCode: number | NodeJS.Signals | null | undefined
    void this.exited.then((code) => (exitCode = code))
    for (const deadline = Date.now() + timeoutMs; ; ) {
      const found = this.logs.find(match)
      if (found) return found
      if (exitCode !== undefined) throw new Error(`${this.describe()} exited (${exitCode}) before the awaited log line\n${this.stderr}`)
      if (Date.now() > deadline) throw new Error(`${this.describe()}: no awaited log line within ${timeoutMs} ms\n${this.stderr}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal)
  }

  private describe(): string {
    return `${this.child.spawnargs.slice(3).join(' ')} (pid ${this.pid})`
  }

  /** SIGKILLs every process started and still running, and waits until they are gone. */
  static async killAll(): Promise<void> {
    const all = ServiceProcess.#started.splice(0)
    for (const p of all) p.kill('SIGKILL')
    await Promise.all(all.map((p) => p.exited))
  }
}
