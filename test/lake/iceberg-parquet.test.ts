import { readFile, readdir } from 'node:fs/promises'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { avroMetadata, avroRead } from 'icebird'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  appendSnapshot,
  changeLogColumns,
  commitSnapshot,
  EXTRACTED_AT_COLUMN,
  ICEBERG_SCHEMA_METADATA_KEY,
  LakeCommitConflictError,
  LakeTableError,
  loadTable,
  planTableWrite,
  RUN_ID_COLUMN,
} from '../../src/lake/iceberg/index.js'
import type { Column, Row } from '../../src/sap/fields.js'
import { LocalDestination } from '../../src/storage/local.js'
import type { S3Destination } from '../../src/storage/s3.js'
import { S3rverEmulator } from '../helpers/s3rver.js'
import { Duck, lit } from '../transform/helpers.js'
import { s3rverDestination } from '../storage/helpers.js'
import { SOURCE, sourceRow, writeRunFiles } from './helpers.js'

/**
 * The files under a table, read with readers other than the writer: DuckDB reads the Parquet data
 * files (exact decimals, field ids in the Parquet schema; its iceberg extension is not bundled and
 * cannot be downloaded here), icebird's Avro reader reads the manifests' schema and metadata keys.
 */

const AT = new Date(Date.UTC(2026, 11, 5, 21, 30, 0))
const rowsOf = (vbeln: string, items: number[], mode: string, runId: string): Row[] =>
  items.map((n) => [...sourceRow(vbeln, `00001${n}`, n, mode, mode ? '1' : null), runId, AT])

