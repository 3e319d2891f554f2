/**
 * The initial snapshot (DELTA_INIT) of a TABLE_RFC watermark pipeline read as partitions (README,
 * Partitioned loads; docs/sap-protocols.md §C.7): one run, every row once, and a delta position that
 * misses no change made while the partitions read or after — held open with the RFC simulator's
 * `hold`, so the changes provably fall between one partition's read and another's. An unsplit
 * DELTA_INIT (partitions: 1) fixes its position before it reads too (§C.7, unsplit initialisation).
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { sapSourceFactory } from '../../src/orchestrator/sources.js'
import { startRfcSimulator, type ChangeRef, type RfcSimulator } from '../../src/simulator/rfc/index.js'
import { graphql } from '../gql/index.js'
import { Harness, SAP_PASSWORD, SAP_USER } from '../helpers/harness.js'
import { expectedLakeRow, keyOf, pick, readRun, type LakeRow } from '../helpers/lake.js'
import { TEST_OUTBOUND } from '../helpers/outbound.js'

const FIELDS = ['VBELN', 'POSNR', 'MATNR', 'ARKTX', 'NETWR', 'WAERK', 'ERDAT', 'CHANGED_AT']

const InitRfcConnection = graphql(`
  mutation InitRfcConnection($input: CreateConnectionInput!) { createConnection(input: $input) { id } }
`)
const InitLake = graphql(`
  mutation InitLake($input: CreateDestinationInput!) { createDestination(input: $input) { id } }
`)
const InitPipeline = graphql(`
  mutation InitPipeline($input: CreatePipelineInput!) { createPipeline(input: $input) { id source { partitions } } }
`)
const InitRun = graphql(`
  mutation InitRun($id: ID!) { runPipeline(id: $id) { id } }
`)
const InitRunLog = graphql(`
  query InitRunLog($id: ID!) { run(id: $id) { events(first: 100) { edges { node { message } } } } }
`)

let h: Harness | undefined
let rfc: RfcSimulator | undefined
afterEach(async () => {
  await h?.stop()
  await rfc?.close()
  h = rfc = undefined
})

async function start(rows: number, partitions: number): Promise<{ harness: Harness; sim: RfcSimulator; pipelineId: string }> {
  const sim = (rfc = await startRfcSimulator({ tables: { ZSD_ITEMS: rows } }))
  const harness = (h = await Harness.start({
    orchestrator: {
      sources: sapSourceFactory({
        rfcClientFactory: (p) => sim.createClient(p),
        rfcPoolSize: 4,
        retries: 1,
        backoffMs: 5,
        outbound: TEST_OUTBOUND,
      }),
    },
  }))
  const { createConnection } = await harness.gql(InitRfcConnection, {
    input: {
      name: 'erp',
      protocol: 'RFC',
      rfcConfig: { ashost: 'localhost', sysnr: '00', client: '100', user: SAP_USER, passwd: SAP_PASSWORD, lang: 'EN' },
    },
  })
  const { createDestination } = await harness.gql(InitLake, { input: { name: 'lake', kind: 'LOCAL', local: { path: harness.lakeDir } } })
  const { createPipeline } = await harness.gql(InitPipeline, {
    input: {
      name: 'items',
      mode: 'DELTA',
      connectionId: createConnection.id,
      destinationId: createDestination.id,
      source: { kind: 'TABLE_RFC', table: 'ZSD_ITEMS', fields: FIELDS, watermarkField: 'CHANGED_AT', pageSize: 50, partitions },
    },
  })
  expect(createPipeline.source.partitions).toBe(partitions)
  return { harness, sim, pipelineId: createPipeline.id }
}

async function tableRows(sim: RfcSimulator): Promise<LakeRow[]> {
  const rows: LakeRow[] = []
  for await (const r of sim.admin.rows('ZSD_ITEMS')) rows.push(pick(expectedLakeRow(r), FIELDS))
  return rows.sort((a, b) => keyOf(a).localeCompare(keyOf(b)))
}

const lakeRows = async (manifestUri: string) =>
  (await readRun(manifestUri)).rows.map((r) => pick(r, FIELDS)).sort((a, b) => keyOf(a).localeCompare(keyOf(b)))

const secondsOf = (s: string) =>
  Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(8, 10), +s.slice(10, 12), +s.slice(12, 14)) / 1000

const rowKey = (r: LakeRow) => ({ VBELN: String(r.VBELN), POSNR: String(r.POSNR) })

/** The OPTIONS of an RFC_READ_TABLE call as one line. */
const optionsOf = (input: Record<string, unknown>) =>
  ((input.OPTIONS as Array<{ TEXT: string }> | undefined) ?? []).map((l) => l.TEXT).join(' ')

