import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { AuditLog, CLI_ACTOR } from '../auth/audit.js'
import { SourceCheckPlan } from '../catalog/source-check-plan.js'
import type { Config } from '../config.js'
import type { Connection, Destination, Pipeline } from '../db/client.js'
import { generateKey } from '../db/secrets.js'
import { type CatalogSession, openCatalogSession } from './catalog-session.js'
import { asFileObject, type Catalogs, createFileObjects, pipelineInput } from './file-objects.js'
import { printJson } from './table.js'
import { type CatalogFile, FileProblem, type ObjectKind, readCatalogFile } from './yaml-file.js'

type Outcome = 'created' | 'updated' | 'unchanged'

interface Applied {
  kind: ObjectKind
  name: string
  outcome: Outcome
}

/** Pipeline columns the file decides (besides its connection and destination). */
const PIPELINE_COLUMNS = [
  'mode',
  'sourceKind',
  'entitySet',
  'odpContext',
  'odpName',
  'table',
  'fields',
  'filter',
  'watermarkField',
  'pageSize',
  'partitions',
  'schedule',
  'timezone',
  'enabled',
  'pathTemplate',
  'compression',
  'rowGroupRows',
  'maxFileMb',
  'successMarker',
  'tableFormat',
  'currentState',
  'schemaChanges',
] as const satisfies ReadonlyArray<keyof Pipeline>

/**
 * `delta-extractor apply file.yaml`: creates or updates the file's connections, destinations and
 * pipelines by name, and says per object whether it was created, updated or unchanged.
 *
 * All or nothing. The file is first applied to a scratch catalogue (a throwaway SQLite database under
 * a temporary folder, with the same catalogue code and LOCAL_ROOTS): every object is validated and
 * normalised there, and any refusal is reported, naming the file, object and field, before the
 * service's catalogue is touched (exit 2). Then the normalised objects are compared with the stored
 * ones, and only the differences are written, in dependency order, in one database transaction
 * (catalogue calls join it, db/one-transaction.ts), which SAP's metadata checks are asked before
 * (see applyChanges). A refusal that only the stored state can cause (a DELTA pipeline's selection
 * while SAP holds its subscription, architecture rule 5 of the commit protocol) rolls the whole file
 * back: exit 1, nothing applied.
 */
export async function applyCommand(config: Config, path: string, opts: { json: boolean }): Promise<number> {
  const file = await readCatalogFile(path, process.env)
  for (const secret of file.literalSecrets)
    console.error(`warning: ${file.path}: ${secret} is written in the file; use a \${ENV_VAR} reference instead`)
  const catalog = await openCatalogSession(config)
  try {
    // A FileProblem from here on is a refusal of the whole file (exit 2, main.ts); nothing was written.
    const wanted = await normalised(config, file, catalog)
    return await applyChanges(catalog, file, wanted, opts)
  } finally {
    await catalog.close()
  }
}

/**
 * Writes what differs, in dependency order, in one transaction: a refusal that only the stored state
 * (or SAP) can cause stops it, and nothing of the file is applied (exit 1). The outcomes are printed
 * once they are committed.
 *
 * SAP is never asked inside that transaction (its metadata check takes up to 15 s per pipeline, and
 * meanwhile the service's own writes would wait on SQLite, or find rows locked on PostgreSQL): the
 * writes are first rehearsed in a transaction that is always rolled back, which notes what the
 * catalogue would ask SAP about each new or changed OData pipeline; SAP is asked with no transaction
 * open; then the writes are made for real, answered from those checks. If the stored state moved in
 * between so that another question would be asked, the file is refused with CONFLICT (run it again),
 * never sent to SAP from inside (catalog/source-check-plan.ts).
 */
