/**
 * The service alone in its own process, listening on a free port, for load from other processes.
 * Prints `{"url": …, "token": …, "databaseFile": …}` (its first admin token, its SQLite file) once it
 * listens; then answers each line on stdin: `stats` → the number of SQL statements so far; `seed
 * <pipelineId> <n>` → n finished runs for that pipeline (history for the runs query); `events <runId>
 * <n>` → n lines of that run's log. Stops on SIGTERM.
 */
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { startApp } from '../../src/app.js'
import { silentLogger } from '../../src/util/logger.js'
import { peakRssMiB, report, ROOT } from '../lib.js'

let statements = 0
const dir = await mkdtemp(join(tmpdir(), 'de-bench-srv-'))
let token: string | undefined
const app = await startApp({
  dataDir: dir,
  log: silentLogger,
  listen: { host: '127.0.0.1', port: 0 },
  onQuery: () => statements++,
  // The load below is many clients behind one token (200 websockets, 50 HTTP clients): the per-token
  // mutation, subscription and socket limits are not what is measured.
  security: { mutationsPerMinute: 0, subscriptions: { perSocket: 0, perToken: 0, socketsPerToken: 0 } },
  onFirstToken: (created) => (token = created.token),
  // The simulator runs on this machine; the API scenario's lake is bench/out/lake.
  outbound: { allowLoopback: true, allow: [] },
  localRoots: [join(ROOT, 'bench/out')],
})
report({ url: app.url, token, databaseFile: join(dir, 'delta-extractor.db') })
for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, ...args] = line.trim().split(/\s+/)
  if (cmd === 'stats') report({ statements, peakRssMiB: peakRssMiB() })
  if (cmd === 'seed') {
    const [pipelineId, n] = [args[0], Number(args[1])]
    await app.services.db.run.createMany({
      data: Array.from({ length: n }, () => ({
        pipelineId,
        status: 'SUCCEEDED' as const,
        stage: 'DONE' as const,
        extractionMode: 'FULL' as const,
        trigger: 'SCHEDULE' as const,
        rowsWritten: 1000n,
      })),
    })
    report({ seeded: n })
  }
  if (cmd === 'events') {
    const [runId, n] = [args[0]!, Number(args[1])]
    await app.services.db.runEvent.createMany({
      data: Array.from({ length: n }, (_, i) => ({ runId, level: 'info', stage: 'EXTRACTING' as const, message: `page ${i + 1} read` })),
    })
    report({ events: n })
  }
  if (cmd === 'stop') break
}
await app.stop()
process.exit(0)
