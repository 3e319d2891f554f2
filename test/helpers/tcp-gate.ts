import { createServer, type Server, type Socket, connect } from 'node:net'

/**
 * A TCP relay in front of a server (Redis here) that a test can shut: every connection through it is
 * cut and new ones are refused until it opens again, as a network partition between one process and
 * the server would do, while other processes keep their own direct connections.
 */
export class TcpGate {
  readonly #sockets = new Set<Socket>()
  #shut = false

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpGate> {
    let gate: TcpGate | undefined
    const server = createServer((client) => {
      if (!gate || gate.#shut) return void client.destroy()
      const upstream = connect(target)
      for (const [a, b] of [
        [client, upstream],
        [upstream, client],
      ]) {
        gate.#sockets.add(a)
        a.pipe(b)
        a.on('error', () => b.destroy())
        a.on('close', () => {
          gate!.#sockets.delete(a)
          b.destroy()
        })
      }
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    gate = new TcpGate(server, (server.address() as { port: number }).port)
    return gate
  }

  /** Cuts every connection through the gate and refuses new ones. */
  shut(): void {
    this.#shut = true
    for (const s of this.#sockets) s.destroy()
  }

  open(): void {
    this.#shut = false
  }

  async close(): Promise<void> {
    this.shut()
    await new Promise((resolve) => this.server.close(resolve))
  }
}
