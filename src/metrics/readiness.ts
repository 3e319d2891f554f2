import type { Db } from '../db/client.js'

/** How long /readyz waits for each dependency before calling it unreachable. */
const CHECK_TIMEOUT_MS = 2_000

export interface ReadinessChecks {
  db: Db
  /** Queue mode: Redis answers a PING. */
  redis?: { ping(): Promise<boolean> }
}

/** What /readyz reports: each dependency up or not, nothing else (no addresses, no error texts). */
export type Readiness = { ready: boolean; checks: Record<string, 'ok' | 'unreachable'> }

export async function readiness({ db, redis }: ReadinessChecks): Promise<Readiness> {
  const checks: Readiness['checks'] = {}
  checks.database = (await withinTimeout(db.$queryRaw`SELECT 1`.then(() => true))) ? 'ok' : 'unreachable'
  if (redis) checks.redis = (await withinTimeout(redis.ping())) ? 'ok' : 'unreachable'
  return { ready: Object.values(checks).every((c) => c === 'ok'), checks }
}

async function withinTimeout(check: Promise<boolean>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS)))
  try {
    return await Promise.race([check.catch(() => false), late])
  } finally {
    clearTimeout(timer)
  }
}
