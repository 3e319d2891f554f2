import { icebergMetadata, icebergRead } from 'icebird'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  changeLogColumns,
  commitSnapshot,
  FileContent,
  findRunSnapshot,
  LakeCommitConflictError,
  equalityDeleteLayout,
  planTableWrite,
  POSITION_DELETE_COLUMNS,
  positionDeleteParquetOptions,
  schemaHash,
  SUMMARY_KEYS,
} from '../../src/lake/iceberg/index.js'
import type { Column, Row } from '../../src/sap/fields.js'
import type { AzureBlobDestination } from '../../src/storage/azure-blob.js'
import { Azurite } from '../helpers/azurite.js'
import { azuriteDestination } from '../storage/helpers.js'
import { SOURCE, SOURCE_TYPES, sourceRow, writeRunFiles } from './helpers.js'

/**
 * A change-log table written with the real Parquet writer and Destination, read back with icebird
 * (an Iceberg reader the project did not write) over Azurite's HTTP API: every row, every type.
 */

const AT = [1, 2, 3].map((n) => new Date(Date.UTC(2026, 11, 5, 20 + n, 0, 0)))
const withRun = (row: Row, runId: string, at: Date): Row => [...row, runId, at]

/**
 * Decimals as icebird returns them (hyparquet underneath: a JS number, which cannot hold 25 digits),
 * compared at the 15 significant digits a double keeps. Exact decimals are checked on the data files
 * with DuckDB in iceberg-parquet.test.ts.
 */
const decimalText = (v: unknown) => Number(v).toPrecision(15)

/**
 * What icebird returns for a value of each column kind: binaries come back as UTF-8 text (its
 * default), 64-bit integers and times as bigint, dates and timestamps as Date.
 */
function asIcebird(columns: readonly Column[], row: Row): Record<string, unknown> {
  return Object.fromEntries(
    columns.map((c, i) => {
      const v = row[i]
      if (v === null || v === undefined) return [c.name, null]
      switch (c.type.kind) {
        case 'decimal':
          return [c.name, decimalText(v)]
        case 'time':
          return [c.name, BigInt(v as number)]
        case 'binary':
          return [c.name, new TextDecoder().decode(v as Uint8Array)]
        default:
          return [c.name, v]
      }
    }),
  )
}

/** icebird's rows with a field a file lacks (undefined, the spec's null) as null, and decimals as decimalText. */
const normalised = (columns: readonly Column[], rows: Record<string, unknown>[]) =>
  rows.map((r) =>
    Object.fromEntries(
      Object.entries(r).map(([k, v]) => [
        k,
        v == null ? null : columns.find((c) => c.name === k)?.type.kind === 'decimal' ? decimalText(v) : v,
      ]),
    ),
  )

