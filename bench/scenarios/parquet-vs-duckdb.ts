/**
 * Our Parquet writer against DuckDB's, on the same generated rows, whole and split into its two halves (12 SAP-like columns; see
 * bench/parquet-stage.ts for what each side does). Generation is excluded from both.
 *   args: <rows>
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { duckdbStage, encodeOnlyStage, generateRows, parquetStage } from '../parquet-stage.js'
import { report } from '../lib.js'

const rows = Number(process.argv[2])
const dir = await mkdtemp(join(tmpdir(), 'de-bench-duck-'))
try {
  const ours = await parquetStage(generateRows(rows), dir)
  const duck = await duckdbStage(generateRows(rows), join(dir, 'duck.parquet'))
  // Our stage split like DuckDB's: JS values into columns, then columns into a Parquet file.
  const split = await encodeOnlyStage(generateRows(rows), join(dir, 'encode-only.parquet'))
  report({
    oursConvertSeconds: split.convertSeconds,
    oursEncodeSeconds: split.seconds,
    rows,
    oursSeconds: ours.seconds,
    oursBytes: ours.bytes,
    duckLoadSeconds: duck.loadSeconds,
    duckCopySeconds: duck.copySeconds,
    duckBytes: duck.bytes,
    duckThreads: duck.threads,
  })
} finally {
  await rm(dir, { recursive: true, force: true })
}
