/**
 * Partitioned FULL loads (README, Partitioned loads): the snapshot read as key ranges in parallel is
 * still one run — its committed files hold exactly SAP's rows, every key once, the manifest lists
 * every partition's files, counts sum — and a partition that fails is read again alone.
 */
import { readdir } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { sapSourceFactory } from '../../src/orchestrator/sources.js'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import { startRfcSimulator } from '../../src/simulator/rfc/index.js'
import { graphql } from '../gql/index.js'
import { Harness, RunDetails, SAP_PASSWORD, SAP_USER } from '../helpers/harness.js'
import { expectedLakeRow, keyOf, pick, readRun, type LakeRow } from '../helpers/lake.js'
import { TEST_OUTBOUND } from '../helpers/outbound.js'

const BUSINESS = ['VBELN', 'POSNR', 'MATNR', 'ARKTX', 'KUNNR', 'ERDAT', 'ERZET', 'NETWR', 'WAERK', 'KWMENG', 'VRKME']

const PartitionRfcConnection = graphql(`
  mutation PartitionRfcConnection($input: CreateConnectionInput!) { createConnection(input: $input) { id } }
`)
const PartitionLake = graphql(`
  mutation PartitionLake($input: CreateDestinationInput!) { createDestination(input: $input) { id } }
`)
const PartitionRun = graphql(`
  mutation PartitionRun($id: ID!) { runPipeline(id: $id) { id } }
`)
const PartitionProgress = graphql(`
  subscription PartitionProgress($runId: ID!) { runProgress(runId: $runId) { status rowsExtracted rowsWritten filesWritten bytesWritten } }
`)
const PartitionRunLog = graphql(`
  query PartitionRunLog($id: ID!) { run(id: $id) { events(first: 100) { edges { node { message } } } } }
`)
const PartitionPipeline = graphql(`
  mutation PartitionPipeline($input: CreatePipelineInput!) { createPipeline(input: $input) { id source { partitions } } }
`)

let h: Harness | undefined
afterEach(async () => {
  await h?.stop()
  h = undefined
})

async function simulatorRows(harness: Harness): Promise<LakeRow[]> {
  const rows: LakeRow[] = []
  for await (const r of harness.sim.admin.rows(SALES_ITEMS)) rows.push(expectedLakeRow(r))
  return rows
}

