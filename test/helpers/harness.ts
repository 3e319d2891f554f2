import { join } from 'node:path'
import type { TypedDocumentNode } from '@graphql-typed-document-node/core'
import { print, type ExecutionResult } from 'graphql'
import { createClient, type Client } from 'graphql-ws'
import WebSocket from 'ws'
import { startApp, type AppOptions, type RunningApp } from '../../src/app.js'
import { startSapSimulator, type SapSimulator, type SapSimulatorOptions, SALES_ITEMS } from '../../src/simulator/index.js'
import { silentLogger, type Logger } from '../../src/util/logger.js'
import { graphql } from '../gql/index.js'
import type { CreateDestinationInput, OutputInput } from '../gql/graphql.js'
import { createTestDatabase, type TestDatabase } from './database.js'
import { TEST_OUTBOUND_OPTIONS } from './outbound.js'

export const SAP_USER = 'DEMO'
export const SAP_PASSWORD = 'Welcome1!'

export interface HarnessOptions {
  sim?: SapSimulatorOptions
  /** Another harness's simulator (a second deployment against the same SAP system); not closed by this one. */
  sharedSim?: SapSimulator
  /**
   * A second instance of that harness's deployment: its database and data folder (so its secret
   * key), its simulator and its admin token, none of them closed or dropped by this one.
   */
  peerOf?: Harness
  /** REDIS_URL and REDIS_PREFIX: instances with the same ones share progress, cancels and revokes. */
  redis?: AppOptions['redis']
  orchestrator?: AppOptions['orchestrator']
  onQuery?: AppOptions['onQuery']
  /** Object-store retries and timeouts; tests default to short ones (see OBJECT_STORE_FOR_TESTS). */
  destinations?: AppOptions['destinations']
  log?: Logger
  /** The API's defences; tests get the defaults except an unlimited mutation rate (see below). */
  security?: AppOptions['security']
  /** What the service may reach and where it may write (the tests' default allows loopback, LOCAL roots = the data dir). */
  access?: Pick<AppOptions, 'outbound' | 'localRoots' | 's3DefaultCredentialEndpoints' | 'secretKey'>
  /** METRICS_TOKEN and a worker's metrics listener (METRICS_PORT). */
  metrics?: AppOptions['metrics']
  /** SCHEDULER as `serve` passes it; unset = embedded (no scheduler here, schedules may fire elsewhere). */
  scheduler?: boolean
}

/** Few, quick retries: a stopped emulator fails a run in well under a second instead of ~10 s. */
export const OBJECT_STORE_FOR_TESTS = { retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 100 }, sdkTries: 2, requestTimeoutMs: 15_000 }

/** A GraphQL error as a client sees it. */
export interface ClientError {
  message: string
  extensions?: { code?: string; field?: string }
}

/**
 * The real service on a fresh database and a free port, the SAP simulator beside it, and clients
 * that talk to both the way users do: HTTP for queries and mutations, graphql-ws for subscriptions.
 */
export class Harness {
  private constructor(
    readonly sim: SapSimulator,
    public app: RunningApp,
    readonly db: TestDatabase,
    public ws: Client,
    private readonly appOptions: AppOptions,
    /** The admin token the service created at its first start (its own bootstrap, not a bypass). */
    readonly adminToken: string,
    private readonly ownsSim: boolean,
    private readonly ownsDb: boolean,
  ) {}

  /** Every response body the service sent (HTTP and websocket), for assertions such as "no secret leaks". */
  readonly responses: string[] = []