async function applyChanges(catalog: CatalogSession, file: CatalogFile, wanted: Normalised, opts: { json: boolean }) {
  const applied: Applied[] = []
  const writes = (c: Catalogs) => writeChanges(c, catalog, file, wanted, applied)
  const plan = new SourceCheckPlan()
  try {
    if ([...wanted.pipelines.values()].some((p) => p.sourceKind === 'ODP_ODATA')) {
      await rehearse(catalog, writes, plan)
      await catalog.askSap(plan)
    }
    await catalog.inOneTransaction(writes, { checkSource: (connections) => plan.answering(connections) })
  } catch (e) {
    if (!(e instanceof FileProblem)) throw e
    console.error(
      `${e.message}\nnothing was applied: the file is applied in one transaction, and the ${applied.length} object(s) before it were rolled back with it`,
    )
    return 1
  }
  if (opts.json) printJson(applied)
  else for (const a of applied) console.log(`${a.kind} "${a.name}": ${a.outcome}`)
  return 0
}

/** Thrown at the end of a rehearsal so that its transaction rolls back. */
class Rehearsed extends Error {}

/** Runs `writes` in a transaction that is rolled back, noting in `plan` what they would ask SAP; a refusal is thrown. */
async function rehearse(catalog: CatalogSession, writes: (c: Catalogs) => Promise<void>, plan: SourceCheckPlan) {
  try {
    await catalog.inOneTransaction(
      async (c) => {
        await writes(c)
        throw new Rehearsed()
      },
      { checkSource: (connections) => plan.noting(connections) },
    )
  } catch (e) {
    if (!(e instanceof Rehearsed)) throw e
  }
}

/** The file's differences written through `c` (in a transaction), each object's outcome in `applied`. */
async function writeChanges(c: Catalogs, catalog: CatalogSession, file: CatalogFile, wanted: Normalised, applied: Applied[]) {
  applied.length = 0 // nothing of an attempt that threw is applied
  const audit = new AuditLog(c.db, catalog.log)
  const record = (action: string, objectType: string, objectId: string) => audit.record({ actor: CLI_ACTOR, action, objectType, objectId })
  for (const conn of file.connections) {
    const current = await c.db.connection.findUnique({ where: { name: conn.name } })
    const outcome = !current ? 'created' : sameConnection(catalog, current, wanted.connections.get(conn.name)!) ? 'unchanged' : 'updated'
    if (outcome !== 'unchanged') {
      const { name: _, protocol: __, ...change } = conn
      const row = await asFileObject(file.path, 'connection', conn.name, () =>
        current ? c.connections.update(current.id, change) : c.connections.create(conn),
      )
      await record(current ? 'updateConnection' : 'createConnection', 'Connection', row.id)
    }
    applied.push({ kind: 'connection', name: conn.name, outcome })
  }
  for (const d of file.destinations) {
    const current = await c.db.destination.findUnique({ where: { name: d.name } })
    const outcome = !current ? 'created' : sameDestination(catalog, current, wanted.destinations.get(d.name)!) ? 'unchanged' : 'updated'
    if (outcome !== 'unchanged') {
      const { name: _, kind: __, ...change } = d
      const row = await asFileObject(file.path, 'destination', d.name, () =>
        current ? c.destinations.update(current.id, change) : c.destinations.create(d),
      )
      await record(current ? 'updateDestination' : 'createDestination', 'Destination', row.id)
    }
    applied.push({ kind: 'destination', name: d.name, outcome })
  }
  for (const p of file.pipelines) {
    const current = await c.db.pipeline.findUnique({ where: { name: p.name }, include: { connection: true, destination: true } })
    const want = wanted.pipelines.get(p.name)!
    const outcome = !current ? 'created' : samePipeline(current, want) ? 'unchanged' : 'updated'
    if (outcome !== 'unchanged') {
      const connection = await c.db.connection.findUniqueOrThrow({ where: { name: want.connection.name } })
      const destination = await c.db.destination.findUniqueOrThrow({ where: { name: want.destination.name } })
      const input = pipelineInput(p, connection.id, destination.id)
      const row = await asFileObject(file.path, 'pipeline', p.name, () =>
        current ? c.pipelines.update(current.id, input) : c.pipelines.create(input),
      )
      await record(current ? 'updatePipeline' : 'createPipeline', 'Pipeline', row.id)
    }
    applied.push({ kind: 'pipeline', name: p.name, outcome })
  }
}

type Normalised = {
  connections: Map<string, { row: Connection; secret: unknown; passwordGiven: boolean }>
  destinations: Map<string, { row: Destination; secret: unknown; secretsGiven: boolean }>
  pipelines: Map<string, Pipeline & { connection: Connection; destination: Destination }>
}