describe('a TABLE_RFC DELTA pipeline, partitions 1, 2, 3 and 6', () => {
  it.each([1, 2, 3, 6])('partitions: %i — DELTA_INIT holds every row once, the next DELTA every change since', async (partitions) => {
    const { harness, sim, pipelineId } = await start(260, partitions)
    const init = await harness.run(pipelineId)
    expect(init).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', error: null, rowsWritten: '260' })
    const { manifest } = await readRun(init.manifestUri!)
    const records = await harness.app.services.db.runPartition.findMany({ where: { runId: init.id } })
    // 260 rows are 50-odd documents: every count asked splits (1 reads unsplit, with no partition rows)
    expect(records).toHaveLength(partitions === 1 ? 0 : partitions)
    expect(manifest.partitions?.length ?? 1).toBe(partitions)
    expect(await lakeRows(init.manifestUri!)).toEqual(await tableRows(sim))

    sim.admin.advanceClock(7_200)
    const changes = [...sim.admin.update('ZSD_ITEMS', 5), ...sim.admin.insert('ZSD_ITEMS', 2)]
    const delta = await harness.run(pipelineId)
    expect(delta).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', error: null })
    const changed = new Set(changes.map((c) => keyOf(c.key)))
    expect(await lakeRows(delta.manifestUri!)).toEqual((await tableRows(sim)).filter((r) => changed.has(keyOf(r))))
  })
})