describe('a partitioned FULL load over OData', () => {
  it('commits exactly the rows SAP holds, every key once, from the files of all partitions', async () => {
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 1_300 } } })
    const { pipelineId } = await h.createPipeline({ mode: 'FULL', pageSize: 100, partitions: 4 })
    const run = await h.run(pipelineId)
    expect(run).toMatchObject({ status: 'SUCCEEDED', rowsExtracted: '1300', rowsWritten: '1300', error: null })

    const { manifest, rows } = await readRun(run.manifestUri!)
    expect(manifest.partitions?.map((p) => p.id)).toEqual(['p00', 'p01', 'p02', 'p03'])
    expect(manifest.partitions?.[0]).toMatchObject({ field: 'VBELN', attempts: 1 })
    expect(manifest.partitions?.[0].from).toBeUndefined()
    expect(manifest.partitions?.[3].to).toBeUndefined()
    for (const f of manifest.files) expect(f.path).toBe(`part-${f.partition}-a1-${f.path.slice(-13)}`)
    expect(new Set(manifest.files.map((f) => f.partition))).toEqual(new Set(['p00', 'p01', 'p02', 'p03']))
    expect(manifest.rows).toBe(1_300)
    expect(run.filesWritten).toBe(manifest.files.length)
    // value for value, in key order: the partitions are key ranges and their files sort by name
    expect(rows.map((r) => pick(r, BUSINESS))).toEqual((await simulatorRows(h)).map((r) => pick(r, BUSINESS)))
    expect(new Set(rows.map(keyOf)).size).toBe(1_300)
  })

  it('reads a partition that failed again alone, and commits once', async () => {
    // The fault ends SAP's paged read: the next page is refused, the partition fails (retryable).
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 900 }, variants: { faultEndsRead: true } } })
    const { pipelineId } = await h.createPipeline({ mode: 'FULL', pageSize: 50, partitions: 4 })
    h.sim.admin.injectFault({ kind: 'http-503', page: 3, read: 'full', entitySet: SALES_ITEMS })
    const run = await h.run(pipelineId)
    // the failed attempt's two pages were read from SAP (counted), and are in no file
    expect(run).toMatchObject({ error: null, status: 'SUCCEEDED', rowsExtracted: '1000', rowsWritten: '900' })
    const { manifest, rows } = await readRun(run.manifestUri!)
    expect(manifest.partitions?.map((p) => p.attempts).sort()).toEqual([1, 1, 1, 2])
    expect(rows.map((r) => pick(r, BUSINESS))).toEqual((await simulatorRows(h)).map((r) => pick(r, BUSINESS)))

    // The RunPartition rows record every attempt: who read which range, and what it wrote or why it failed.
    const db = h.app.services.db
    const { workerId } = await db.run.findUniqueOrThrow({ where: { id: run.id } })
    const records = await db.runPartition.findMany({ where: { runId: run.id }, orderBy: [{ index: 'asc' }, { attempt: 'asc' }] })
    const retried = manifest.partitions!.findIndex((p) => p.attempts === 2)
    expect(records.map((r) => `${r.index}/a${r.attempt}/${r.status}`)).toEqual(
      [0, 1, 2, 3].flatMap((i) => (i === retried ? [`${i}/a1/FAILED`, `${i}/a2/SUCCEEDED`] : [`${i}/a1/SUCCEEDED`])),
    )
    expect(new Set(records.map((r) => r.workerId))).toEqual(new Set([workerId]))
    expect(records.map((r) => [r.rangeField, r.rangeFrom ?? undefined, r.rangeTo ?? undefined])).toEqual(
      records.map((r) => {
        const { field, from, to } = manifest.partitions![r.index]
        return [field, from, to]
      }),
    )
    const failed = JSON.parse(records.find((r) => r.status === 'FAILED')!.result!) as { error: { retryable: boolean } }
    expect(failed.error.retryable).toBe(true)
    // the succeeded attempts' files are exactly the manifest's, name for name, hash for hash
    const recorded = records
      .filter((r) => r.status === 'SUCCEEDED')
      .flatMap((r) => (JSON.parse(r.result!) as { files: Array<{ name: string; rows: number; sha256: string }> }).files)
    const listed = (f: { name: string; rows: number; sha256: string }) => `${f.name} ${f.rows} ${f.sha256}`
    expect(recorded.map(listed).sort()).toEqual(manifest.files.map((f) => listed({ name: f.path, rows: f.rows, sha256: f.sha256 })).sort())
  })

  it('a partition that fails after uploading a file: progress never goes back, the failed files are gone, counters match the manifest', async () => {
    // Files roll at 1 MB (about 33,000 rows here): the failing partition has written and uploaded
    // one before SAP refuses its eighth page of 5,000 rows.
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 160_000 } } })
    const { pipelineId } = await h.createPipeline({
      mode: 'FULL',
      pageSize: 5_000,
      partitions: 4,
      output: { maxFileMb: 1, rowGroupRows: 1_000 },
    })
    h.sim.admin.injectFault({ kind: 'http-503', page: 8, read: 'full', entitySet: SALES_ITEMS })
    h.sim.admin.setVariants({ faultEndsRead: true })
    const { runPipeline } = await h.gql(PartitionRun, { id: pipelineId })
    const seen: Array<Record<'rowsExtracted' | 'rowsWritten' | 'filesWritten' | 'bytesWritten', number>> = []
    for await (const msg of h.subscribe(PartitionProgress, { runId: runPipeline.id })) {
      const p = msg.data!.runProgress
      seen.push({
        rowsExtracted: Number(p.rowsExtracted),
        rowsWritten: Number(p.rowsWritten),
        filesWritten: p.filesWritten,
        bytesWritten: Number(p.bytesWritten),
      })
    }
    for (let i = 1; i < seen.length; i++)
      for (const k of ['rowsExtracted', 'rowsWritten', 'filesWritten', 'bytesWritten'] as const)
        expect(seen[i][k], `${k} of event ${i}`).toBeGreaterThanOrEqual(seen[i - 1][k])

    const run = (await h.gql(RunDetails, { id: runPipeline.id })).run!
    expect(run).toMatchObject({ status: 'SUCCEEDED', error: null, rowsWritten: '160000' })
    const { manifest, rows } = await readRun(run.manifestUri!)
    expect(manifest.partitions?.map((p) => p.attempts).sort()).toEqual([1, 1, 1, 2])
    // written, files and bytes are the manifest's; extracted also counts the failed attempt's rows
    expect(run.filesWritten).toBe(manifest.files.length)
    expect(run.bytesWritten).toBe(String(manifest.files.reduce((n, f) => n + f.bytes, 0)))
    expect(Number(run.rowsExtracted)).toBe(160_000 + 35_000)
    expect(seen.at(-1)).toMatchObject({ rowsExtracted: 195_000, rowsWritten: 160_000, filesWritten: manifest.files.length })
    const retried = manifest.partitions!.find((p) => p.attempts === 2)!.id
    expect(manifest.files.filter((f) => f.partition === retried).every((f) => f.path.startsWith(`part-${retried}-a2-`))).toBe(true)
    // under the run's prefix: the manifest's files and the manifest, nothing of the failed attempt
    expect((await readdir(manifest.dir)).sort()).toEqual([...manifest.files.map((f) => f.path), 'manifest.json'].sort())
    const log = (await h.gql(PartitionRunLog, { id: run.id })).run!.events.edges.map((e) => e.node.message)
    expect(log.find((m) => m.startsWith(`partition ${retried} failed`))).toMatch(/its [1-9]\d* file\(s\) removed/)
    expect(log).toContain(
      'partitions: 35000 row(s) read again after failed attempts; rowsExtracted counts them, rowsWritten only the rows the manifest lists',
    )
    expect(new Set(rows.map(keyOf)).size).toBe(160_000)
  })

  it('partitions 1 writes the files of an unpartitioned run', async () => {
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 300 } } })
    const { pipelineId } = await h.createPipeline({ mode: 'FULL', pageSize: 100, partitions: 1 })
    const run = await h.run(pipelineId)
    const { manifest } = await readRun(run.manifestUri!)
    expect(manifest.files.map((f) => f.path)).toEqual(['part-00000.parquet'])
    expect(manifest.partitions).toBeUndefined()
    expect(manifest.files[0].partition).toBeUndefined()
  })

  it('refuses partitions on a DELTA pipeline', async () => {
    h = await Harness.start({ sim: { rows: { [SALES_ITEMS]: 10 } } })
    const refused = await h.createPipeline({ mode: 'DELTA', partitions: 4 }).catch((e: unknown) => e)
    expect(String(refused)).toMatch(/partitions split FULL loads and the initial snapshot of TABLE_RFC delta pipelines only/)
  })
})

