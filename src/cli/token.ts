import { parseArgs } from 'node:util'
import { AuditLog, CLI_ACTOR } from '../auth/audit.js'
import { parseRole, ROLES } from '../auth/roles.js'
import { TokenService } from '../auth/tokens.js'
import type { Config } from '../config.js'
import { openDb } from '../db/client.js'
import { migrate } from '../db/migrate.js'
import { dbTarget } from '../db/target.js'
import { DomainError } from '../errors.js'
import { printable } from '../util/control-chars.js'
import { createLogger } from '../util/logger.js'
import { printJson } from './table.js'

export const TOKEN_USAGE = `token create --role admin|operator|viewer --name NAME   prints the new token (shown once)
  token list [--json]                                      names, roles, last use, revocation
  token revoke ID|NAME                                     stops the token (services notice within 5 s; at once with REDIS_URL)`

/**
 * `delta-extractor token …`: manages API tokens on the database the service uses (same DATA_DIR /
 * DATABASE_URL), with or without the service running. Changes are audited with actor "cli".
 */
export async function tokenCommand(config: Config, args: string[]): Promise<number> {
  const [sub, ...rest] = args
  const target = dbTarget(config.DATABASE_URL, config.DATA_DIR)
  await migrate(target)
  const db = await openDb(target)
  const log = createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL)
  const tokens = new TokenService(db, log)
  const audit = new AuditLog(db, log)
  try {
    switch (sub) {
      case 'create': {
        const { values } = parseArgs({ args: rest, options: { role: { type: 'string' }, name: { type: 'string' } } })
        const role = values.role ? parseRole(values.role) : undefined
        if (!role || !values.name) {
          console.error(`token create needs --role (${ROLES.map((r) => r.toLowerCase()).join(', ')}) and --name`)
          return 2
        }
        const created = await tokens.create({ name: values.name, role })
        await audit.record({ actor: CLI_ACTOR, action: 'createApiToken', objectType: 'ApiToken', objectId: created.apiToken.id })
        console.error(`created ${role.toLowerCase()} token "${created.apiToken.name}" (id ${created.apiToken.id}); it is shown this once:`)
        console.log(created.token)
        return 0
      }
      case 'list': {
        const all = await tokens.list()
        if (rest.includes('--json')) {
          // The fields of the GraphQL ApiToken type; the token itself is never stored, only its hash.
          printJson(
            all.map((t) => ({
              id: t.id,
              name: t.name,
              role: t.role,
              createdAt: t.createdAt,
              lastUsedAt: t.lastUsedAt,
              revokedAt: t.revokedAt,
            })),
          )
          return 0
        }
        if (!all.length) console.log('no tokens (a service on 127.0.0.1 creates "initial-admin" at its first start)')
        for (const t of all)
          console.log(
            [
              t.id,
              printable(t.name),
              t.role.toLowerCase(),
              `created ${t.createdAt.toISOString()}`,
              `last used ${t.lastUsedAt?.toISOString() ?? 'never'}`,
              t.revokedAt ? `REVOKED ${t.revokedAt.toISOString()}` : 'active',
            ].join('  '),
          )
        return 0
      }
      case 'revoke': {
        if (rest.length !== 1) {
          console.error('token revoke needs exactly one token id or name')
          return 2
        }
        const revoked = await tokens.revoke(rest[0])
        await audit.record({ actor: CLI_ACTOR, action: 'revokeApiToken', objectType: 'ApiToken', objectId: revoked.id })
        console.log(`revoked "${printable(revoked.name)}" (id ${revoked.id}) at ${revoked.revokedAt!.toISOString()}`)
        await announceRevoke(config, revoked.id)
        return 0
      }
      default:
        console.error(`usage: delta-extractor ${TOKEN_USAGE}`)
        return 2
    }
  } catch (e) {
    if (e instanceof DomainError) {
      console.error(`${e.code}: ${e.message}`)
      return 1
    }
    throw e
  } finally {
    tokens.close()
    await db.$disconnect()
  }
}

/**
 * In queue mode, tells the running instances over Redis, as revokeApiToken does (`<REDIS_PREFIX>:revoke`,
 * docs/architecture.md#progress): each drops the token from its cache and closes its streams now
 * rather than at its next re-check. Sent for a token revoked before too, in case that message was
 * lost. The database is the truth and is already written, so a Redis failure only delays: it is said,
 * not fatal.
 */
async function announceRevoke(config: Config, tokenId: string): Promise<void> {
  if (!config.REDIS_URL) return
  const { publishOnce } = await import('../orchestrator/redis-channels.js')
  try {
    const heard = await publishOnce(config.REDIS_URL, config.REDIS_PREFIX, 'revoke', tokenId)
    console.error(`told ${heard} running process(es) over Redis (prefix ${config.REDIS_PREFIX}): they refuse the token now`)
  } catch (e) {
    console.error(`${(e as Error).message}; running services refuse the token within 5 s`)
  }
}