  static async start(opts: HarnessOptions = {}): Promise<Harness> {
    const peer = opts.peerOf
    const db = peer?.db ?? (await createTestDatabase())
    const sim = peer?.sim ?? opts.sharedSim ?? (await startSapSimulator({ rows: { [SALES_ITEMS]: 300 }, ...opts.sim }))
    const appOptions: AppOptions = {
      dataDir: db.dataDir,
      databaseUrl: db.databaseUrl,
      log: opts.log ?? silentLogger,
      destinations: opts.destinations ?? { objectStore: OBJECT_STORE_FOR_TESTS },
      listen: { host: '127.0.0.1', port: 0 },
      orchestrator: { staleAfterMs: 30_000, ...opts.orchestrator },
      onQuery: opts.onQuery,
      // Suites send many mutations in a burst; the limit itself is tested in test/e2e/limits.test.ts.
      security: { mutationsPerMinute: 0, ...opts.security },
      // The simulator and the emulators listen on 127.0.0.1; LOCAL destinations go under the
      // test's temporary data dir (lakeDir and its siblings).
      outbound: TEST_OUTBOUND_OPTIONS,
      localRoots: [db.dataDir],
      redis: opts.redis,
      scheduler: opts.scheduler,
      metrics: opts.metrics,
      ...opts.access,
    }
    let adminToken = peer?.adminToken
    const app = await startApp({ ...appOptions, onFirstToken: (created) => (adminToken = created.token) })
    if (!adminToken) throw new Error('the service did not create its first admin token')
    return new Harness(sim, app, db, wsClient(app, adminToken), appOptions, adminToken, !opts.sharedSim && !peer, !peer)
  }

  /** Stops the service the way a deploy or SIGTERM does, then starts a new one on the same database. */
  async restart(): Promise<void> {
    await this.ws.dispose()
    await this.app.stop()
    this.app = await startApp(this.appOptions)
    this.ws = wsClient(this.app, this.adminToken)
  }

  get lakeDir(): string {
    return join(this.db.dataDir, 'lake')
  }

  /** Sends an operation over HTTP; returns data and errors as they came. */
  async request<R, V>(
    doc: TypedDocumentNode<R, V>,
    variables?: V,
    token = this.adminToken,
  ): Promise<ExecutionResult<R, ClientError['extensions']>> {
    const res = await fetch(`${this.app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: print(doc), variables }),
    })
    const text = await res.text()
    this.responses.push(text)
    return JSON.parse(text) as ExecutionResult<R, ClientError['extensions']>
  }

  /** Sends an operation and returns its data; fails the test on any GraphQL error. */
  async gql<R, V>(doc: TypedDocumentNode<R, V>, variables?: V): Promise<R> {
    const r = await this.request(doc, variables)
    if (r.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`)
    return r.data as R
  }

  /** Sends an operation that must fail; returns its first error. */
  async gqlError<R, V>(doc: TypedDocumentNode<R, V>, variables?: V): Promise<ClientError> {
    const r = await this.request(doc, variables)
    if (!r.errors?.length) throw new Error(`expected a GraphQL error, got ${JSON.stringify(r.data)}`)
    return r.errors[0] as ClientError
  }

  /** Sends an operation (a query or mutation) over the websocket instead of HTTP; returns data and errors as they came. */
  async requestWs<R, V>(doc: TypedDocumentNode<R, V>, variables?: V): Promise<ExecutionResult<R, ClientError['extensions']>> {
    const it = this.subscribe(doc, variables)
    try {
      const first = await it.next()
      if (first.done) throw new Error('the websocket operation completed without a result')
      return first.value as ExecutionResult<R, ClientError['extensions']>
    } catch (e) {
      // graphql-ws delivers errors found before execution (validation) as an error message: the iterator throws them.
      if (!Array.isArray(e)) throw e
      this.responses.push(JSON.stringify(e))
      return { errors: e } as ExecutionResult<R, ClientError['extensions']>
    } finally {
      await it.return?.()
    }
  }

  subscribe<R, V>(doc: TypedDocumentNode<R, V>, variables?: V): AsyncIterableIterator<ExecutionResult<R>> {
    const it = this.ws.iterate({ query: print(doc), variables: variables as Record<string, unknown> }) as AsyncIterableIterator<
      ExecutionResult<R>
    >
    const responses = this.responses
    return {
      async next() {
        const r = await it.next()
        if (!r.done) responses.push(JSON.stringify(r.value))
        return r
      },
      return: (v?: unknown) => it.return?.(v) ?? Promise.resolve({ done: true as const, value: undefined }),
      [Symbol.asyncIterator]() {
        return this
      },
    } as AsyncIterableIterator<ExecutionResult<R>>
  }