describe('Iceberg change-log table on AZURE_BLOB, read back with icebird', () => {
  let azurite: Azurite
  const opened: AzureBlobDestination[] = []
  const dest = () => {
    const d = azuriteDestination(azurite.accountUrl)
    opened.push(d)
    return d
  }
  beforeAll(async () => {
    azurite = await Azurite.start()
    // Public read: icebird fetches the URLs recorded in the metadata without credentials.
    await azurite.client().getContainerClient('lake').create({ access: 'container' })
  })
  afterAll(async () => {
    for (const d of opened) d.close()
    await azurite?.dispose()
  })

  it('commits a full load, a delta and a delta with a new SAP field as three snapshots icebird reads row for row', async () => {
    const d = dest()
    const table = 'tables/sales'
    const tableUrl = d.uriOf(table)
    const v1Columns = changeLogColumns(SOURCE)

    // Run 1: full load (blank change mode), three items in two files.
    const plan1 = await planTableWrite(d, table, v1Columns)
    const full = [1, 2, 3].map((n) => withRun(sourceRow('0000004711', `00001${n}`, n, '', null), 'run-1', AT[0]))
    const s1 = await commitSnapshot(d, plan1, {
      files: await writeRunFiles(d, plan1.parquet, v1Columns, full, 'run-1'),
      summary: { runId: 'run-1', deltaTokenIn: null, deltaTokenOut: 'D1' },
      properties: { 'delta-extractor.table': 'change-log' },
    })
    expect(s1).toMatchObject({ version: 1, sequenceNumber: 1, schemaId: 0 })

    // Run 2: a delta with a create, an update (before and after image) and a delete.
    const plan2 = await planTableWrite(d, table, v1Columns)
    expect(plan2.diff).toEqual({ added: [], removed: [], promoted: [], incompatible: [] })
    const delta = [
      withRun(sourceRow('0000004712', '000010', 4, 'C', '1'), 'run-2', AT[1]),
      withRun(sourceRow('0000004711', '000011', 1, 'U', '-1'), 'run-2', AT[1]),
      withRun(sourceRow('0000004711', '000011', 5, 'U', '1'), 'run-2', AT[1]),
      withRun(sourceRow('0000004711', '000013', 3, 'D', '-1'), 'run-2', AT[1]),
    ]
    const s2 = await commitSnapshot(d, plan2, {
      files: await writeRunFiles(d, plan2.parquet, v1Columns, delta, 'run-2'),
      summary: { runId: 'run-2', deltaTokenIn: 'D1', deltaTokenOut: 'D2' },
    })
    expect(s2).toMatchObject({ version: 2, sequenceNumber: 2, schemaId: 0 })

    // Run 3: SAP added a field; it becomes optional field 21 in schema 1, the old files read it as null.
    const source3: Column[] = [...SOURCE, { name: 'ZZNEW', type: { kind: 'string' }, nullable: true, key: false }]
    const v3Columns = changeLogColumns(source3)
    const plan3 = await planTableWrite(d, table, v3Columns)
    expect(plan3.diff).toEqual({ added: ['ZZNEW'], removed: [], promoted: [], incompatible: [] })
    expect(plan3.schema['schema-id']).toBe(1)
    expect(plan3.schema.fields.find((f) => f.name === 'ZZNEW')).toEqual({ id: 21, name: 'ZZNEW', required: false, type: 'string' })
    const delta3 = [6, 7].map((n) => {
      const r = sourceRow('0000004713', `00002${n}`, n, 'C', '1')
      return withRun([...r, `new-${n}`], 'run-3', AT[2])
    })
    const s3 = await commitSnapshot(d, plan3, {
      files: await writeRunFiles(d, plan3.parquet, v3Columns, delta3, 'run-3'),
      summary: { runId: 'run-3', deltaTokenIn: 'D2', deltaTokenOut: 'D3' },
    })
    expect(s3).toMatchObject({ version: 3, sequenceNumber: 3, schemaId: 1 })

    // icebird: metadata as written, then every row of the three runs under the current schema.
    expect(await d.getText(`${table}/metadata/version-hint.text`)).toBe('3')
    const meta = await icebergMetadata({ tableUrl })
    expect(meta['format-version']).toBe(2)
    expect(meta['last-column-id']).toBe(21)
    expect(meta['last-sequence-number']).toBe(3)
    expect(meta.schemas.map((s) => s['schema-id'])).toEqual([0, 1])
    const current = meta.schemas.find((s) => s['schema-id'] === meta['current-schema-id'])!
    expect(Object.fromEntries(current.fields.map((f) => [f.name, f.type]))).toEqual({
      ...SOURCE_TYPES,
      _RUN_ID: 'string',
      _EXTRACTED_AT: 'timestamptz',
      ZZNEW: 'string',
    })
    expect(current.fields.map((f) => f.id)).toEqual([...Array(20).keys()].map((i) => i + 1).concat(21))
    expect(meta['metadata-log']?.map((m) => m['metadata-file'])).toEqual([1, 2].map((v) => `${tableUrl}/metadata/v${v}.metadata.json`))
    expect(meta.refs).toEqual({ main: { 'snapshot-id': s3.snapshotId, type: 'branch' } })
    const summaries = meta.snapshots!.map((s) => s.summary as Record<string, string>)
    expect(summaries.map((s) => [s.operation, s[SUMMARY_KEYS.runId], s[SUMMARY_KEYS.deltaTokenIn], s[SUMMARY_KEYS.deltaTokenOut]])).toEqual(
      [
        ['append', 'run-1', undefined, 'D1'],
        ['append', 'run-2', 'D1', 'D2'],
        ['append', 'run-3', 'D2', 'D3'],
      ],
    )
    expect(summaries.map((s) => [s['added-records'], s['total-records'], s['added-data-files']])).toEqual([
      ['3', '3', '2'],
      ['4', '7', '2'],
      ['2', '9', '1'],
    ])
    expect(summaries[2][SUMMARY_KEYS.schemaHash]).toBe(schemaHash(plan3.schema))
    expect(meta.snapshots!.map((s) => s['parent-snapshot-id'])).toEqual([undefined, s1.snapshotId, s2.snapshotId])

    const rows = normalised(v3Columns, await icebergRead({ tableUrl }))
    const expected = [
      ...[...full, ...delta].map((r) => ({ ...asIcebird(v1Columns, r), ZZNEW: null })),
      ...delta3.map((r) => asIcebird(v3Columns, r)),
    ]
    expect(rows).toEqual(expected)

    // The snapshot of a run is found by its id (roll-forward of a run lost after its commit).
    expect((await findRunSnapshot(d, table, 'run-2'))?.['snapshot-id']).toBe(s2.snapshotId)
    expect(await findRunSnapshot(d, table, 'run-9')).toBeNull()
  })

  it('applies an equality delete file on the business key, as the current-state table will', async () => {
    const d = dest()
    const table = 'tables/current-eq'
    const columns = changeLogColumns(SOURCE)
    const plan = await planTableWrite(d, table, columns)
    const rows = [1, 2, 3].map((n) => withRun(sourceRow('0000005000', `00001${n}`, n, '', null), 'run-a', AT[0]))
    await commitSnapshot(d, plan, { files: await writeRunFiles(d, plan.parquet, columns, rows, 'run-a'), summary: { runId: 'run-a' } })

    // Item 000012 deleted, and 000011 replaced by a new after image in the same commit: the delete
    // (sequence 2) removes the old row (sequence 1), not the new one written beside it.
    const plan2 = await planTableWrite(d, table, columns)
    const layout = equalityDeleteLayout(plan2.schema, columns, ['VBELN', 'POSNR'])
    expect(layout.equalityIds).toEqual([1, 2])
    expect(layout.columns.map((c) => c.name)).toEqual(['VBELN', 'POSNR'])
    const deletes = await writeRunFiles(
      d,
      layout.parquet,
      layout.columns,
      [
        ['0000005000', '000012'],
        ['0000005000', '000011'],
      ],
      'run-b-deletes',
    )
    const upserts = await writeRunFiles(
      d,
      plan2.parquet,
      columns,
      [withRun(sourceRow('0000005000', '000011', 8, 'U', '1'), 'run-b', AT[1])],
      'run-b',
    )
    const s = await commitSnapshot(d, plan2, {
      files: [...upserts, ...deletes.map((f) => ({ ...f, content: FileContent.EQUALITY_DELETES, equalityIds: layout.equalityIds }))],
      summary: { runId: 'run-b' },
    })
    const meta = await icebergMetadata({ tableUrl: d.uriOf(table) })
    expect(meta.snapshots!.find((x) => x['snapshot-id'] === s.snapshotId)!.summary).toMatchObject({
      operation: 'overwrite',
      'added-delete-files': '1',
      'added-equality-deletes': '2',
      'added-records': '1',
      'total-records': '4',
    })
    const read = await icebergRead({ tableUrl: d.uriOf(table) })
    expect(read.map((r) => [r.POSNR, r._RUN_ID, r.KWMENG])).toEqual([
      ['000013', 'run-a', 3000],
      ['000011', 'run-b', 8000],
    ])
  })

  it('applies a position delete file naming rows of a data file by position', async () => {
    const d = dest()
    const table = 'tables/current-pos'
    const columns = changeLogColumns(SOURCE)
    const plan = await planTableWrite(d, table, columns)
    const rows = [1, 2, 3].map((n) => withRun(sourceRow('0000005001', `00001${n}`, n, '', null), 'run-a', AT[0]))
    const files = await writeRunFiles(d, plan.parquet, columns, rows, 'run-a', 3)
    expect(files).toHaveLength(1)
    await commitSnapshot(d, plan, { files, summary: { runId: 'run-a' } })

    const plan2 = await planTableWrite(d, table, columns)
    const deletes = await writeRunFiles(d, positionDeleteParquetOptions(), POSITION_DELETE_COLUMNS, [[d.uriOf(files[0].key), 1n]], 'run-b')
    await commitSnapshot(d, plan2, {
      files: deletes.map((f) => ({ ...f, content: FileContent.POSITION_DELETES })),
      summary: { runId: 'run-b' },
    })
    const read = await icebergRead({ tableUrl: d.uriOf(table) })
    expect(read.map((r) => r.POSNR)).toEqual(['000011', '000013'])
  })

  it('replaces the whole content with a full load (replace: true), keeping the older snapshot readable', async () => {
    const d = dest()
    const table = 'tables/current-full'
    const columns = changeLogColumns(SOURCE)
    const plan = await planTableWrite(d, table, columns)
    const old = [1, 2].map((n) => withRun(sourceRow('0000005002', `00001${n}`, n, '', null), 'run-a', AT[0]))
    await commitSnapshot(d, plan, { files: await writeRunFiles(d, plan.parquet, columns, old, 'run-a'), summary: { runId: 'run-a' } })
    const plan2 = await planTableWrite(d, table, columns)
    const fresh = [withRun(sourceRow('0000005002', '000019', 9, '', null), 'run-b', AT[1])]
    const s = await commitSnapshot(d, plan2, {
      files: await writeRunFiles(d, plan2.parquet, columns, fresh, 'run-b'),
      summary: { runId: 'run-b' },
      replace: true,
    })

    const tableUrl = d.uriOf(table)
    const meta = await icebergMetadata({ tableUrl })
    expect(meta.snapshots!.find((x) => x['snapshot-id'] === s.snapshotId)!.summary).toMatchObject({
      operation: 'overwrite',
      'total-records': '1',
    })
    expect((await icebergRead({ tableUrl })).map((r) => r.POSNR)).toEqual(['000019'])
    // Time travel: version 1 still names the old files.
    expect((await icebergRead({ tableUrl, metadataFileName: 'v1.metadata.json' })).map((r) => r.POSNR)).toEqual(['000011', '000012'])
  })

  it('lets exactly one of two writers that start from the same version commit it; the other gets LAKE_COMMIT_CONFLICT and commits after planning again', async () => {
    const [a, b] = [dest(), dest()]
    const table = 'tables/race'
    const columns = changeLogColumns(SOURCE)
    const first = await planTableWrite(a, table, columns)
    const row = (n: number, run: string) => withRun(sourceRow('0000006000', `00001${n}`, n, 'C', '1'), run, AT[0])
    await commitSnapshot(a, first, {
      files: await writeRunFiles(a, first.parquet, columns, [row(1, 'run-0')], 'run-0'),
      summary: { runId: 'run-0' },
    })

    const [planA, planB] = await Promise.all([planTableWrite(a, table, columns), planTableWrite(b, table, columns)])
    const [filesA, filesB] = await Promise.all([
      writeRunFiles(a, planA.parquet, columns, [row(2, 'run-a')], 'run-a'),
      writeRunFiles(b, planB.parquet, columns, [row(3, 'run-b')], 'run-b'),
    ])
    const results = await Promise.allSettled([
      commitSnapshot(a, planA, { files: filesA, summary: { runId: 'run-a' } }),
      commitSnapshot(b, planB, { files: filesB, summary: { runId: 'run-b' } }),
    ])
    const won = results.filter((r) => r.status === 'fulfilled')
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    expect(won).toHaveLength(1)
    expect(lost).toHaveLength(1)
    expect(lost[0].reason).toBeInstanceOf(LakeCommitConflictError)
    expect(lost[0].reason).toMatchObject({ code: 'LAKE_COMMIT_CONFLICT', version: 2, retryable: true })
    const [winner, loser] = results[0].status === 'fulfilled' ? ['run-a', 'run-b'] : ['run-b', 'run-a']

    // Only the winner is in the table; the loser's manifests are gone, its data files wait for the retry.
    expect((await icebergRead({ tableUrl: a.uriOf(table) })).map((r) => r._RUN_ID)).toEqual(['run-0', winner])
    const manifests = (await azurite.list('lake', `root/${table}/metadata/`)).filter((n) => n.endsWith('.avro'))
    expect(manifests).toHaveLength(4) // two snapshots: one data manifest and one manifest list each

    // The loser plans again (same field ids: no schema change) and commits version 3.
    const loserDest = loser === 'run-a' ? a : b
    const retry = await planTableWrite(loserDest, table, columns)
    expect(retry.base?.version).toBe(2)
    expect(retry.parquet.fieldIds).toEqual(planA.parquet.fieldIds)
    const s = await commitSnapshot(loserDest, retry, { files: loser === 'run-a' ? filesA : filesB, summary: { runId: loser } })
    expect(s.version).toBe(3)
    expect((await icebergRead({ tableUrl: a.uriOf(table) })).map((r) => r._RUN_ID)).toEqual(['run-0', winner, loser])
  })
})
