/**
 * A queue-mode deployment of real OS processes for multi-process tests (docs/testing.md): one `serve`
 * and `worker` processes on one PostgreSQL test database and one Redis prefix, the OData SAP
 * simulator in the test's process, and a LOCAL lake folder every process shares.
 */
import { join } from 'node:path'
import { type Db, openDb } from '../../src/db/client.js'
import { dbTarget } from '../../src/db/target.js'
import { SALES_ITEMS, type SapSimulator, type SapSimulatorOptions, startSapSimulator } from '../../src/simulator/index.js'
import { createTestDatabase, type TestDatabase } from './database.js'
import { SAP_PASSWORD, SAP_USER } from './harness.js'
import { deleteRedisKeys, TEST_REDIS_URL } from './redis.js'
import { ServiceProcess } from './service-process.js'
import { until } from './until.js'

export interface DeployedWorker {
  process: ServiceProcess
  workerId: string
}

export interface DeploymentOptions {
  /** A Redis prefix of the test file's own (testRedisPrefix), so files never see each other's jobs. */
  redisPrefix: string
  sim: SapSimulatorOptions
  workers: number
  workerEnv?: Record<string, string>
  serveArgs?: string[]
}

export class Deployment {
  private constructor(
    readonly db: TestDatabase,
    readonly prisma: Db,
    readonly sim: SapSimulator,
    readonly redisPrefix: string,
    readonly api: ServiceProcess,
    readonly url: string,
    readonly token: string,
    readonly workers: DeployedWorker[],
  ) {}

  static async start(opts: DeploymentOptions): Promise<Deployment> {
    const db = await createTestDatabase()
    const sim = await startSapSimulator(opts.sim)
    const env = (name: string): Record<string, string> => ({
      DATABASE_URL: db.databaseUrl!,
      DATA_DIR: join(db.dataDir, name),
      SECRET_KEY: 'deployment-test-secret-key',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: opts.redisPrefix,
      // The simulator listens on 127.0.0.1; every process writes to the one shared lake folder.
      ALLOW_LOOPBACK: 'true',
      LOCAL_ROOTS: join(db.dataDir, 'lake'),
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: '0',
    })
    const api = await ServiceProcess.start(['serve', ...(opts.serveArgs ?? [])], env('api'), 'GraphQL API listening')
    const url = String(api.logs.find((l) => l.msg?.startsWith('GraphQL API listening'))!.url).replace(/\/graphql$/, '')
    const token = await until(() => /dex_[A-Za-z0-9_-]{43}/.exec(api.stderr)?.[0], 'the first admin token on stderr')
    const workers = await Promise.all(
      Array.from({ length: opts.workers }, async (_, i) => {
        const proc = await ServiceProcess.start(['worker'], { ...env(`worker${i}`), ...opts.workerEnv }, 'worker ready')
        return { process: proc, workerId: String(proc.logs.find((l) => l.msg?.startsWith('worker ready'))!.workerId) }
      }),
    )
    const prisma = await openDb(dbTarget(db.databaseUrl, db.dataDir))
    return new Deployment(db, prisma, sim, opts.redisPrefix, api, url, token, workers)
  }

  get lakeDir(): string {
    return join(this.db.dataDir, 'lake')
  }

  async gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const res = await fetch(`${this.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ query, variables }),
    })
    const body = (await res.json()) as { data?: T; errors?: unknown[] }
    if (body.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`)
    return body.data as T
  }

  /**
   * A connection and a LOCAL destination, then one pipeline of SALES_ITEMS per name (split into
   * `partitions` key ranges when given); returns their ids.
   */
  async createPipelines(
    names: string[],
    mode: 'FULL' | 'DELTA',
    pageSize = 20,
    maxConcurrentRuns?: number,
    partitions?: number,
  ): Promise<string[]> {
    const { createConnection } = await this.gql<{ createConnection: { id: string } }>(
      `mutation($input: CreateConnectionInput!) { createConnection(input: $input) { id } }`,
      {
        input: {
          name: `sap-${names[0]}`,
          protocol: 'ODATA',
          maxConcurrentRuns,
          odataConfig: { serviceUrl: this.sim.serviceUrl, sapClient: '100', user: SAP_USER, password: SAP_PASSWORD },
        },
      },
    )
    const { createDestination } = await this.gql<{ createDestination: { id: string } }>(
      `mutation($input: CreateDestinationInput!) { createDestination(input: $input) { id } }`,
      { input: { name: `lake-${names[0]}`, kind: 'LOCAL', local: { path: this.lakeDir } } },
    )
    const ids: string[] = []
    for (const name of names) {
      const { createPipeline } = await this.gql<{ createPipeline: { id: string } }>(
        `mutation($input: CreatePipelineInput!) { createPipeline(input: $input) { id } }`,
        {
          input: {
            name,
            connectionId: createConnection.id,
            destinationId: createDestination.id,
            mode,
            source: { kind: 'ODP_ODATA', entitySet: SALES_ITEMS, pageSize, partitions },
          },
        },
      )
      ids.push(createPipeline.id)
    }
    return ids
  }

  async runPipeline(pipelineId: string): Promise<string> {
    const { runPipeline } = await this.gql<{ runPipeline: { id: string } }>(`mutation($id: ID!) { runPipeline(id: $id) { id } }`, {
      id: pipelineId,
    })
    return runPipeline.id
  }

  /** The run once it has ended (SUCCEEDED, FAILED or CANCELLED). */
  endedRun(runId: string, timeoutMs = 60_000) {
    return until(
      async () => {
        const run = await this.prisma.run.findUniqueOrThrow({ where: { id: runId } })
        return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status) ? run : undefined
      },
      `run ${runId} to end`,
      timeoutMs,
    )
  }

  workerOf(workerId: string | null): DeployedWorker {
    const w = this.workers.find((x) => x.workerId === workerId)
    if (!w) throw new Error(`no worker process has id ${workerId}`)
    return w
  }

  async stop(): Promise<void> {
    await ServiceProcess.killAll()
    await this.prisma.$disconnect()
    await this.sim.close()
    await this.db.drop()
    await deleteRedisKeys(this.redisPrefix)
  }
}
