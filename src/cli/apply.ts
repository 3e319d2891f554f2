import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { AuditLog, CLI_ACTOR } from '../auth/audit.js'
import type { Config } from '../config.js'
import type { Connection, Destination, Pipeline } from '../db/client.js'
import { generateKey } from '../db/secrets.js'
import { type CatalogSession, openCatalogSession } from './catalog-session.js'
import { asFileObject, createFileObjects, pipelineInput } from './file-objects.js'
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
 * The catalogues have no transaction spanning objects, so the file is first applied to a scratch
 * catalogue (a throwaway SQLite database under a temporary folder, with the same catalogue code and
 * LOCAL_ROOTS): every object is validated and normalised there, and any refusal is reported, naming
 * the file, object and field, before the service's catalogue is touched (exit 2). Then the
 * normalised objects are compared with the stored ones, and only the differences are written, in
 * dependency order. A refusal that only the stored state can cause (a DELTA pipeline's selection
 * while SAP holds its subscription, architecture rule 5 of the commit protocol) stops there: the
 * objects applied before it are listed, and the command exits 1.
 */
export async function applyCommand(config: Config, path: string, opts: { json: boolean }): Promise<number> {
  const file = await readCatalogFile(path, process.env)
  for (const secret of file.literalSecrets)
    console.error(`warning: ${file.path}: ${secret} is written in the file; use a \${ENV_VAR} reference instead`)
  const catalog = await openCatalogSession(config)
  const applied: Applied[] = []
  try {
    // A FileProblem from here on is a refusal of the whole file (exit 2, main.ts); nothing was written.
    const wanted = await normalised(config, file, catalog)
    return await applyChanges(catalog, file, wanted, applied, opts)
  } finally {
    await catalog.close()
  }
}

/** Writes what differs, in dependency order; a refusal stops it with exit 1, after listing what was applied. */
async function applyChanges(catalog: CatalogSession, file: CatalogFile, wanted: Normalised, applied: Applied[], opts: { json: boolean }) {
  try {
    const audit = new AuditLog(catalog.db, catalog.log)
    const record = (action: string, objectType: string, objectId: string) =>
      audit.record({ actor: CLI_ACTOR, action, objectType, objectId })
    for (const c of file.connections) {
      const current = await catalog.db.connection.findUnique({ where: { name: c.name } })
      const outcome = !current ? 'created' : sameConnection(catalog, current, wanted.connections.get(c.name)!) ? 'unchanged' : 'updated'
      if (outcome !== 'unchanged') {
        const { name: _, protocol: __, ...change } = c
        const row = await asFileObject(file.path, 'connection', c.name, () =>
          current ? catalog.connections.update(current.id, change) : catalog.connections.create(c),
        )
        await record(current ? 'updateConnection' : 'createConnection', 'Connection', row.id)
      }
      report(applied, { kind: 'connection', name: c.name, outcome }, opts)
    }
    for (const d of file.destinations) {
      const current = await catalog.db.destination.findUnique({ where: { name: d.name } })
      const outcome = !current ? 'created' : sameDestination(catalog, current, wanted.destinations.get(d.name)!) ? 'unchanged' : 'updated'
      if (outcome !== 'unchanged') {
        const { name: _, kind: __, ...change } = d
        const row = await asFileObject(file.path, 'destination', d.name, () =>
          current ? catalog.destinations.update(current.id, change) : catalog.destinations.create(d),
        )
        await record(current ? 'updateDestination' : 'createDestination', 'Destination', row.id)
      }
      report(applied, { kind: 'destination', name: d.name, outcome }, opts)
    }
    for (const p of file.pipelines) {
      const current = await catalog.db.pipeline.findUnique({ where: { name: p.name }, include: { connection: true, destination: true } })
      const want = wanted.pipelines.get(p.name)!
      const outcome = !current ? 'created' : samePipeline(current, want) ? 'unchanged' : 'updated'
      if (outcome !== 'unchanged') {
        const [connection, destination] = await Promise.all([
          catalog.db.connection.findUniqueOrThrow({ where: { name: want.connection.name } }),
          catalog.db.destination.findUniqueOrThrow({ where: { name: want.destination.name } }),
        ])
        const input = pipelineInput(p, connection.id, destination.id)
        const row = await asFileObject(file.path, 'pipeline', p.name, () =>
          current ? catalog.pipelines.update(current.id, input) : catalog.pipelines.create(input),
        )
        await record(current ? 'updatePipeline' : 'createPipeline', 'Pipeline', row.id)
      }
      report(applied, { kind: 'pipeline', name: p.name, outcome }, opts)
    }
    if (opts.json) printJson(applied)
    return 0
  } catch (e) {
    if (!(e instanceof FileProblem)) throw e
    if (opts.json) printJson(applied)
    console.error(
      `${e.message}\nstopped: ${applied.length} object(s) before it were applied or unchanged, the rest of the file was not applied`,
    )
    return 1
  }
}

function report(applied: Applied[], a: Applied, opts: { json: boolean }) {
  applied.push(a)
  if (!opts.json) console.log(`${a.kind} "${a.name}": ${a.outcome}`)
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