describe('a TABLE_RFC DELTA pipeline with partitions: 4', () => {
  it('reads its DELTA_INIT as 4 partitions, and the next DELTA delivers every change made while they read and after', async () => {
    const { harness, sim, pipelineId } = await start(730, 4)
    // The last partition (open above: `VBELN >= …` and no upper bound) waits at its first page
    // (not the one-row probes) until the other three have read their ranges and the test has changed SAP.
    const last = sim.admin.hold(
      ({ functionModule, input }) =>
        functionModule === 'RFC_READ_TABLE' &&
        Number(input.ROWCOUNT) > 1 &&
        optionsOf(input).includes('VBELN >=') &&
        !optionsOf(input).includes('VBELN <'),
    )
    const before = await tableRows(sim)
    const { runPipeline } = await harness.gql(InitRun, { id: pipelineId })
    await last.arrived
    const db = harness.app.services.db
    await vi.waitFor(
      async () =>
        expect(
          (await db.runPartition.findMany({ where: { runId: runPipeline.id, status: 'SUCCEEDED' } })).map((p) => p.index).sort(),
        ).toEqual([0, 1, 2]),
      { timeout: 20_000, interval: 50 },
    )
    const ranges = await db.runPartition.findMany({ where: { runId: runPipeline.id }, orderBy: { index: 'asc' } })
    const lastFrom = ranges[3].rangeFrom!
    // While p03 waits: rows p00 and p02 have already read change (their new versions are not in the
    // snapshot); two hours later — beyond the one-hour overlap — rows of p03 change and rows are
    // added (p03 reads them in their new versions). A position taken from the highest stamp the
    // partitions saw would start the next DELTA after the first changes, and lose them.
    const readAlready = before.filter((r) => String(r.VBELN) < lastFrom)
    const during: ChangeRef[] = sim.admin.update('ZSD_ITEMS', [readAlready[3], readAlready.at(-2)!].map(rowKey))
    sim.admin.advanceClock(7_200)
    const inLast = before.filter((r) => String(r.VBELN) >= lastFrom)
    const readLater: ChangeRef[] = [
      ...sim.admin.update('ZSD_ITEMS', [inLast[1], inLast.at(-1)!].map(rowKey)),
      ...sim.admin.insert('ZSD_ITEMS', 3),
    ]
    last.release()
    const init = await harness.waitForRun(runPipeline.id)
    expect(init).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', error: null, rowsWritten: '733' })

    // one run of 4 partitions: RunPartition rows, manifest and log say so
    const records = await db.runPartition.findMany({ where: { runId: init.id }, orderBy: { index: 'asc' } })
    expect(records.map((r) => `${r.index}/a${r.attempt}/${r.status}`)).toEqual([
      '0/a1/SUCCEEDED',
      '1/a1/SUCCEEDED',
      '2/a1/SUCCEEDED',
      '3/a1/SUCCEEDED',
    ])
    const { manifest } = await readRun(init.manifestUri!)
    expect(manifest.extractionMode).toBe('DELTA_INIT')
    expect(manifest.partitions?.map((p) => p.id)).toEqual(['p00', 'p01', 'p02', 'p03'])
    const log = (await harness.gql(InitRunLog, { id: init.id })).run!.events.edges.map((e) => e.node.message)
    expect(log.some((m) => m.startsWith('partitions: the delta position is fixed before the partitions read'))).toBe(true)

    // the run committed the one position joined from its partitions: fixed at the highest stamp the
    // table held before they read (within the search's 225 s), below the changes made meanwhile
    const committed = await db.run.findUniqueOrThrow({ where: { id: init.id } })
    const state = await db.deltaState.findUniqueOrThrow({ where: { pipelineId } })
    expect(state.deltaLink).toBe(committed.positionOut)
    const position = JSON.parse(state.deltaLink!) as { watermark: string; seen: string[] }
    const highestBefore = before
      .map((r) => String(r.CHANGED_AT))
      .sort()
      .at(-1)!
    expect(position.watermark <= highestBefore).toBe(true)
    expect(secondsOf(highestBefore) - secondsOf(position.watermark)).toBeLessThanOrEqual(225)
    expect(position.watermark < String(during[0].after!.CHANGED_AT)).toBe(true)
    expect(manifest.deltaTokenOut).toBe(position.watermark)
    // the rows p03 read in their new version are fingerprinted, so the next DELTA skips them
    expect(position.seen.length).toBeGreaterThanOrEqual(readLater.length)

    // the snapshot: every row once, each as its partition read it — the rows changed during the read
    // in their old version, those changed or added before p03 read in their new one
    const duringKeys = new Set(during.map((c) => keyOf(c.key)))
    const now = await tableRows(sim)
    const snapshot = now.map((r) => (duringKeys.has(keyOf(r)) ? before.find((b) => keyOf(b) === keyOf(r))! : r))
    expect(await lakeRows(init.manifestUri!)).toEqual(snapshot)
    expect(readLater).toHaveLength(5)

    // after the run: more changes; the next DELTA delivers those and the ones made while p03 waited —
    // and not again the rows p03 read in their new version
    sim.admin.advanceClock(60)
    const after: ChangeRef[] = [...sim.admin.update('ZSD_ITEMS', 4), ...sim.admin.insert('ZSD_ITEMS', 2)]
    const delta = await harness.run(pipelineId)
    expect(delta).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', error: null })
    const current = await tableRows(sim)
    const changed = new Set([...during, ...after].map((c) => keyOf(c.key)))
    expect(await lakeRows(delta.manifestUri!)).toEqual(current.filter((r) => changed.has(keyOf(r))))
    // snapshot then delta, by key: SAP's table exactly
    const lake = new Map((await lakeRows(init.manifestUri!)).map((r) => [keyOf(r), r]))
    for (const r of await lakeRows(delta.manifestUri!)) lake.set(keyOf(r), r)
    expect([...lake.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)))).toEqual(current)
  })

  it('a partition that fails is read again alone, from the same start: the position and the next DELTA are as if it had not failed', async () => {
    const { harness, sim, pipelineId } = await start(400, 4)
    const last = sim.admin.hold(
      ({ functionModule, input }) =>
        functionModule === 'RFC_READ_TABLE' &&
        Number(input.ROWCOUNT) > 1 &&
        optionsOf(input).includes('VBELN >=') &&
        !optionsOf(input).includes('VBELN <'),
    )
    const before = await tableRows(sim)
    const { runPipeline } = await harness.gql(InitRun, { id: pipelineId })
    await last.arrived
    const db = harness.app.services.db
    await vi.waitFor(
      async () =>
        expect(
          (await db.runPartition.findMany({ where: { runId: runPipeline.id, status: 'SUCCEEDED' } })).map((p) => p.index).sort(),
        ).toEqual([0, 1, 2]),
      { timeout: 20_000, interval: 50 },
    )
    const lastFrom = (await db.runPartition.findFirstOrThrow({ where: { runId: runPipeline.id, index: 3 } })).rangeFrom!
    // a row p00 has read changes; then p03's next call after the held first page fails (and its one
    // retry inside the read): the partition fails after a page and is read again, two hours later
    const during = sim.admin.update('ZSD_ITEMS', [rowKey(before[2])])
    sim.admin.advanceClock(7_200)
    sim.admin.injectFault({ kind: 'communication-failure', functionModule: 'RFC_READ_TABLE', lost: 'request', times: 2 })
    const inLast = sim.admin.update('ZSD_ITEMS', [rowKey(before.filter((r) => String(r.VBELN) >= lastFrom).at(-1)!)])
    last.release()
    const init = await harness.waitForRun(runPipeline.id)
    expect(init).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', error: null, rowsWritten: '400' })
    const records = await db.runPartition.findMany({ where: { runId: init.id }, orderBy: [{ index: 'asc' }, { attempt: 'asc' }] })
    expect(records.map((r) => `${r.index}/a${r.attempt}/${r.status}`)).toEqual([
      '0/a1/SUCCEEDED',
      '1/a1/SUCCEEDED',
      '2/a1/SUCCEEDED',
      '3/a1/FAILED',
      '3/a2/SUCCEEDED',
    ])
    const duringKey = keyOf(during[0].key)
    expect(await lakeRows(init.manifestUri!)).toEqual(
      (await tableRows(sim)).map((r) => (keyOf(r) === duringKey ? before.find((b) => keyOf(b) === duringKey)! : r)),
    )

    const delta = await harness.run(pipelineId)
    expect(delta).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', error: null })
    // the change p00 missed comes; the one p03's second attempt read already does not come again
    expect(inLast).toHaveLength(1)
    expect(await lakeRows(delta.manifestUri!)).toEqual((await tableRows(sim)).filter((r) => keyOf(r) === duringKey))
  })
})

