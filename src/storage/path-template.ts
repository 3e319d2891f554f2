/**
 * Output path templates: where a run's files go under the destination root. Placeholders are
 * replaced with values of the run; the run id keeps every run's prefix unique and deterministic,
 * so a retried upload lands on the same names.
 *
 * | placeholder | value                                   |
 * |-------------|-----------------------------------------|
 * | {pipeline}  | pipeline name, made path-safe           |
 * | {entity}    | entity set / ODP / table name           |
 * | {yyyy} {MM} {dd} {HH} {mm} | the run's queue time, UTC |
 * | {runId}     | the run id                              |
 * | {mode}      | full, delta_init, delta or recovery     |
 *
 * The same rules hold for every destination kind: a rendered prefix is a clean relative key (no
 * empty, `.` or `..` segments, no segment ending in a dot, which Azure Blob would silently drop), so
 * a folder on disk, a blob prefix and an S3 key prefix name the same thing.
 */
export const DEFAULT_PATH_TEMPLATE = '{pipeline}/{yyyy}/{MM}/{dd}/{runId}'

const PLACEHOLDERS = ['pipeline', 'entity', 'yyyy', 'MM', 'dd', 'HH', 'mm', 'runId', 'mode'] as const
type Placeholder = (typeof PLACEHOLDERS)[number]

export interface PathValues {
  pipeline: string
  entity: string
  at: Date
  runId: string
  mode: string
}

/** Returns a problem description, or null when the template is usable. */
export function checkPathTemplate(template: string): string | null {
  if (!template.trim()) return 'must not be empty'
  if (template.length > 512) return 'must be at most 512 characters'
  if (template.startsWith('/')) return 'must be relative to the destination (no leading /)'
  if (template.split('/').some((s) => s === '..' || s === '.')) return 'must not contain . or .. segments'
  if (/[\\\0]/.test(template)) return 'must not contain backslashes'
  if (/[\u0001-\u001f\u007f]/.test(template)) return 'must not contain control characters'
  if (
    template
      .replace(/\/+$/, '')
      .split('/')
      .some((s) => s === '')
  )
    return 'must not contain empty segments (//)'
  if (template.split('/').some((s) => s.endsWith('.'))) return 'must not have a segment ending in a dot (object stores drop it)'
  for (const m of template.matchAll(/\{([^}]*)\}?/g)) {
    if (!m[0].endsWith('}')) return `unclosed placeholder "${m[0]}"`
    if (!PLACEHOLDERS.includes(m[1] as Placeholder))
      return `unknown placeholder {${m[1]}}; use ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`
  }
  if (/[{}]/.test(template.replace(/\{[^}]*\}/g, ''))) return 'has a stray { or }'
  if (!template.includes('{runId}')) return 'must contain {runId}, so every run writes under its own prefix'
  return null
}

/** Path-safe form of a free-text value: no separators, no leading dots. */
export function safeSegment(v: string): string {
  return (
    v
      .replace(/[^\p{L}\p{N}._=-]+/gu, '_')
      .replace(/^\.+/, '_')
      .replace(/\.+$/, '_') || '_'
  )
}

export function renderPathTemplate(template: string, v: PathValues): string {
  const two = (n: number) => String(n).padStart(2, '0')
  const values: Record<Placeholder, string> = {
    pipeline: safeSegment(v.pipeline),
    entity: safeSegment(v.entity),
    yyyy: String(v.at.getUTCFullYear()),
    MM: two(v.at.getUTCMonth() + 1),
    dd: two(v.at.getUTCDate()),
    HH: two(v.at.getUTCHours()),
    mm: two(v.at.getUTCMinutes()),
    runId: safeSegment(v.runId),
    mode: safeSegment(v.mode.toLowerCase()),
  }
  return template.replace(/\{(\w+)\}/g, (_, k: Placeholder) => values[k]).replace(/\/+$/, '')
}
