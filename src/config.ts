import { delimiter, isAbsolute, resolve } from 'node:path'
import { z } from 'zod'
import { parseAllowEntry } from './net/outbound-policy.js'

/**
 * The whole environment, parsed once in main.ts. Nothing else reads process.env: code under test
 * receives a Config (or the parts it needs) as arguments.
 */
const flag = (byDefault: 'true' | 'false') =>
  z
    .enum(['true', 'false'])
    .default(byDefault)
    .transform((v) => v === 'true')

/** A list in one variable: comma- or whitespace-separated, empty entries ignored. */
const list = (separator: RegExp) =>
  z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(separator)
        .map((s) => s.trim())
        .filter(Boolean),
    )
const commaList = list(/,/)

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^(postgres(ql)?:\/\/|file:)/, 'DATABASE_URL must start with postgresql:// or file:')
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  /** Queue mode: `serve` queues runs here and `worker` processes run them (redis://[:password@]host:port[/db]). */
  REDIS_URL: z.string().url().optional(),
  /** Prefix of every Redis key and channel: deployments sharing one Redis keep apart by it. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'REDIS_PREFIX must be 1-100 letters, digits, _ . : or -')
    .default('dex'),
  /** A bearer token that reads /metrics (and nothing else); API tokens of any role read it too. */
  METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional(),
  /** `worker` only: serve /metrics, /healthz and /readyz on this port (of HOST); unset = no listener. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** On SIGTERM/SIGINT, how long runs in flight may take to finish before they are released for recovery. */
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(0).max(86_400).default(30),
  SECRET_KEY: z.string().min(16, 'SECRET_KEY must be at least 16 characters').optional(),
  /** The key `delta-extractor rotate-key` re-encrypts every stored secret under. */
  NEW_SECRET_KEY: z.string().min(16, 'NEW_SECRET_KEY must be at least 16 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Runs one process works on at the same time. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  /** Queue mode: partitions (of any worker's FULL runs and split DELTA_INITs) one process reads at the same time. */
  PARTITION_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /** Queue mode: how often a partition worker renews its partition's heartbeat. */
  PARTITION_HEARTBEAT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  /** Queue mode: a partition whose heartbeat is this old is taken back by the run's owner and read again (at least 3 heartbeats). */
  PARTITION_STALE_MS: z.coerce.number().int().min(300).max(3_600_000).default(30_000),
  /** Runs RUNNING at once on the database, all processes together (0 = no limit); every process must be given the same value. */
  MAX_CONCURRENT_RUNS: z.coerce.number().int().min(0).max(10_000).default(0),
  /** RFC connections open at once per SAP connection, shared by all its runs (the limit a basis team sets). */
  RFC_POOL_SIZE: z.coerce.number().int().min(1).max(64).default(4),
  /** Runs that ended more than this many days ago are pruned daily with their events (0 = keep forever); lake files are never touched. */
  RUN_RETENTION_DAYS: z.coerce.number().int().min(0).max(100_000).default(90),
  /**
   * Lake table snapshots older than this many days are expired after each run of an ICEBERG pipeline, and the
   * files only they referenced removed (0 = never expire); the newest 5 are kept whatever their age.
   */
  LAKE_SNAPSHOT_RETENTION_DAYS: z.coerce.number().int().min(0).max(100_000).default(7),
  /** Set to false on API-only instances that must not fire cron schedules. */
  SCHEDULER: flag('true'),
  /** Browser origins allowed to call the API (CORS); none by default. */
  CORS_ORIGINS: commaList,
  /** Host header values accepted (DNS rebinding); default: the bound host, plus localhost names on loopback. */
  ALLOWED_HOSTS: commaList,
  /** Largest HTTP body or websocket message accepted. */
  MAX_REQUEST_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(100 * 1024 * 1024)
    .default(1024 * 1024),
  QUERY_MAX_DEPTH: z.coerce.number().int().min(1).max(100).default(8),
  QUERY_MAX_ALIASES: z.coerce.number().int().min(0).max(1000).default(15),
  QUERY_MAX_FIELDS: z.coerce.number().int().min(1).max(100_000).default(300),
  QUERY_MAX_COST: z.coerce.number().int().min(1).max(10_000_000).default(20_000),
  QUERY_MAX_TOKENS: z.coerce.number().int().min(10).max(1_000_000).default(2_000),
  /** Mutations one token may send per minute (0 = no limit). */
  MUTATIONS_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(120),
  /** Operations open at once on one websocket (0 = no limit). */
  SUBSCRIPTIONS_PER_SOCKET: z.coerce.number().int().min(0).max(1_000_000).default(100),
  /** Subscriptions one token may hold open, websockets and SSE together (0 = no limit). */
  SUBSCRIPTIONS_PER_TOKEN: z.coerce.number().int().min(0).max(1_000_000).default(500),
  /** Websockets one token may hold open (0 = no limit). */
  SOCKETS_PER_TOKEN: z.coerce.number().int().min(0).max(1_000_000).default(50),
  /** Outbound connections to this machine: 127.0.0.0/8, ::1 and its interfaces' addresses (a simulator or emulator here). */
  ALLOW_LOOPBACK: flag('false'),
  /** When set, every outbound connection must match one entry: host, host:port, *.domain, address, CIDR. */
  OUTBOUND_ALLOW: list(/[\s,]+/).superRefine((entries, ctx) => {
    for (const e of entries) {
      try {
        parseAllowEntry(e)
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message })
      }
    }
  }),
  /** Folders LOCAL destinations must live under, separated like PATH; default DATA_DIR/lake. */
  LOCAL_ROOTS: list(new RegExp(`[${delimiter === ';' ? ';' : ':'}]`)).refine(
    (roots) => roots.every(isAbsolute),
    'every root must be an absolute path',
  ),
  /** S3-compatible endpoints (besides AWS) that may sign with the service's default AWS credentials. */
  S3_DEFAULT_CREDENTIALS_ENDPOINTS: list(/[\s,]+/).superRefine((urls, ctx) => {
    for (const u of urls)
      if (!/^https?:\/\/[^/?#\s]+\/?$/.test(u))
        ctx.addIssue({ code: 'custom', message: `"${u}" must be an http(s) origin such as https://minio.corp.example:9000` })
  }),
})

export type Config = Omit<z.output<typeof envSchema>, 'LOCAL_ROOTS'> & {
  /** Absolute; DATA_DIR/lake when LOCAL_ROOTS is not set. */
  LOCAL_ROOTS: string[]
}

/** Every setting with its default as text ('' when it has none): the usage lists them from here. */
export function settingsWithDefaults(): [name: string, byDefault: string][] {
  const defaults: Record<string, unknown> = envSchema.parse({})
  return Object.keys(envSchema.shape).map((name) => {
    const v = defaults[name]
    return [name, v === undefined || (Array.isArray(v) && !v.length) ? '' : String(v)]
  })
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

export function parseConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(env)
  if (!parsed.success)
    throw new ConfigError('invalid environment: ' + parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '))
  const c = parsed.data
  return { ...c, LOCAL_ROOTS: c.LOCAL_ROOTS.length ? c.LOCAL_ROOTS : [resolve(c.DATA_DIR, 'lake')] }
}
