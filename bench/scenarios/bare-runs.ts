/**
 * The reference of section e: the rows of `runs(first: 50) { totalCount edges { node { id status
 * rowsWritten pipeline { name connection { name protocol } } } } }` served by a minimal node:http
 * handler over the same SQLite file, with hand-written SQL (one join, one count, statements prepared
 * once) and no checks at all: what the machine does for this answer with nothing of ours in the way.
 * It reads and parses the request body as any server must, and answers the same JSON as the API.
 * Prints `{"url": …}` once it listens; stops on SIGTERM or when stdin closes.
 *   args: <sqlite file>
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import Database from 'better-sqlite3'
import { report } from '../lib.js'

const db = new Database(process.argv[2]!, { readonly: true, fileMustExist: true })
const page = db
  .prepare(
    `SELECT r.id, r.status, r.rowsWritten, p.name AS pipelineName, c.name AS connectionName, c.protocol
       FROM Run r JOIN Pipeline p ON p.id = r.pipelineId JOIN Connection c ON c.id = p.connectionId
      ORDER BY r.id DESC LIMIT 50`,
  )
  .safeIntegers(true)
const count = db.prepare('SELECT COUNT(*) AS n FROM Run')

type Row = { id: string; status: string; rowsWritten: bigint; pipelineName: string; connectionName: string; protocol: string }

const server = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    JSON.parse(Buffer.concat(chunks).toString('utf8'))
    const edges = (page.all() as Row[]).map((r) => ({
      node: {
        id: r.id,
        status: r.status,
        rowsWritten: String(r.rowsWritten),
        pipeline: { name: r.pipelineName, connection: { name: r.connectionName, protocol: r.protocol } },
      },
    }))
    const totalCount = (count.get() as { n: number }).n
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
    res.end(JSON.stringify({ data: { runs: { totalCount, edges } } }))
  })
})
server.listen(0, '127.0.0.1', () => report({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }))
process.stdin.on('end', () => process.exit(0)).resume()
