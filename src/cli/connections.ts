import type { Config } from '../config.js'
import { openCatalogSession } from './catalog-session.js'
import { printJson } from './table.js'

/**
 * `connections test <name|id> [--json]`: logs on to SAP with the stored settings and password, as
 * testConnection does; exit 0 when SAP accepted, 1 when it did not. SAP's answer is printed (its
 * class and message); the password is never part of it.
 */
export async function connectionsTest(config: Config, ref: string, opts: { json: boolean }): Promise<number> {
  const catalog = await openCatalogSession(config)
  try {
    const row = await catalog.db.connection.findFirst({ where: { OR: [{ id: ref }, { name: ref }] } })
    if (!row) {
      console.error(`no connection named or with id "${ref}"`)
      return 1
    }
    const result = await catalog.connections.test(row.id)
    if (opts.json) printJson({ connection: row.name, ...result })
    else if (result.ok) console.log(`ok: ${result.message} (${result.latencyMs} ms)`)
    else console.error(`failed: ${result.code}: ${result.message}`)
    return result.ok ? 0 : 1
  } finally {
    await catalog.close()
  }
}
