/**
 * HTTP admin API, so another process (the `simulate-sap` command, cross-process tests) can drive a
 * simulator. JSON in and out, no authentication: the simulator is a test tool and listens on 127.0.0.1
 * by default. Errors answer `{ "error": "<message>" }` with 400 (bad input) or 404 (unknown route).
 *
 *   GET    /sim/admin/stats                               → SimulatorAdmin.stats() (requests, pages, inFlight)
 *   GET    /sim/admin/subscriptions                       → SimulatorAdmin.subscriptions()
 *   GET    /sim/admin/open-requests                       → { openRequests }
 *   GET    /sim/admin/variants                            → current variants
 *   POST   /sim/admin/variants        {partial variants}  → current variants
 *   POST   /sim/admin/faults          {Fault}             → { ok: true }
 *   DELETE /sim/admin/faults                              → { ok: true }
 *   GET    /sim/admin/entity-sets/<ES>                    → { entitySet, rowCount }
 *   GET    /sim/admin/entity-sets/<ES>/changes            → ChangeRef[]
 *   GET    /sim/admin/entity-sets/<ES>/rows               → NDJSON, one SapRow per line, key order
 *   POST   /sim/admin/entity-sets/<ES>/insert  {count}           → ChangeRef[]
 *   POST   /sim/admin/entity-sets/<ES>/update  {keys} | {count}  → ChangeRef[]
 *   POST   /sim/admin/entity-sets/<ES>/delete  {keys} | {count}  → ChangeRef[]
 *   POST   /sim/admin/entity-sets/<ES>/expire-tokens {user?}     → { ok: true }
 *   POST   /sim/admin/entity-sets/<ES>/fields  {name, type}      → { ok: true }  (adds a field mid-life)
 *   DELETE /sim/admin/entity-sets/<ES>/fields/<NAME>             → { ok: true }  (drops one)
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { z } from 'zod'
import type { SimState } from '../state.js'
import type { SimulatorAdmin } from '../types.js'
import { keysOrCountSchema, parseWith } from '../validation.js'

const MAX_BODY = 1024 * 1024

const addedFieldSchema = z
  .object({
    name: z.string().regex(/^[A-Z][A-Z0-9_]{0,29}$/),
    type: z.discriminatedUnion('abap', [
      z.object({ abap: z.literal('CHAR'), length: z.number().int().min(1).max(1333) }).strict(),
      z.object({ abap: z.literal('DEC'), precision: z.number().int().min(1).max(31), scale: z.number().int().min(0).max(14) }).strict(),
      z.object({ abap: z.literal('INT4') }).strict(),
    ]),
  })
  .strict()

class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY) throw new AdminError(400, 'body too large')
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') return {}
  try {
    return JSON.parse(text)
  } catch {
    throw new AdminError(400, 'body is not JSON')
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

async function streamRows(res: ServerResponse, rows: AsyncIterable<unknown>): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8' })
  let buf = ''
  for await (const row of rows) {
    buf += JSON.stringify(row) + '\n'
    if (buf.length > 64 * 1024) {
      if (!res.write(buf)) await new Promise((resolve) => res.once('drain', resolve))
      buf = ''
      if (res.destroyed) return
    }
  }
  res.end(buf)
}

async function route(admin: SimulatorAdmin, state: SimState, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const method = req.method ?? 'GET'
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent)
  const ok = { ok: true }
  if (parts[0] === 'stats' && method === 'GET') return send(res, 200, admin.stats())
  if (parts[0] === 'subscriptions' && method === 'GET') return send(res, 200, admin.subscriptions())
  if (parts[0] === 'open-requests' && method === 'GET') return send(res, 200, { openRequests: admin.openRequests() })
  if (parts[0] === 'variants' && method === 'GET') return send(res, 200, state.variants)
  if (parts[0] === 'variants' && method === 'POST') {
    admin.setVariants((await readJson(req)) as object)
    return send(res, 200, state.variants)
  }
  if (parts[0] === 'faults' && method === 'POST') {
    admin.injectFault((await readJson(req)) as never)
    return send(res, 200, ok)
  }
  if (parts[0] === 'faults' && method === 'DELETE') {
    admin.clearFaults()
    return send(res, 200, ok)
  }
  if (parts[0] === 'entity-sets' && parts[1] !== undefined) {
    const es = parts[1]
    if (!state.tables.has(es)) throw new AdminError(404, `unknown entity set ${es}`)
    const action = parts[2]
    if (action === undefined && method === 'GET') return send(res, 200, { entitySet: es, rowCount: admin.rowCount(es) })
    if (action === 'changes' && method === 'GET') return send(res, 200, admin.changeLog(es))
    if (action === 'rows' && method === 'GET') return streamRows(res, admin.rows(es))
    if (method === 'POST' && action === 'insert') {
      const { count } = parseWith(z.object({ count: z.number().int().min(0) }).strict(), await readJson(req), 'insert body')
      return send(res, 200, admin.insert(es, count))
    }
    if (method === 'POST' && (action === 'update' || action === 'delete')) {
      const body = parseWith(keysOrCountSchema, await readJson(req), `${action} body`)
      const arg = 'keys' in body ? body.keys : body.count
      return send(res, 200, action === 'update' ? admin.update(es, arg) : admin.delete(es, arg))
    }
    if (method === 'POST' && action === 'fields' && parts[3] === undefined) {
      admin.addField(es, parseWith(addedFieldSchema, await readJson(req), 'fields body'))
      return send(res, 200, ok)
    }
    if (method === 'DELETE' && action === 'fields' && parts[3] !== undefined) {
      admin.dropField(es, parts[3])
      return send(res, 200, ok)
    }
    if (method === 'POST' && action === 'expire-tokens') {
      const { user } = parseWith(z.object({ user: z.string().optional() }).strict(), await readJson(req), 'expire-tokens body')
      admin.expireTokens(es, user)
      return send(res, 200, ok)
    }
  }
  throw new AdminError(404, `no admin route ${method} /sim/admin/${parts.join('/')}`)
}

/** Handles `/sim/admin/...`; `path` is the part after `/sim/admin/`. */
export async function handleAdmin(
  admin: SimulatorAdmin,
  state: SimState,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  try {
    await route(admin, state, req, res, path)
  } catch (err) {
    if (res.headersSent) return void res.destroy()
    const status = err instanceof AdminError ? err.status : 400
    send(res, status, { error: err instanceof Error ? err.message : String(err) })
  }
}
