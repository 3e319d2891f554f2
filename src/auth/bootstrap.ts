import { isIP } from 'node:net'
import type { CreatedToken, TokenService } from './tokens.js'

const INITIAL_TOKEN_NAME = 'initial-admin'

class StartupRefused extends Error {
  override readonly name = 'StartupRefused'
}

/** Whether a listen address is reachable from this machine only. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  if (h === 'localhost' || h === '::1') return true
  return isIP(h) === 4 && h.startsWith('127.')
}

/**
 * The first start of a service that has no token yet, like Jupyter: on a loopback address it
 * creates an admin token and hands it to `show` once; on any other address it refuses to start,
 * since the API would be open to the network with nobody able to use it safely.
 */
export async function ensureFirstToken(
  tokens: TokenService,
  host: string,
  show: ((created: CreatedToken) => void) | undefined,
): Promise<CreatedToken | undefined> {
  if ((await tokens.count()) > 0) return undefined
  if (!isLoopback(host))
    throw new StartupRefused(
      `HOST=${host} would expose the API to the network, and no API token exists yet. ` +
        'Create one first: `delta-extractor token create --role admin --name <your name>` (with the same DATABASE_URL / DATA_DIR), ' +
        'then start again; or leave HOST unset (127.0.0.1), where a first admin token is created and printed at start.',
    )
  const created = await tokens.create({ name: INITIAL_TOKEN_NAME, role: 'ADMIN' })
  show?.(created)
  return created
}
