import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Db, RunStage } from '../db/client.js'
import type { EndedRun, RunObserver } from '../orchestrator/run-observer.js'
import type { SapRequestObserver } from '../sap/request-observer.js'

const PREFIX = 'delta_extractor_'
/** Runs last seconds to hours. */
const RUN_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600]
/** One SAP request or one stored object: milliseconds to minutes. */
const REQUEST_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]

/**
 * This process's Prometheus metrics (README "Metrics"; docs/architecture.md#metrics), in a registry
 * of its own (tests run several services in one process). Labels are bounded: statuses, codes,
 * modes and stages are enums; connections and destinations are named as saved in the catalogue,
 * never by URL or request input. The layers report through small observers (RunObserver,
 * SapRequestObserver, the storage retry callback) and never import prom-client.
 */
export class ServiceMetrics implements RunObserver {
  readonly registry = new Registry()
  readonly #runs = new Counter({
    name: `${PREFIX}runs_total`,
    help: 'Runs ended, by status, error code (empty when SUCCEEDED) and extraction mode; counted once, by the process that ended the run',
    labelNames: ['status', 'error_code', 'mode'],
    registers: [this.registry],
  })
  readonly #rows = new Counter({
    name: `${PREFIX}rows_written_total`,
    help: 'Rows in the files of committed runs',
    registers: [this.registry],
  })
  readonly #bytes = new Counter({
    name: `${PREFIX}bytes_written_total`,
    help: 'Bytes of the files of committed runs',
    registers: [this.registry],
  })
  readonly #runDuration = new Histogram({
    name: `${PREFIX}run_duration_seconds`,
    help: 'From claim to end, by status and mode (runs cancelled while queued are not observed)',
    labelNames: ['status', 'mode'],
    buckets: RUN_BUCKETS,
    registers: [this.registry],
  })
  readonly #stageDuration = new Histogram({
    name: `${PREFIX}stage_duration_seconds`,
    help: 'Time a run spent in each stage (the oldest stage still working), in the process executing it',
    labelNames: ['stage'],
    buckets: RUN_BUCKETS,
    registers: [this.registry],
  })
  readonly #sapDuration = new Histogram({
    name: `${PREFIX}sap_request_duration_seconds`,
    help: 'SAP requests (OData HTTP until the answer starts, RFC function-module calls), by connection name',
    labelNames: ['connection'],
    buckets: REQUEST_BUCKETS,
    registers: [this.registry],
  })
  readonly #sapErrors = new Counter({
    name: `${PREFIX}sap_request_errors_total`,
    help: 'SAP requests that failed (network, timeout, HTTP >= 400, RFC error), by connection name',
    labelNames: ['connection'],
    registers: [this.registry],
  })
  readonly #uploadDuration = new Histogram({
    name: `${PREFIX}upload_duration_seconds`,
    help: 'Storing one object (Parquet file, manifest, marker) of a run, retries included, by destination name',
    labelNames: ['destination'],
    buckets: REQUEST_BUCKETS,
    registers: [this.registry],
  })
  readonly #uploadRetries = new Counter({
    name: `${PREFIX}upload_retries_total`,
    help: 'Object-store operations repeated after a retryable failure, by destination name',
    labelNames: ['destination'],
    registers: [this.registry],
  })
  readonly #subscriptions = new Gauge({
    name: `${PREFIX}graphql_subscriptions_open`,
    help: 'GraphQL subscriptions open on this process (websockets and SSE)',
    registers: [this.registry],
  })

  constructor(db: Db) {
    new Gauge({
      name: `${PREFIX}runs_queued`,
      help: 'Runs QUEUED on the database, all processes together (read at each scrape)',
      registers: [this.registry],
      async collect() {
        this.set(await db.run.count({ where: { status: 'QUEUED' } }))
      },
    })
    collectDefaultMetrics({ register: this.registry })
  }

  runEnded(run: EndedRun): void {
    this.#runs.inc({ status: run.status, error_code: run.errorCode ?? '', mode: run.mode })
    if (run.rowsWritten > 0n) this.#rows.inc(Number(run.rowsWritten))
    if (run.bytesWritten > 0n) this.#bytes.inc(Number(run.bytesWritten))
    if (run.startedAt) this.#runDuration.observe({ status: run.status, mode: run.mode }, (Date.now() - run.startedAt.getTime()) / 1000)
  }

  stageEnded(stage: RunStage, seconds: number): void {
    this.#stageDuration.observe({ stage }, seconds)
  }

  objectStored(destinationName: string, seconds: number): void {
    this.#uploadDuration.observe({ destination: destinationName }, seconds)
  }

  /** The observer of one connection's SAP requests. */
  readonly sapRequests = (connection: string): SapRequestObserver => {
    return (seconds, failed) => {
      this.#sapDuration.observe({ connection }, seconds)
      if (failed) this.#sapErrors.inc({ connection })
    }
  }

  /** Counts one destination's repeated operations. */
  readonly storageRetries =
    (destination: string): (() => void) =>
    () =>
      this.#uploadRetries.inc({ destination })

  /** One subscription opened here; call the result when it ends. */
  subscriptionOpened(): () => void {
    this.#subscriptions.inc()
    let open = true
    return () => {
      if (open) this.#subscriptions.dec()
      open = false
    }
  }
}
