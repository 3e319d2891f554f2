import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { SALES_ITEMS, type ChangeRef, type SapRow } from '../../src/simulator/index.js'
import { createLogger } from '../../src/util/logger.js'
import { graphql } from '../gql/index.js'
import type { CreateDestinationInput } from '../gql/graphql.js'
import { FaultProxy } from './fault-proxy.js'
import { Harness, type HarnessOptions } from './harness.js'
import { expectedLakeRow, pick, readRun, type LakeRow } from './lake.js'
import { downloadRun, type ObjectLake } from './object-lake.js'

/**
 * The end-to-end checks every object-store destination kind must pass, run against its emulator:
 * test/e2e/destinations-azure.test.ts and destinations-s3.test.ts call this with their emulator.
 */
export interface StoreEmulator extends ObjectLake {
  createContainer(name: string): Promise<void>
  list(container: string, prefix?: string): Promise<string[]>
  stop(): Promise<void>
  restart(): Promise<void>
  readonly port: number
}

export interface StoreUnderTest<E extends StoreEmulator> {
  kind: 'AZURE_BLOB' | 'S3'
  start(): Promise<E>
  dispose(e: E): Promise<void>
  /** Destination input with working credentials; `via` is a base URL that reaches the emulator (a FaultProxy). */
  destination(e: E, container: string, prefix: string, via?: string): Omit<CreateDestinationInput, 'name'>
  /** The same with credentials the emulator refuses. */
  wrongCredentials(e: E, container: string, prefix: string): Omit<CreateDestinationInput, 'name'>
  /** Every secret string the inputs above contain. */
  secrets(e: E): string[]
}

export const BUSINESS = ['VBELN', 'POSNR', 'MATNR', 'ARKTX', 'KUNNR', 'ERDAT', 'ERZET', 'NETWR', 'WAERK', 'KWMENG', 'VRKME']
/** Small uncompressed files, so a few thousand rows roll over into several files and uploads. */
export const SMALL_FILES = { compression: 'UNCOMPRESSED', rowGroupRows: 1000, maxFileMb: 1 }

/** The delta rows SAP must deliver for these changes, in order (before and after images). */
export function expectedDeltaRows(changes: ChangeRef[]): LakeRow[] {
  const row = (image: SapRow | null, mode: string, counter: string) => ({
    ...pick(expectedLakeRow(image!), BUSINESS),
    ODQ_CHANGEMODE: mode,
    ODQ_ENTITYCNTR: counter,
  })
  return changes.flatMap((c) =>
    c.mode === 'C'
      ? [row(c.after, 'C', '1')]
      : c.mode === 'U'
        ? [row(c.before, 'U', '-1'), row(c.after, 'U', '1')]
        : [row(c.before, 'D', '-1')],
  )
}

const TestDestination = graphql(`mutation DestSuiteTest($id: ID!) { testDestination(id: $id) { ok message code latencyMs } }`)
const UpdateDestination = graphql(`
  mutation DestSuiteUpdate($id: ID!, $input: UpdateDestinationInput!) { updateDestination(id: $id, input: $input) { id uri hasCredentials } }
`)
const DestinationView = graphql(`
  query DestSuiteDestination($id: ID!) {
    destination(id: $id) {
      id kind uri hasCredentials
      azureBlob { container prefix accountUrl accountName auth blockSizeMb uploadConcurrency }
      s3 { bucket prefix region endpoint forcePathStyle accessKeyId usesDefaultCredentials partSizeMb uploadConcurrency }
    }
  }
`)
const DeltaState = graphql(`query DestSuiteDelta($id: ID!) { pipeline(id: $id) { deltaState { token recoveryPending } } }`)
const RunPipeline = graphql(`mutation DestSuiteRun($id: ID!) { runPipeline(id: $id) { id status trigger extractionMode } }`)
const Progress = graphql(`subscription DestSuiteProgress($runId: ID!) { runProgress(runId: $runId) { status filesWritten } }`)
const CreatePipeline = graphql(`mutation DestSuiteCreatePipeline($input: CreatePipelineInput!) { createPipeline(input: $input) { id } }`)
const PipelineCount = graphql(`query DestSuitePipelines { pipelines { id } }`)
const QueuedRuns = graphql(
  `query DestSuiteQueued($pipelineId: ID!) { runs(pipelineId: $pipelineId, status: QUEUED, first: 5) { edges { node { id trigger } } } }`,
)
const RunEvents = graphql(`query DestSuiteEvents($id: ID!) { run(id: $id) { events(first: 100) { edges { node { message } } } } }`)

