import type { ChangeCounts, Column } from '../sap/fields.js'
import { describeSchema, type ManifestColumn } from '../transform/index.js'
import type { StagedFile } from './uploads.js'

export const MANIFEST_FILE = 'manifest.json'
/** Empty object written after the manifest when a pipeline asks for it (Spark, Databricks, Hadoop). */
export const SUCCESS_MARKER_FILE = '_SUCCESS'

/**
 * manifest.json: written last into a run's prefix, it is the commit point. A prefix without one is
 * an incomplete run; readers take the file list from here instead of listing the prefix.
 */
export interface Manifest {
  manifestVersion: 1
  runId: string
  pipeline: { id: string; name: string }
  source: { kind: string; entitySet: string | null; fields: string[] | null; filter: string | null }
  extractionMode: string
  createdAt: string
  compression: string
  files: Array<{ path: string; rows: number; bytes: number; sha256: string }>
  rows: number
  bytes: number
  schema: ManifestColumn[]
  changeCounts: ChangeCounts | null
  deltaTokenIn: string | null
  deltaTokenOut: string | null
}

export interface ManifestInput {
  runId: string
  pipeline: { id: string; name: string; sourceKind: string; entitySet: string | null; fields: string | null; filter: string | null }
  extractionMode: string
  compression: string
  columns: Column[]
  files: StagedFile[]
  changeCounts: ChangeCounts | null
  deltaTokenIn: string | null
  deltaTokenOut: string | null
}

export function buildManifest(m: ManifestInput, now = new Date()): Manifest {
  const p = m.pipeline
  return {
    manifestVersion: 1,
    runId: m.runId,
    pipeline: { id: p.id, name: p.name },
    source: { kind: p.sourceKind, entitySet: p.entitySet, fields: p.fields ? JSON.parse(p.fields) : null, filter: p.filter },
    extractionMode: m.extractionMode,
    createdAt: now.toISOString(),
    compression: m.compression,
    files: m.files.map((f) => ({ path: f.fileName, rows: f.rows, bytes: f.bytes, sha256: f.sha256 })),
    rows: m.files.reduce((n, f) => n + f.rows, 0),
    bytes: m.files.reduce((n, f) => n + f.bytes, 0),
    schema: describeSchema(m.columns),
    changeCounts: m.changeCounts,
    deltaTokenIn: m.deltaTokenIn,
    deltaTokenOut: m.deltaTokenOut,
  }
}