describe('a partitioned FULL load over RFC_READ_TABLE', () => {
  it('commits exactly the table, every key once, from the files of all partitions', async () => {
    const rfc = await startRfcSimulator({ tables: { ZSD_ITEMS: 730 } })
    try {
      h = await Harness.start({
        orchestrator: {
          sources: sapSourceFactory({
            rfcClientFactory: (p) => rfc.createClient(p),
            rfcPoolSize: 4,
            retries: 1,
            backoffMs: 5,
            outbound: TEST_OUTBOUND,
          }),
        },
      })
      const { createConnection } = await h.gql(PartitionRfcConnection, {
        input: {
          name: 'erp',
          protocol: 'RFC',
          rfcConfig: { ashost: 'localhost', sysnr: '00', client: '100', user: SAP_USER, passwd: SAP_PASSWORD, lang: 'EN' },
        },
      })
      const { createDestination } = await h.gql(PartitionLake, { input: { name: 'lake', kind: 'LOCAL', local: { path: h.lakeDir } } })
      const { createPipeline } = await h.gql(PartitionPipeline, {
        input: {
          name: 'items',
          mode: 'FULL',
          connectionId: createConnection.id,
          destinationId: createDestination.id,
          source: { kind: 'TABLE_RFC', table: 'ZSD_ITEMS', fields: ['VBELN', 'POSNR', 'MATNR', 'NETWR'], pageSize: 100, partitions: 4 },
        },
      })
      expect(createPipeline.source.partitions).toBe(4)
      const run = await h.run(createPipeline.id)
      expect(run).toMatchObject({ error: null, status: 'SUCCEEDED', rowsExtracted: '730', rowsWritten: '730' })
      const { manifest, rows } = await readRun(run.manifestUri!)
      expect(manifest.partitions?.map((p) => p.id)).toEqual(['p00', 'p01', 'p02', 'p03'])
      expect(manifest.partitions?.[0].field).toBe('VBELN')
      const expected: string[] = []
      for await (const r of rfc.admin.rows('ZSD_ITEMS')) expected.push(keyOf(r))
      expect(rows.map(keyOf)).toEqual(expected.sort())
      expect(new Set(rows.map(keyOf)).size).toBe(730)
    } finally {
      await h?.stop()
      h = undefined
      await rfc.close()
    }
  })
})
