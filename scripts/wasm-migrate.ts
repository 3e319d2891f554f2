// Offline replacement for `prisma db push` / `migrate dev` / `migrate deploy` / `migrate diff`.
// Prisma 7.10's CLI spawns a native `schema-engine` binary that is NOT in any npm package
// (it is fetched from Prisma's own binaries host by @prisma/engines' postinstall / on first CLI run).
// Here we drive the WebAssembly schema engine published on npm (@prisma/schema-engine-wasm)
// through the same driver adapters the runtime uses.
//
// usage: tsx scripts/wasm-migrate.ts <sqlite|pg> <push|dev NAME|deploy|diff|status>
// (copied from shared/tools/prisma-wasm-migrate.ts; DATABASE_URL / SQLITE_URL come from the environment)
declare const WebAssembly: any // not in @types/node 20
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import * as bg from '@prisma/schema-engine-wasm/schema_engine_bg'
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils'
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3'
import { PrismaPg } from '@prisma/adapter-pg'

const [target, cmd, name] = process.argv.slice(2)
if (!['sqlite', 'pg'].includes(target) || !cmd) {
  console.error('usage: tsx scripts/wasm-migrate.ts <sqlite|pg> <push|dev NAME|deploy|diff|status>')
  process.exit(2)
}
const root = path.resolve(import.meta.dirname, '..')
const schemaPath = path.join(root, 'prisma', target, 'schema.prisma')
const migrationsDir = path.join(root, 'prisma', target, 'migrations')
const provider = target === 'pg' ? 'postgresql' : 'sqlite'

// --- load the wasm engine (the package targets bundlers: `import * as wasm from "./x.wasm"`) ---
const require = createRequire(import.meta.url)
const wasmFile = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg').replace(/\.js$/, '.wasm')
const { instance } = await WebAssembly.instantiate(fs.readFileSync(wasmFile), { './schema_engine_bg.js': bg as any })
bg.__wbg_set_wasm(instance.exports)
;(instance.exports as any).__wbindgen_start()

const adapterFactory =
  target === 'pg'
    ? // NB: pass discrete fields, not { connectionString }: adapter-pg's connectToShadowDb() does
      // new Pool({ ...config, database: shadowName }) and pg lets connectionString override `database`,
      // so the "shadow" replay would run against the MAIN database.
      new PrismaPg(pgConfigFromUrl(process.env.DATABASE_URL!))
    : new PrismaBetterSqlite3({ url: process.env.SQLITE_URL ?? 'file:./dev.db' })

function pgConfigFromUrl(url: string) {
  const u = new URL(url)
  return {
    host: u.hostname,
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.slice(1),
  }
}

const files = [{ path: schemaPath, content: fs.readFileSync(schemaPath, 'utf8') }]
const filters = { externalTables: [], externalEnums: [] }

