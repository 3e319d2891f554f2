import { z } from 'zod'

/**
 * The whole environment, parsed once in main.ts. Nothing else reads process.env: code under test
 * receives a Config (or the parts it needs) as arguments.
 */
const commaList = z
  .string()
  .default('')
  .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^(postgres(ql)?:\/\/|file:)/, 'DATABASE_URL must start with postgresql:// or file:')
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  REDIS_URL: z.string().url().optional(),
  SECRET_KEY: z.string().min(16, 'SECRET_KEY must be at least 16 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Runs one process works on at the same time. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  /** RFC connections open at once per SAP connection, shared by all its runs (the limit a basis team sets). */
  RFC_POOL_SIZE: z.coerce.number().int().min(1).max(64).default(4),
  /** Set to false on API-only instances that must not fire cron schedules. */
  SCHEDULER: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /** Browser origins allowed to call the API (CORS); none by default. */
  CORS_ORIGINS: commaList,
  /** Host header values accepted (DNS rebinding); default: the bound host, plus localhost names on loopback. */
  ALLOWED_HOSTS: commaList,
  /** Largest HTTP body or websocket message accepted. */
  MAX_REQUEST_BYTES: z.coerce.number().int().min(1024).max(100 * 1024 * 1024).default(1024 * 1024),
  QUERY_MAX_DEPTH: z.coerce.number().int().min(1).max(100).default(8),
  QUERY_MAX_ALIASES: z.coerce.number().int().min(0).max(1000).default(15),
  QUERY_MAX_FIELDS: z.coerce.number().int().min(1).max(100_000).default(300),
  QUERY_MAX_COST: z.coerce.number().int().min(1).max(10_000_000).default(20_000),
  QUERY_MAX_TOKENS: z.coerce.number().int().min(10).max(1_000_000).default(2_000),
  /** Mutations one token may send per minute (0 = no limit). */
  MUTATIONS_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(120),
})

export type Config = z.output<typeof envSchema>

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

export function parseConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(env)
  if (!parsed.success)
    throw new ConfigError(
      'invalid environment: ' + parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    )
  return parsed.data
}
