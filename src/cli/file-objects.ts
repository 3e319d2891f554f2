import type { ConnectionCatalog } from '../catalog/connections.js'
import type { DestinationCatalog } from '../catalog/destinations.js'
import type { CreatePipelineInput, PipelineCatalog } from '../catalog/pipelines.js'
import type { Db } from '../db/client.js'
import { DomainError } from '../errors.js'
import { type CatalogFile, type FilePipeline, FileProblem, type ObjectKind } from './yaml-file.js'

/** The catalogues a file's objects are written through: the service's rules, whichever database. */
export interface Catalogs {
  db: Db
  connections: ConnectionCatalog
  destinations: DestinationCatalog
  pipelines: PipelineCatalog
}

/**
 * A file pipeline as catalogue input. Everything the file leaves out is sent as its default (null),
 * not omitted: the file is the whole truth about the pipeline, so applying it again after a key was
 * removed puts that setting back to its default instead of keeping the old value.
 */
export function pipelineInput(p: FilePipeline, connectionId: string, destinationId: string): CreatePipelineInput {
  return {
    name: p.name,
    connectionId,
    destinationId,
    mode: p.mode,
    source: p.source,
    schedule: p.schedule ?? null,
    timezone: p.timezone ?? null,
    enabled: p.enabled ?? true,
    output: {
      pathTemplate: null,
      compression: null,
      rowGroupRows: null,
      maxFileMb: null,
      successMarker: null,
      table: null,
      currentState: null,
      schemaChanges: null,
      ...p.output,
    },
  }
}

/**
 * Runs `write` for one object of the file; a refusal of the catalogue (bad input, a conflict)
 * becomes a FileProblem naming the file, the object and the field. The catalogue's messages name
 * the field themselves and never repeat a value; pipeline ids are the file's names.
 */
export async function asFileObject<T>(file: string, kind: ObjectKind, name: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write()
  } catch (e) {
    if (!(e instanceof DomainError)) throw e
    const message = e.message.replace(/^connectionId\b/, 'connection').replace(/^destinationId\b/, 'destination')
    throw new FileProblem(file, { kind, name }, null, message)
  }
}

/**
 * Creates every object of `file` in a catalogue that has none of them (a scratch catalogue that
 * checks the file, or the throwaway one of `run file.yaml`), connections and destinations first.
 * `elsewhere` finds a connection or destination the file refers to but does not define; it returns
 * its id in `into`, or null when there is none.
 */
export async function createFileObjects(
  into: Catalogs,
  file: CatalogFile,
  elsewhere: (kind: 'connection' | 'destination', name: string) => Promise<string | null>,
): Promise<Map<string, string>> {
  const ids = { connection: new Map<string, string>(), destination: new Map<string, string>() }
  for (const c of file.connections)
    ids.connection.set(c.name, (await asFileObject(file.path, 'connection', c.name, () => into.connections.create(c))).id)
  for (const d of file.destinations)
    ids.destination.set(d.name, (await asFileObject(file.path, 'destination', d.name, () => into.destinations.create(d))).id)
  const pipelines = new Map<string, string>()
  for (const p of file.pipelines) {
    const where = { kind: 'pipeline' as const, name: p.name }
    const idOf = async (kind: 'connection' | 'destination', name: unknown) => {
      if (typeof name !== 'string' || !name) throw new FileProblem(file.path, where, kind, `must name a ${kind}`)
      const id = ids[kind].get(name) ?? (await elsewhere(kind, name))
      if (!id) throw new FileProblem(file.path, where, kind, `there is no ${kind} named "${name}"`)
      return id
    }
    const input = pipelineInput(p, await idOf('connection', p.connection), await idOf('destination', p.destination))
    pipelines.set(p.name, (await asFileObject(file.path, 'pipeline', p.name, () => into.pipelines.create(input))).id)
  }
  return pipelines
}