function migrationsList() {
  const dirs = fs.existsSync(migrationsDir)
    ? fs
        .readdirSync(migrationsDir, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort()
    : []
  const lockPath = path.join(migrationsDir, 'migration_lock.toml')
  return {
    baseDir: migrationsDir,
    lockfile: { path: 'migration_lock.toml', content: fs.existsSync(lockPath) ? fs.readFileSync(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: dirs.map((d) => ({
      path: d,
      migrationFile: {
        path: 'migration.sql',
        content: { tag: 'ok' as const, value: fs.readFileSync(path.join(migrationsDir, d, 'migration.sql'), 'utf8') },
      },
    })),
  }
}

// The engine replays migration.sql on the shadow DB with executeRaw(<whole multi-statement script>, no args);
// better-sqlite3 (prepare) rejects multi-statement SQL -> route arg-less raw calls to executeScript.
// adapter-pg 7.10 cannot map PostgreSQL's internal "char" type (OID 18, used in pg_catalog columns the
// engine's schema describer reads) -> "Column type 'char' could not be deserialized"; report it as text (OID 25).
function patchRaw<T extends { executeRaw: any; executeScript: any }>(a: T): T {
  const io = (a as any).performIO?.bind(a)
  if (io)
    (a as any).performIO = async (...args: unknown[]) => {
      const r = await io(...args)
      for (const f of r.fields ?? []) if (f.dataTypeID === 18) f.dataTypeID = 25
      return r
    }
  const orig = a.executeRaw.bind(a)
  a.executeRaw = async (q: { sql: string; args: unknown[] }) =>
    q.args.length === 0 && /;\s*\S/.test(q.sql) ? (await a.executeScript(q.sql), 0) : orig(q)
  return a
}
const factory = {
  adapterName: adapterFactory.adapterName,
  provider: adapterFactory.provider,
  connect: async () => patchRaw(await adapterFactory.connect()),
  connectToShadowDb: async () => (target === 'pg' ? pgShadowDb() : patchRaw(await adapterFactory.connectToShadowDb())),
}
// adapter-pg 7.10's own connectToShadowDb() runs DROP DATABASE before closing the shadow pool
// ("database ... is being accessed by other users") and leaks the admin pool; do it in the right order.
async function pgShadowDb() {
  const cfg = pgConfigFromUrl(process.env.DATABASE_URL!)
  const admin = await new PrismaPg(cfg).connect()
  const name = `prisma_migrate_shadow_db_${crypto.randomUUID()}`
  await admin.executeScript(`CREATE DATABASE "${name}"`)
  const shadow = patchRaw(await new PrismaPg({ ...cfg, database: name }).connect())
  const dispose = shadow.dispose.bind(shadow)
  shadow.dispose = async () => {
    await dispose() // ends the shadow pool
    await admin.executeScript(`DROP DATABASE IF EXISTS "${name}"`)
    await admin.dispose()
  }
  return shadow
}
for (const sym of Object.getOwnPropertySymbols(adapterFactory)) (factory as any)[sym] = (adapterFactory as any)[sym]
const bound = bindMigrationAwareSqlAdapterFactory(factory as any)
const engine = await bg.SchemaEngine.new(
  { datamodels: files.map((f) => [f.path, f.content] as [string, string]) },
  (msg: string) => process.env.DEBUG && console.error('[engine]', msg),
  bound,
)

try {
  if (cmd === 'push') {
    const out = await engine.schemaPush({ force: process.argv.includes('--force'), schema: { files }, filters })
    console.log('db push:', JSON.stringify(out))
  } else if (cmd === 'diff') {
    const out = await engine.diff({
      from: { tag: 'migrations', ...migrationsList() },
      to: { tag: 'schemaDatamodel', files },
      script: true,
      exitCode: null,
      filters,
    })
    // with `script: true` the SQL is printed through the debug/print callback or returned in stdout
    console.log(out.stdout ?? '')
  } else if (cmd === 'dev') {
    // devDiagnostic replays the migration history on a shadow DB (adapter.connectToShadowDb) and fills the
    // engine's migration-schema cache; createMigration in the wasm engine relies on that cache.
    // (on a brand-new DB the wasm engine fails with P1014 "_prisma_migrations does not exist";
    //  applying the current history first creates that table)
    await engine.applyMigrations({ migrationsList: migrationsList(), filters })
    const diag = await engine.devDiagnostic({ migrationsList: migrationsList(), filters })
    if (diag.action.tag === 'reset') throw new Error('migrate dev needs a reset: ' + diag.action.reason)
    const out = await engine.createMigration({
      draft: false,
      migrationName: name ?? 'migration',
      migrationsList: migrationsList(),
      schema: { files },
      filters,
    })
    if (out.migrationScript) {
      const dir = path.join(migrationsDir, out.generatedMigrationName)
      fs.mkdirSync(dir, { recursive: true })
      fs.writeFileSync(path.join(dir, `migration.${out.extension}`), out.migrationScript)
      fs.writeFileSync(
        path.join(migrationsDir, 'migration_lock.toml'),
        `# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "${provider}"\n`,
      )
      console.log('created', path.relative(root, dir))
    } else console.log('no schema changes')
    const applied = await engine.applyMigrations({ migrationsList: migrationsList(), filters })
    console.log('applied:', applied.appliedMigrationNames)
  } else if (cmd === 'deploy') {
    const applied = await engine.applyMigrations({ migrationsList: migrationsList(), filters })
    console.log('applied:', applied.appliedMigrationNames)
  } else if (cmd === 'status') {
    const out = await engine.diagnoseMigrationHistory({ migrationsList: migrationsList(), optInToShadowDatabase: false, filters })
    console.log(JSON.stringify(out, null, 2))
  } else throw new Error('unknown command ' + cmd)
} catch (e: any) {
  // "External error id#N" -> the real driver-adapter error is kept in the bound factory's registry
  const m = /External error id#(\d+)/.exec(String(e?.message))
  if (m) console.error('driver adapter error:', bound.errorRegistry.consumeError(Number(m[1])))
  throw e
} finally {
  engine.free()
}
process.exit(0) // the engine does not dispose the main adapter's pool
