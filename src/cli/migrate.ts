import type { Config } from '../config.js'
import { migrate } from '../db/migrate.js'
import { dbTarget, describeTarget } from '../db/target.js'

export async function migrateOnly(config: Config): Promise<number> {
  const target = dbTarget(config.DATABASE_URL, config.DATA_DIR)
  const r = await migrate(target)
  console.log(
    `${describeTarget(target)}: applied ${r.applied.length} migration(s)${r.applied.length ? ': ' + r.applied.join(', ') : ''}; ${r.alreadyApplied.length} already applied`,
  )
  return 0
}