describe('Iceberg table files on LOCAL', () => {
  let root: string
  let duck: Duck
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'de-iceberg-'))
    duck = await Duck.open()
  })
  afterAll(async () => {
    duck?.close()
    await rm(root, { recursive: true, force: true })
  })

  it('writes Parquet data files with Iceberg field ids that DuckDB reads exactly, and manifests with field-id Avro schemas', async () => {
    const d = new LocalDestination(root)
    const columns = changeLogColumns(SOURCE)
    expect(columns.slice(-2).map((c) => c.name)).toEqual([RUN_ID_COLUMN, EXTRACTED_AT_COLUMN])
    const plan = await planTableWrite(d, 'sales', columns)
    const files = await writeRunFiles(d, plan.parquet, columns, rowsOf('0000004711', [1, 2, 3], '', 'run-1'), 'run-1')
    await commitSnapshot(d, plan, { files, summary: { runId: 'run-1' } })

    // Field ids in the Parquet schema, as Iceberg readers resolve columns.
    const first = join(root, files[0].key)
    const schema = await duck.query(`SELECT name, field_id::INTEGER FROM parquet_schema(${lit(first)}) WHERE name <> 'root'`)
    expect(schema.rows).toEqual(columns.map((c, i) => [c.name, i + 1]))
    const kv = await duck.query(
      `SELECT decode(value) FROM parquet_kv_metadata(${lit(first)}) WHERE decode(key) = ${lit(ICEBERG_SCHEMA_METADATA_KEY)}`,
    )
    expect(JSON.parse(String(kv.rows[0][0])).fields.map((f: { id: number }) => f.id)).toEqual(columns.map((_, i) => i + 1))

    // Exact values, decimals as text: DuckDB over every data file of the snapshot.
    const paths = files.map((f) => lit(join(root, f.key))).join(', ')
    const values = await duck.query(
      `SELECT VBELN, POSNR, NETWR, BIGAMT, COUNTER, ERZET, _RUN_ID FROM read_parquet([${paths}]) ORDER BY POSNR`,
    )
    expect(values.types).toEqual(['VARCHAR', 'VARCHAR', 'DECIMAL(15,2)', 'DECIMAL(25,4)', 'BIGINT', 'TIME', 'VARCHAR'])
    expect(values.rows).toEqual([
      ['0000004711', '000011', '11234.51', '-12345678901234567890.1234', '9007199254740991', '01:00:00.123456', 'run-1'],
      ['0000004711', '000012', '21234.52', '-22345678901234567890.1234', '9007199254740992', '24:00:00', 'run-1'],
      ['0000004711', '000013', '31234.53', '-32345678901234567890.1234', '9007199254740993', '03:00:00.123456', 'run-1'],
    ])

    // The manifest list and manifest, through icebird's own Avro reader.
    const table = await loadTable(d, 'sales')
    const snapshot = table!.metadata.snapshots[0]
    const avroFile = async (uri: string) => {
      const bytes = await readFile(fileURLToPath(uri))
      const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 }
      const { metadata, syncMarker } = avroMetadata(reader)
      return { metadata, records: await avroRead({ reader, metadata, syncMarker }) }
    }
    const list = await avroFile(snapshot['manifest-list'])
    expect(list.metadata).toMatchObject({ 'format-version': '2', 'snapshot-id': String(snapshot['snapshot-id']), 'sequence-number': '1' })
    expect(list.records).toHaveLength(1)
    expect(list.records[0]).toMatchObject({
      content: 0,
      sequence_number: 1n,
      min_sequence_number: 1n,
      added_files_count: 2,
      added_rows_count: 3n,
    })
    const manifest = await avroFile(String(list.records[0].manifest_path))
    expect(manifest.metadata).toMatchObject({
      'format-version': '2',
      'partition-spec': '[]',
      'partition-spec-id': '0',
      'schema-id': '0',
      content: 'data',
    })
    expect(manifest.metadata.schema).toEqual(plan.schema)
    const entryFields = (manifest.metadata['avro.schema'] as { fields: { name: string; 'field-id': number }[] }).fields
    expect(entryFields.map((f) => [f.name, f['field-id']])).toEqual([
      ['status', 0],
      ['snapshot_id', 1],
      ['sequence_number', 3],
      ['file_sequence_number', 4],
      ['data_file', 2],
    ])
    expect(
      manifest.records.map((r) => [r.status, r.sequence_number, r.data_file.content, r.data_file.file_path, r.data_file.record_count]),
    ).toEqual(files.map((f) => [1, undefined, 0, d.uriOf(f.key), BigInt(f.recordCount)]))
  })

  it('finds the newest version past a stale version hint, and refuses a type change no schema update can express', async () => {
    const d = new LocalDestination(root)
    const columns = changeLogColumns(SOURCE)
    for (const run of ['run-1', 'run-2', 'run-3']) {
      const plan = await planTableWrite(d, 'hint', columns)
      await commitSnapshot(d, plan, {
        files: await writeRunFiles(d, plan.parquet, columns, rowsOf('0000000001', [1], 'C', run), run),
        summary: { runId: run },
      })
    }
    // A writer stopped between creating v3 and moving the hint.
    await d.putText('hint/metadata/version-hint.text', '2')
    expect((await loadTable(d, 'hint'))?.version).toBe(3)

    // NETWR from decimal(15,2) to a string: refused, naming the column; nothing written.
    const changed: Column[] = columns.map((c) => (c.name === 'NETWR' ? { ...c, type: { kind: 'string' } } : c))
    const refused = await planTableWrite(d, 'hint', changed).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(LakeTableError)
    expect(refused).toMatchObject({
      code: 'LAKE_SCHEMA_INCOMPATIBLE',
      retryable: false,
      message: expect.stringContaining('NETWR: decimal(15,2) → string'),
    })

    // A dropped optional field and a widened decimal: reported, the field kept, the type promoted.
    const evolved = columns
      .filter((c) => c.name !== 'RATE')
      .map((c) => (c.name === 'NETWR' ? { ...c, type: { kind: 'decimal' as const, precision: 17, scale: 2 } } : c))
    const plan = await planTableWrite(d, 'hint', evolved)
    expect(plan.diff).toEqual({ added: [], removed: ['RATE'], promoted: ['NETWR: decimal(15,2) → decimal(17,2)'], incompatible: [] })
    expect(plan.schema['schema-id']).toBe(1)
    expect(plan.schema.fields.find((f) => f.name === 'RATE')).toMatchObject({ id: 10, required: false, type: 'double' })
    expect(plan.parquet.fieldIds).not.toContain(10)
  })

  it('lets exactly one of two racing writers commit version N on a local folder (hard link, EEXIST)', async () => {
    const d = new LocalDestination(root)
    const columns = changeLogColumns(SOURCE)
    const plans = await Promise.all([planTableWrite(d, 'race', columns), planTableWrite(d, 'race', columns)])
    const files = await Promise.all(
      plans.map((p, i) => writeRunFiles(d, p.parquet, columns, rowsOf('0000000002', [i + 1], 'C', `run-${i}`), `run-${i}`)),
    )
    const results = await Promise.allSettled(plans.map((p, i) => commitSnapshot(d, p, { files: files[i], summary: { runId: `run-${i}` } })))
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
    const lost = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!
    expect(lost.reason).toBeInstanceOf(LakeCommitConflictError)
    expect(lost.reason).toMatchObject({ code: 'LAKE_COMMIT_CONFLICT', version: 1 })
    const table = await loadTable(d, 'race')
    expect(table?.version).toBe(1)
    expect(table?.metadata.snapshots).toHaveLength(1)
    // Only the winner's manifest and manifest list are left beside v1.metadata.json and the hint.
    expect((await readdir(join(root, 'race/metadata'))).filter((n) => n.endsWith('.avro'))).toHaveLength(2)
  })
})