export function describeObjectStore<E extends StoreEmulator>(store: StoreUnderTest<E>): void {
  describe(`${store.kind} destination against its emulator`, () => {
    let emu: E
    let proxy: FaultProxy
    let h: Harness | undefined
    const responses: string[] = []
    const logLines: string[] = []
    const logger = createLogger('debug', { write: (line: string) => void logLines.push(line) })
    const containers = ['lake', 'lake2']

    beforeAll(async () => {
      emu = await store.start()
      for (const c of containers) await emu.createContainer(c)
      proxy = await FaultProxy.start(() => emu.port)
    })
    afterEach(async () => {
      if (h) responses.push(...h.responses)
      await h?.stop()
      h = undefined
    })
    afterAll(async () => {
      await proxy?.close()
      if (emu) await store.dispose(emu)
    })

    const start = async (opts: HarnessOptions = {}) => (h = await Harness.start({ log: logger, ...opts }))
    const readBack = async (manifestUri: string) =>
      readRun(await downloadRun(emu, manifestUri, join(h!.db.dataDir, 'downloads', String(Math.random()).slice(2))))
    /** Names under a prefix, relative to it. */
    const listed = async (container: string, prefix: string) =>
      (await emu.list(container, `${prefix}/`)).map((n) => n.slice(prefix.length + 1))

    it('runs FULL and DELTA pipelines into the store: files read back value for value, manifest last, _SUCCESS on request', async () => {
      await start({ sim: { rows: { [SALES_ITEMS]: 20_000 } } })
      const full = await h!.createPipeline({
        name: 'snap',
        mode: 'FULL',
        pageSize: 2000,
        destination: store.destination(emu, 'lake', 'raw/sap'),
        output: { ...SMALL_FILES, successMarker: true },
      })
      const run = await h!.run(full.pipelineId)
      expect(run).toMatchObject({ status: 'SUCCEEDED', stage: 'DONE', rowsWritten: '20000', error: null })
      const { destination } = await h!.gql(DestinationView, { id: full.destinationId })
      expect(run.manifestUri).toMatch(new RegExp(`^${escape(destination!.uri)}/snap/\\d{4}/\\d\\d/\\d\\d/${run.id}/manifest\\.json$`))

      const { manifest, rows } = await readBack(run.manifestUri!)
      expect(manifest.files.length).toBeGreaterThanOrEqual(2)
      expect(manifest.files.map((f) => f.path)).toEqual(manifest.files.map((_, i) => `part-${String(i).padStart(5, '0')}.parquet`))
      expect(Number(run.bytesWritten)).toBe(manifest.bytes)
      const expected: LakeRow[] = []
      for await (const r of h!.sim.admin.rows(SALES_ITEMS)) expected.push(pick(expectedLakeRow(r), BUSINESS))
      expect(rows.map((r) => pick(r, BUSINESS))).toEqual(expected)

      // the run's prefix holds exactly its files, the manifest and the marker (empty)
      const { container, name } = emu.locate(run.manifestUri!)
      const prefix = name.slice(0, -'/manifest.json'.length)
      expect(await listed(container, prefix)).toEqual([...manifest.files.map((f) => f.path), '_SUCCESS', 'manifest.json'].sort())
      expect((await emu.download(container, `${prefix}/_SUCCESS`)).length).toBe(0)

      const delta = await h!.createPipeline({
        name: 'items',
        mode: 'DELTA',
        pageSize: 2000,
        destination: store.destination(emu, 'lake', 'raw/sap'),
        output: SMALL_FILES,
      })
      const init = await h!.run(delta.pipelineId)
      expect(init).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'DELTA_INIT', rowsWritten: '20000' })
      expect((await readBack(init.manifestUri!)).rows.map((r) => pick(r, BUSINESS))).toEqual(expected)
      const changes = [
        ...h!.sim.admin.insert(SALES_ITEMS, 40),
        ...h!.sim.admin.update(SALES_ITEMS, 25),
        ...h!.sim.admin.delete(SALES_ITEMS, 10),
      ]
      const next = await h!.run(delta.pipelineId)
      expect(next).toMatchObject({
        status: 'SUCCEEDED',
        extractionMode: 'DELTA',
        deltaTokenIn: init.deltaTokenOut,
        changeCounts: { created: '40', updated: '25', deleted: '10' },
      })
      const back = await readBack(next.manifestUri!)
      expect(back.manifest).toMatchObject({ deltaTokenIn: init.deltaTokenOut, deltaTokenOut: next.deltaTokenOut })
      expect(back.rows.map((r) => pick(r, [...BUSINESS, 'ODQ_CHANGEMODE', 'ODQ_ENTITYCNTR']))).toEqual(expectedDeltaRows(changes))
      // no _SUCCESS unless asked for
      const p = emu.locate(next.manifestUri!).name.slice(0, -'/manifest.json'.length)
      expect(await listed(container, p)).not.toContain('_SUCCESS')
    })

    it('fails a run whose emulator stops mid-upload, keeps the delta, and recovers the same changes after a restart', async () => {
      await start({
        sim: { rows: { [SALES_ITEMS]: 200 }, openRequestIdleMs: 300 },
        orchestrator: { retry: { attempts: 3, baseDelayMs: 60_000 } },
      })
      // Through the proxy, which can hold one upload request at the emulator while the test stops it.
      const { pipelineId } = await h!.createPipeline({
        name: 'stopme',
        pageSize: 1000,
        destination: store.destination(emu, 'lake2', '', proxy.url),
        output: SMALL_FILES,
      })
      const init = await h!.run(pipelineId)
      expect(init.status).toBe('SUCCEEDED')

      const changes = h!.sim.admin.insert(SALES_ITEMS, 20_000)
      // The second file's first request is held after its headers reached the emulator: it is in
      // flight, for sure, when the emulator stops; the first file is uploaded by then.
      const held = proxy.hold((r) => r.method === 'PUT' && r.path.endsWith('/part-00001.parquet'))
      const { runPipeline: started } = await h!.gql(RunPipeline, { id: pipelineId })
      for await (const msg of h!.subscribe(Progress, { runId: started.id })) if ((msg.data?.runProgress.filesWritten ?? 0) >= 1) break
      const inFlight = await held.arrived
      expect(inFlight.path).toContain(`/${started.id}/`)
      await emu.stop()
      held.release()
      const failed = await h!.waitForRun(started.id)
      expect(inFlight.status).toBeUndefined() // its connection was cut, it never got an answer
      expect(failed).toMatchObject({
        status: 'FAILED',
        extractionMode: 'DELTA',
        deltaTokenIn: init.deltaTokenOut,
        manifestUri: null,
        error: { code: 'DESTINATION_UNAVAILABLE', retryable: true },
      })
      expect(failed.filesWritten).toBeGreaterThanOrEqual(1)
      expect((await h!.gql(DeltaState, { id: pipelineId })).pipeline?.deltaState).toEqual({
        token: init.deltaTokenOut,
        recoveryPending: true,
      })

      await emu.restart()
      // What the failed run left: files without a manifest, i.e. visibly incomplete.
      const failedPrefix = (await emu.list('lake2', 'stopme/')).filter((n) => n.includes(`/${failed.id}/`))
      expect(failedPrefix.length).toBeGreaterThanOrEqual(1)
      expect(failedPrefix.some((n) => n.endsWith('manifest.json'))).toBe(false)

      await expect.poll(() => h!.sim.admin.openRequests(), { timeout: 10_000 }).toBe(0) // SAP lets go of the abandoned read
      // The automatic retry is queued once the failed run has wound down, after its FAILED status went
      // out (it first tries to remove its files from the stopped store): wait for it, then start it now.
      const queued = async () => (await h!.gql(QueuedRuns, { pipelineId })).runs.edges.map((e) => e.node)
      await expect.poll(async () => (await queued()).map((r) => r.trigger), { timeout: 15_000 }).toEqual(['RETRY'])
      const [waiting] = await queued()
      const { runPipeline: retry } = await h!.gql(RunPipeline, { id: pipelineId })
      expect(retry).toMatchObject({ id: waiting.id, trigger: 'RETRY', extractionMode: 'RECOVERY' })
      const recovered = await h!.waitForRun(retry.id)
      expect(recovered).toMatchObject({
        status: 'SUCCEEDED',
        extractionMode: 'RECOVERY',
        deltaTokenIn: init.deltaTokenOut,
        changeCounts: { created: '20000' },
      })
      const { rows, manifest } = await readBack(recovered.manifestUri!)
      expect(manifest.files.length).toBeGreaterThanOrEqual(2)
      expect(rows.map((r) => pick(r, [...BUSINESS, 'ODQ_CHANGEMODE', 'ODQ_ENTITYCNTR']))).toEqual(expectedDeltaRows(changes))
      // the next run removed the failed run's leftovers
      expect((await emu.list('lake2', 'stopme/')).filter((n) => n.includes(`/${failed.id}/`))).toEqual([])
      const events = (await h!.gql(RunEvents, { id: recovered.id })).run!.events.edges.map((e) => e.node.message)
      expect(events).toContain('removed the uncommitted objects of 1 earlier run(s)')
    })

    it('refuses wrong credentials at once (DESTINATION_AUTH, no retry), leaves the delta alone, and recovers once they are fixed', async () => {
      await start({ sim: { rows: { [SALES_ITEMS]: 300 } } })
      const { pipelineId, destinationId } = await h!.createPipeline({ name: 'creds', destination: store.destination(emu, 'lake', 'creds') })
      const init = await h!.run(pipelineId)
      expect(init.status).toBe('SUCCEEDED')
      expect((await h!.gql(TestDestination, { id: destinationId })).testDestination).toMatchObject({ ok: true, code: null })

      await h!.gql(UpdateDestination, { id: destinationId, input: settingsOf(store.wrongCredentials(emu, 'lake', 'creds')) })
      const asked = performance.now()
      const probe = (await h!.gql(TestDestination, { id: destinationId })).testDestination
      const roundTrip = performance.now() - asked
      expect(probe).toMatchObject({ ok: false, code: 'DESTINATION_AUTH' })
      // milliseconds of the probe itself: a whole number within the request that carried it
      expect(Number.isInteger(probe.latencyMs) && probe.latencyMs >= 0 && probe.latencyMs <= Math.ceil(roundTrip)).toBe(true)

      const changes = [...h!.sim.admin.insert(SALES_ITEMS, 5), ...h!.sim.admin.update(SALES_ITEMS, 3)]
      const failed = await h!.run(pipelineId)
      expect(failed).toMatchObject({ status: 'FAILED', error: { code: 'DESTINATION_AUTH', retryable: false } })
      expect((await h!.gql(DeltaState, { id: pipelineId })).pipeline?.deltaState).toEqual({
        token: init.deltaTokenOut,
        recoveryPending: true,
      })

      await h!.gql(UpdateDestination, { id: destinationId, input: settingsOf(store.destination(emu, 'lake', 'creds')) })
      const { runPipeline } = await h!.gql(RunPipeline, { id: pipelineId })
      expect(runPipeline.trigger).toBe('API') // not retryable: no automatic retry was queued
      const recovered = await h!.waitForRun(runPipeline.id)
      expect(recovered).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'RECOVERY', deltaTokenIn: init.deltaTokenOut })
      expect((await readBack(recovered.manifestUri!)).rows.map((r) => pick(r, [...BUSINESS, 'ODQ_CHANGEMODE', 'ODQ_ENTITYCNTR']))).toEqual(
        expectedDeltaRows(changes),
      )
    })

    it('reports a missing container or bucket as DESTINATION_NOT_FOUND, in testDestination and in a run', async () => {
      await start()
      const { pipelineId, destinationId } = await h!.createPipeline({
        name: 'nowhere',
        mode: 'FULL',
        destination: store.destination(emu, 'no-such-place', ''),
      })
      expect((await h!.gql(TestDestination, { id: destinationId })).testDestination).toMatchObject({
        ok: false,
        code: 'DESTINATION_NOT_FOUND',
      })
      const run = await h!.run(pipelineId)
      expect(run).toMatchObject({ status: 'FAILED', error: { code: 'DESTINATION_NOT_FOUND', retryable: false } })
    })

    it("writes under the pipeline's path template, and refuses a bad template (BAD_USER_INPUT, nothing saved)", async () => {
      await start()
      const template = '{entity}/{mode}/{yyyy}{MM}{dd}/{runId}'
      const { pipelineId, connectionId, destinationId } = await h!.createPipeline({
        name: 'tpl',
        mode: 'FULL',
        destination: store.destination(emu, 'lake', 'tpl'),
        output: { pathTemplate: template },
      })
      const run = await h!.run(pipelineId)
      const day = run.queuedAt.slice(0, 10).replaceAll('-', '')
      const { destination } = await h!.gql(DestinationView, { id: destinationId })
      expect(run.manifestUri).toBe(`${destination!.uri}/${SALES_ITEMS}/full/${day}/${run.id}/manifest.json`)
      expect((await readBack(run.manifestUri!)).rows).toHaveLength(300)

      const before = (await h!.gql(PipelineCount)).pipelines.length
      for (const pathTemplate of ['{entity}/{yyyy}', '{entity}//{runId}', '../{runId}', '{entity}./{runId}']) {
        const err = await h!.gqlError(CreatePipeline, {
          input: {
            name: 'tpl-bad',
            connectionId,
            destinationId,
            mode: 'FULL',
            source: { kind: 'ODP_ODATA', entitySet: SALES_ITEMS },
            output: { pathTemplate },
          },
        })
        expect(err.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'output.pathTemplate' })
      }
      expect((await h!.gql(PipelineCount)).pipelines.length).toBe(before)
    })

    it('keeps stored secrets on an update without them, and shows only public settings', async () => {
      await start()
      const { destinationId } = await h!.createPipeline({ name: 'keep', mode: 'FULL', destination: store.destination(emu, 'lake', 'keep') })
      const input = settingsOf(store.destination(emu, 'lake', 'keep2'))
      const stripped = JSON.parse(
        JSON.stringify(input, (k, v) => (['connectionString', 'sasToken', 'accountKey', 'secretAccessKey'].includes(k) ? undefined : v)),
      )
      const { updateDestination } = await h!.gql(UpdateDestination, { id: destinationId, input: stripped })
      expect(updateDestination.hasCredentials).toBe(true)
      expect(updateDestination.uri).toMatch(/\/keep2$/)
      expect((await h!.gql(TestDestination, { id: destinationId })).testDestination).toMatchObject({ ok: true })
      const { destination } = await h!.gql(DestinationView, { id: destinationId })
      expect(destination).toMatchObject({ kind: store.kind, hasCredentials: true })
      expect(store.kind === 'S3' ? destination!.s3 : destination!.azureBlob).toMatchObject({ prefix: 'keep2' })
    })

    it('never sends a secret in any GraphQL response or log line of this file', () => {
      const secrets = store.secrets(emu)
      expect(responses.length).toBeGreaterThan(20)
      expect(logLines.length).toBeGreaterThan(20)
      for (const s of secrets) {
        expect(responses.filter((r) => r.includes(s))).toEqual([])
        expect(logLines.filter((l) => l.includes(s))).toEqual([])
      }
    })
  })
}

/** The kind's settings of a create input, as an update input takes them. */
const settingsOf = (d: Omit<CreateDestinationInput, 'name'>) => ({ azureBlob: d.azureBlob, s3: d.s3 })

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
