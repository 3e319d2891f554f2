/**
 * The lake-table settings of a pipeline's output (issue 13) and where its tables live, in a module of
 * its own that imports only the path rule, so the catalogue, the pinned world, the run engine and the
 * API enums can all name them without an import cycle.
 */
import { DEFAULT_PATH_TEMPLATE, renderPathTemplate, safeSegment } from '../storage/path-template.js'

/** The lake table a pipeline's runs are committed to: NONE is Parquet files + manifest.json only. */
export const TABLE_FORMATS = ['NONE', 'ICEBERG'] as const
export type TableFormat = (typeof TABLE_FORMATS)[number]

/** What a run does when SAP's columns change (docs/architecture.md#schema-changes). */
export const SCHEMA_CHANGE_POLICIES = ['ALLOW_ADDITIVE', 'BLOCK'] as const
export type SchemaChangePolicy = (typeof SCHEMA_CHANGE_POLICIES)[number]

/** The current-state table sits beside the change log: `{pipeline}_current`. */
const CURRENT_STATE_SUFFIX = '_current'

/**
 * Where a pipeline's tables live under its destination (README, Lake tables): the change log at its
 * name in the path-safe form `{pipeline}` takes in path templates (a name cannot climb out of the
 * destination root or split into folders), the current-state table beside it. Nulls where the
 * pipeline has none.
 */
export function lakeTablePaths(
  pipelineName: string,
  output: { table: string | null; currentState: boolean | null },
): { changeLog: string | null; currentState: string | null } {
  if (output.table !== 'ICEBERG') return { changeLog: null, currentState: null }
  const changeLog = safeSegment(pipelineName)
  return { changeLog, currentState: output.currentState ? `${changeLog}${CURRENT_STATE_SUFFIX}` : null }
}

/** The pipeline's table paths, change log first: none for a pipeline without lake tables. */
export function lakeTablePathList(pipelineName: string, output: { table: string | null; currentState: boolean | null }): string[] {
  const { changeLog, currentState } = lakeTablePaths(pipelineName, output)
  return [changeLog, currentState].filter((p): p is string => p !== null)
}

/**
 * Why a path template cannot hold the runs of a pipeline with lake tables, or null. Run folders inside
 * a table's `data/` or `metadata/` would be reached by the table's own clean-up (snapshot expiry owns
 * `<table>/data`), and Iceberg's FileIOs cut a recorded path at `?` or `#`. Only the template's own
 * text can put either there: placeholders render path-safe, and every one but {pipeline} and
 * {entity} varies by run.
 */
export function lakeTemplateProblem(
  template: string | null,
  sample: { pipeline: string; entity: string },
  tablePaths: readonly string[],
): string | null {
  const t = template ?? DEFAULT_PATH_TEMPLATE
  if (/[?#]/.test(t)) return 'must not contain ? or # in a pipeline with lake tables: Iceberg readers cut a file path there'
  const folder = `${renderPathTemplate(t, { ...sample, at: new Date(0), runId: 'run', mode: 'FULL' })}/`
  const inside = tablePaths.flatMap((p) => [`${p}/data/`, `${p}/metadata/`]).find((f) => folder.startsWith(f))
  return inside ? `puts run folders inside the lake table's ${inside}, which the table's snapshot expiry cleans up` : null
}