/**
 * The file's objects as the catalogue would store them, from a scratch catalogue: this validates
 * the whole file (nothing is written to the service's catalogue when any object is refused) and
 * yields values to compare with the stored ones (trimmed, upper-cased, defaults filled in, secrets
 * opened). Connections and destinations the file refers to but does not define are copied into the
 * scratch catalogue from the service's (public settings only).
 */
async function normalised(config: Config, file: CatalogFile, catalog: CatalogSession): Promise<Normalised> {
  const dir = await mkdtemp(join(tmpdir(), 'delta-extractor-check-'))
  const scratch = await openCatalogSession(config, { dataDir: dir, secretKey: generateKey() }, { checkSources: false })
  try {
    await createFileObjects(scratch, file, async (kind, name) => {
      if (kind === 'connection') {
        const c = await catalog.db.connection.findUnique({ where: { name } })
        const { id, protocol, config, maxConcurrentRuns } = c ?? {}
        return c
          ? (await scratch.db.connection.create({ data: { id, name, protocol: protocol!, config: config!, maxConcurrentRuns } })).id
          : null
      }
      const d = await catalog.db.destination.findUnique({ where: { name } })
      return d ? (await scratch.db.destination.create({ data: { id: d.id, name, kind: d.kind, config: d.config } })).id : null
    })
    const opened = (sealed: string | null) => (sealed ? scratch.box.open(sealed) : {})
    const given = (input: unknown, keys: RegExp) => Object.keys((input ?? {}) as object).some((k) => keys.test(k))
    const result: Normalised = { connections: new Map(), destinations: new Map(), pipelines: new Map() }
    for (const c of file.connections) {
      const row = await scratch.db.connection.findUniqueOrThrow({ where: { name: c.name } })
      result.connections.set(c.name, {
        row,
        secret: opened(row.secret),
        passwordGiven: given(c.odataConfig ?? c.rfcConfig, /^passw(or)?d$/),
      })
    }
    for (const d of file.destinations) {
      const row = await scratch.db.destination.findUniqueOrThrow({ where: { name: d.name } })
      const settings = d.azureBlob ?? d.s3
      result.destinations.set(d.name, {
        row,
        secret: opened(row.secret),
        secretsGiven: given(settings, /^(connectionString|sasToken|accountKey|accessKeyId|secretAccessKey)$/),
      })
    }
    for (const p of file.pipelines)
      result.pipelines.set(
        p.name,
        await scratch.db.pipeline.findUniqueOrThrow({ where: { name: p.name }, include: { connection: true, destination: true } }),
      )
    return result
  } finally {
    await scratch.close()
    await rm(dir, { recursive: true, force: true })
  }
}

const json = (text: string) => JSON.parse(text) as unknown

/** Secrets left out of the file keep the stored ones (as in the API), so they are compared only when given. */
function sameConnection(
  catalog: CatalogSession,
  current: Connection,
  want: Normalised['connections'] extends Map<string, infer V> ? V : never,
) {
  return (
    current.protocol === want.row.protocol &&
    current.maxConcurrentRuns === want.row.maxConcurrentRuns &&
    isDeepStrictEqual(json(current.config), json(want.row.config)) &&
    (!want.passwordGiven || isDeepStrictEqual(current.secret ? catalog.box.open(current.secret) : {}, want.secret))
  )
}

function sameDestination(
  catalog: CatalogSession,
  current: Destination,
  want: Normalised['destinations'] extends Map<string, infer V> ? V : never,
) {
  return (
    current.kind === want.row.kind &&
    isDeepStrictEqual(json(current.config), json(want.row.config)) &&
    (!want.secretsGiven || isDeepStrictEqual(current.secret ? catalog.box.open(current.secret) : {}, want.secret))
  )
}

function samePipeline(
  current: Pipeline & { connection: Connection; destination: Destination },
  want: Pipeline & { connection: Connection; destination: Destination },
) {
  return (
    current.connection.name === want.connection.name &&
    current.destination.name === want.destination.name &&
    PIPELINE_COLUMNS.every((k) => current[k] === want[k])
  )
}