describe('a TABLE_RFC DELTA pipeline read unsplit (partitions: 1)', () => {
  it('a DELTA_INIT read longer than the overlap: a row changed after it was read, stamped below one changed later, comes in the next DELTA', async () => {
    const { harness, sim, pipelineId } = await start(300, 1)
    // The third call of the read proper (not the one-row probes that fix the position) waits: the
    // first page — the first keys — is read by then, the last key not yet.
    let pageCalls = 0
    const third = sim.admin.hold(
      ({ functionModule, input }) =>
        functionModule === 'RFC_READ_TABLE' && input.NO_DATA !== 'X' && Number(input.ROWCOUNT) > 1 && ++pageCalls === 3,
    )
    const before = await tableRows(sim)
    const { runPipeline } = await harness.gql(InitRun, { id: pipelineId })
    await third.arrived
    // A (read already) changes now; two hours later, beyond the 1 h overlap, B (the last key) changes
    // before the read reaches it. The highest stamp read would be B's, and the next DELTA would start
    // an hour before it, after A's change.
    const [a] = sim.admin.update('ZSD_ITEMS', [rowKey(before[0])])
    sim.admin.advanceClock(7_200)
    const [b] = sim.admin.update('ZSD_ITEMS', [rowKey(before.at(-1)!)])
    third.release()
    const init = await harness.waitForRun(runPipeline.id)
    expect(init).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', error: null, rowsWritten: '300' })
    // the snapshot holds A as it was and B as it is
    const now = await tableRows(sim)
    expect(await lakeRows(init.manifestUri!)).toEqual(now.map((r) => (keyOf(r) === keyOf(a.key) ? before[0] : r)))
    const state = await harness.app.services.db.deltaState.findUniqueOrThrow({ where: { pipelineId } })
    const position = JSON.parse(state.deltaLink!) as { watermark: string }
    expect(position.watermark < String(a.after!.CHANGED_AT)).toBe(true)
    expect(String(b.after!.CHANGED_AT) > String(a.after!.CHANGED_AT)).toBe(true)

    const delta = await harness.run(pipelineId)
    expect(delta).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA', error: null })
    // A's change comes; B's, read already in its new version, does not come again
    expect(await lakeRows(delta.manifestUri!)).toEqual(now.filter((r) => keyOf(r) === keyOf(a.key)))
  })
})
