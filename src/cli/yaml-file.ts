import { readFile } from 'node:fs/promises'
import { parseDocument } from 'yaml'
import { z } from 'zod'
import { odataConfigSchema, rfcConfigSchema, type CreateConnectionInput } from '../catalog/connections.js'
import { azureSchema, s3Schema } from '../catalog/destination-settings.js'
import { localSchema, type CreateDestinationInput } from '../catalog/destinations.js'
import { outputSchema, sourceSchema, type OutputInput, type PipelineMode, type SourceInput } from '../catalog/pipelines.js'

/** A pipeline as the file gives it: its connection and destination by name. */
export interface FilePipeline {
  name: string
  connection: string
  destination: string
  mode: PipelineMode
  source: SourceInput
  output?: OutputInput
  schedule?: string
  timezone?: string
  enabled?: boolean
}

export interface CatalogFile {
  path: string
  connections: CreateConnectionInput[]
  destinations: CreateDestinationInput[]
  pipelines: FilePipeline[]
  /** Secret fields written in the file itself rather than as ${ENV_VAR} ("connection "x": odataConfig.password"). */
  literalSecrets: string[]
}

export type ObjectKind = 'connection' | 'destination' | 'pipeline'

/**
 * What is wrong with a file, naming the file, the object and the field; nothing has been applied.
 * The message never repeats a value: it may be a secret.
 */
export class FileProblem extends Error {
  override readonly name = 'FileProblem'
  constructor(file: string, where: { kind: ObjectKind; name: string } | null, field: string | null, problem: string) {
    super([file, where && `${where.kind} "${where.name}"`, field, problem].filter(Boolean).join(': '))
  }
}

/** The keys each nested object takes: the catalogue's own input schemas, so a typo is refused, never ignored. */
const NESTED_KEYS: Record<string, readonly string[]> = {
  odataConfig: Object.keys(odataConfigSchema.shape),
  rfcConfig: Object.keys(rfcConfigSchema.shape),
  local: Object.keys(localSchema.shape),
  azureBlob: Object.keys(azureSchema.shape),
  s3: Object.keys(s3Schema.shape),
  source: Object.keys(sourceSchema.shape),
  output: Object.keys(outputSchema.shape),
}

const SECRET_KEYS = /^(password|passwd|connectionString|sasToken|accountKey|secretAccessKey|sessionToken)$/

const named = z.object({ name: z.string().min(1, 'must not be empty') }).loose()
const fileSchema = z.strictObject({
  connections: z.array(named).default([]),
  destinations: z.array(named).default([]),
  pipelines: z.array(named).default([]),
})

/** The top-level keys of each object; the values are checked by the catalogue (apply) or below. */
const OBJECT_KEYS: Record<ObjectKind, readonly string[]> = {
  connection: ['name', 'protocol', 'maxConcurrentRuns', 'odataConfig', 'rfcConfig'],
  destination: ['name', 'kind', 'local', 'azureBlob', 's3'],
  pipeline: ['name', 'connection', 'destination', 'mode', 'source', 'output', 'schedule', 'timezone', 'enabled'],
}

/**
 * Reads a connections/destinations/pipelines file (README, "YAML file format"): YAML (JSON is YAML
 * too), `${ENV_VAR}` replaced in every string value from `env`, unknown keys and duplicate names
 * refused. Field values are validated by the catalogue itself when the file is applied.
 */
export async function readCatalogFile(path: string, env: NodeJS.ProcessEnv): Promise<CatalogFile> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw new FileProblem(path, null, null, `cannot read it (${(e as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  const doc = parseDocument(text, { prettyErrors: false })
  if (doc.errors.length) {
    const [first] = doc.errors
    throw new FileProblem(path, null, null, `not valid YAML at line ${first.linePos?.[0].line ?? '?'}: ${first.code}`)
  }
  const parsed = fileSchema.safeParse(doc.toJS() ?? {})
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new FileProblem(path, null, issue.path.join('.') || null, issue.message)
  }
  const literalSecrets: string[] = []
  const objects = (kind: ObjectKind, list: Array<{ name: string }>) => {
    const seen = new Set<string>()
    return list.map((raw) => {
      const where = { kind, name: raw.name }
      if (seen.has(raw.name)) throw new FileProblem(path, where, 'name', `is given twice in the file`)
      seen.add(raw.name)
      for (const key of Object.keys(raw)) {
        if (!OBJECT_KEYS[kind].includes(key)) throw new FileProblem(path, where, key, unknownKey(OBJECT_KEYS[kind]))
        const value = (raw as Record<string, unknown>)[key]
        const nested = NESTED_KEYS[key]
        if (nested && value && typeof value === 'object' && !Array.isArray(value))
          for (const inner of Object.keys(value))
            if (!nested.includes(inner)) throw new FileProblem(path, where, `${key}.${inner}`, unknownKey(nested))
      }
      return withEnv(
        raw,
        (field, literal) => {
          if (literal && SECRET_KEYS.test(field.split('.').at(-1)!)) literalSecrets.push(`${kind} "${raw.name}": ${field}`)
        },
        (field, variable) => new FileProblem(path, where, field, `environment variable ${variable} is not set`),
        env,
      )
    })
  }
  return {
    path,
    connections: objects('connection', parsed.data.connections) as unknown as CreateConnectionInput[],
    destinations: objects('destination', parsed.data.destinations) as unknown as CreateDestinationInput[],
    pipelines: objects('pipeline', parsed.data.pipelines) as unknown as FilePipeline[],
    literalSecrets,
  }
}

const unknownKey = (known: readonly string[]) => `is not a known key (known: ${known.join(', ')})`

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g
const HAS_ENV_REFERENCE = /\$\{[A-Za-z_][A-Za-z0-9_]*\}/

/**
 * A copy of `value` with `${NAME}` replaced in every string by the environment variable's value, so
 * a password never has to be written into the file. `seen` hears of every string, and whether it
 * was written literally (no reference in it).
 */
function withEnv<T>(
  value: T,
  seen: (field: string, literal: boolean) => void,
  unset: (field: string, variable: string) => Error,
  env: NodeJS.ProcessEnv,
  field = '',
): T {
  if (typeof value === 'string') {
    seen(field, !HAS_ENV_REFERENCE.test(value))
    return value.replace(ENV_REFERENCE, (_, name: string) => {
      const resolved = env[name]
      if (resolved === undefined) throw unset(field, name)
      return resolved
    }) as T
  }
  if (Array.isArray(value)) return value.map((v, i) => withEnv(v, seen, unset, env, `${field}[${i}]`)) as T
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withEnv(v, seen, unset, env, field ? `${field}.${k}` : k)])) as T
  return value
}