/**
 * s3rver ignores If-None-Match on PUT, so a true race cannot be shown on it (docs/architecture.md#lake-tables);
 * a writer that comes after another's commit is refused by the read before the conditional put.
 */
describe('Iceberg table on S3 (s3rver)', () => {
  let s3: S3rverEmulator
  const opened: S3Destination[] = []
  beforeAll(async () => {
    s3 = await S3rverEmulator.start()
    await s3.createBucket('lake')
  })
  afterAll(async () => {
    for (const d of opened) d.close()
    await s3?.dispose()
  })
  const dest = () => {
    const d = s3rverDestination(s3.endpoint)
    opened.push(d)
    return d
  }

  it('appends snapshots under s3:// locations and refuses a commit on a version another writer has moved past', async () => {
    const [a, b] = [dest(), dest()]
    const columns = changeLogColumns(SOURCE)
    const planA = await planTableWrite(a, 'sales', columns)
    const planB = await planTableWrite(b, 'sales', columns)
    const filesA = await writeRunFiles(a, planA.parquet, columns, rowsOf('0000000003', [1, 2], '', 'run-a'), 'run-a')
    const filesB = await writeRunFiles(b, planB.parquet, columns, rowsOf('0000000003', [3], '', 'run-b'), 'run-b')
    expect(await commitSnapshot(a, planA, { files: filesA, summary: { runId: 'run-a' } })).toMatchObject({ version: 1 })
    await expect(commitSnapshot(b, planB, { files: filesB, summary: { runId: 'run-b' } })).rejects.toMatchObject({
      code: 'LAKE_COMMIT_CONFLICT',
      version: 1,
    })

    const s = await appendSnapshot(b, 'sales', columns, { files: filesB, summary: { runId: 'run-b', deltaTokenOut: 'T2' } })
    expect(s.version).toBe(2)
    const table = await loadTable(a, 'sales')
    expect(table?.metadata.location).toBe('s3://lake/root/sales')
    expect(table?.metadata.snapshots.map((x) => [x.summary['delta-extractor.run-id'], x.summary['total-records']])).toEqual([
      ['run-a', '2'],
      ['run-b', '3'],
    ])
    expect(table?.metadata.snapshots[1]['manifest-list']).toMatch(/^s3:\/\/lake\/root\/sales\/metadata\/snap-\d+\.avro$/)
  })
})
