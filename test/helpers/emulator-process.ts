import { spawn, type ChildProcess } from 'node:child_process'

/**
 * A storage emulator in a child process: a real server on its own event loop, stopped the way a
 * crashing or restarted service stops (its sockets close under the client), and restartable on the
 * same port and data folder.
 */
export class EmulatorProcess {
  #child?: ChildProcess
  #port: number

  constructor(
    private readonly label: string,
    /** Arguments for `node`, given the port to listen on (0 = any free one). */
    private readonly args: (port: number) => string[],
    /** Finds the port in a line of the emulator's output, once it listens. */
    private readonly listening: RegExp,
  ) {
    this.#port = 0
  }

  get port(): number {
    if (!this.#port) throw new Error(`${this.label} has not started`)
    return this.#port
  }

  get running(): boolean {
    return !!this.#child
  }

  /** Starts the emulator (on its previous port after a stop) and resolves once it listens. */
  async start(timeoutMs = 20_000): Promise<void> {
    if (this.#child) throw new Error(`${this.label} is already running`)
    const child = spawn(process.execPath, this.args(this.#port), { stdio: ['ignore', 'pipe', 'pipe'] })
    this.#child = child
    let output = ''
    this.#port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`${this.label} did not start within ${timeoutMs} ms:\n${output}`)), timeoutMs)
      const fail = (e: Error) => {
        clearTimeout(timer)
        child.kill('SIGKILL')
        this.#child = undefined
        reject(e)
      }
      const onData = (d: Buffer) => {
        output += d.toString()
        const m = this.listening.exec(output)
        if (m) {
          clearTimeout(timer)
          child.stdout!.off('data', onData)
          resolve(Number(m[1]))
        }
      }
      child.stdout!.on('data', onData)
      child.stderr!.on('data', (d: Buffer) => (output += d.toString()))
      child.once('exit', (code) => fail(new Error(`${this.label} exited (${code}) before listening:\n${output}`)))
    })
    // Keep draining output so the child never blocks on a full pipe.
    child.stdout!.resume()
  }

  /** Stops it (SIGTERM: open connections are cut), waiting until the process has exited. */
  async stop(timeoutMs = 10_000): Promise<void> {
    const child = this.#child
    if (!child) return
    this.#child = undefined
    child.removeAllListeners('exit')
    if (child.exitCode !== null || child.signalCode !== null) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      child.once('exit', () => {
        clearTimeout(timer)
        resolve()
      })
      child.kill('SIGTERM')
    })
  }
}