  /** Connection, destination and pipeline through the API; returns their ids. */
  async createPipeline(
    opts: {
      mode?: 'FULL' | 'DELTA'
      entitySet?: string
      pageSize?: number
      name?: string
      fields?: string[]
      filter?: string
      /** FULL loads split into key ranges (README, Partitioned loads). */
      partitions?: number
      /** The SAP service to read (default: the simulator's), e.g. through a proxy in front of it. */
      serviceUrl?: string
      /** Where files go; a LOCAL folder under the data dir (lakeDir) when omitted. */
      destination?: Omit<CreateDestinationInput, 'name'>
      output?: OutputInput
    } = {},
  ) {
    const { createConnection } = await this.gql(CreateConnection, {
      input: {
        name: `sap-${opts.name ?? 'p'}`,
        protocol: 'ODATA',
        odataConfig: { serviceUrl: opts.serviceUrl ?? this.sim.serviceUrl, sapClient: '100', user: SAP_USER, password: SAP_PASSWORD },
      },
    })
    const { createDestination } = await this.gql(CreateDestination, {
      input: { name: `lake-${opts.name ?? 'p'}`, ...(opts.destination ?? { kind: 'LOCAL', local: { path: this.lakeDir } }) },
    })
    const { createPipeline } = await this.gql(CreatePipeline, {
      input: {
        name: opts.name ?? 'p',
        connectionId: createConnection.id,
        destinationId: createDestination.id,
        mode: opts.mode ?? 'DELTA',
        source: {
          kind: 'ODP_ODATA',
          entitySet: opts.entitySet ?? SALES_ITEMS,
          pageSize: opts.pageSize ?? 100,
          fields: opts.fields,
          filter: opts.filter,
          partitions: opts.partitions,
        },
        output: opts.output,
      },
    })
    return { connectionId: createConnection.id, destinationId: createDestination.id, pipelineId: createPipeline.id }
  }

  /** Starts a run and follows its runProgress subscription to the end; returns the ended run. */
  async run(pipelineId: string, mode?: 'FULL' | 'DELTA_INIT' | 'DELTA' | 'RECOVERY', takeover?: boolean) {
    const { runPipeline } = await this.gql(RunPipeline, { id: pipelineId, mode, takeover })
    return this.waitForRun(runPipeline.id)
  }

  async waitForRun(runId: string, timeoutMs = 30_000) {
    const progress = this.subscribe(ProgressUntilEnd, { runId })
    const timer = setTimeout(() => void progress.return?.(), timeoutMs)
    let last: string | undefined
    try {
      for await (const msg of progress) {
        if (msg.errors) throw new Error(JSON.stringify(msg.errors))
        last = msg.data?.runProgress.status
      }
    } finally {
      clearTimeout(timer)
    }
    if (!last || !['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(last))
      throw new Error(`run ${runId} did not end within ${timeoutMs} ms (last status ${last})`)
    return (await this.gql(RunDetails, { id: runId })).run!
  }

  async stop(): Promise<void> {
    await this.ws.dispose()
    await this.app.stop()
    if (this.ownsSim) await this.sim.close()
    if (this.ownsDb) await this.db.drop()
  }
}

/** A graphql-ws client that sends `token` in connection_init, as GraphiQL and the demo do. */
export const wsClient = (app: RunningApp, token: string): Client =>
  createClient({
    url: `${app.url!.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    lazy: true,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${token}` },
  })

const CreateConnection = graphql(`
  mutation HarnessCreateConnection($input: CreateConnectionInput!) { createConnection(input: $input) { id } }
`)
const CreateDestination = graphql(`
  mutation HarnessCreateDestination($input: CreateDestinationInput!) { createDestination(input: $input) { id } }
`)
const CreatePipeline = graphql(`
  mutation HarnessCreatePipeline($input: CreatePipelineInput!) { createPipeline(input: $input) { id } }
`)
const RunPipeline = graphql(`
  mutation HarnessRunPipeline($id: ID!, $mode: ExtractionMode, $takeover: Boolean) { runPipeline(id: $id, mode: $mode, takeover: $takeover) { id status extractionMode } }
`)
const ProgressUntilEnd = graphql(`
  subscription HarnessProgress($runId: ID!) { runProgress(runId: $runId) { status stage } }
`)
export const RunDetails = graphql(`
  query HarnessRun($id: ID!) {
    run(id: $id) {
      id status stage extractionMode trigger rowsExtracted rowsWritten filesWritten bytesWritten
      changeCounts { created updated deleted }
      deltaTokenIn deltaTokenOut manifestUri
      error { code message retryable }
      queuedAt startedAt finishedAt
      pipeline { id deltaState { token recoveryPending } }
    }
  }
`)
