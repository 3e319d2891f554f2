import pino, { type Logger } from 'pino'

export type { Logger }

/**
 * Paths that may hold secrets anywhere in a log object. pino censors them before a line is written,
 * so a careless `log.info({ input })` cannot leak a password or a connection string.
 */
const REDACT = [
  'password',
  'passwd',
  'secret',
  'secretAccessKey',
  'sasToken',
  'connectionString',
  'accountKey',
  'authorization',
  '*.password',
  '*.passwd',
  '*.secret',
  '*.secretAccessKey',
  '*.sasToken',
  '*.connectionString',
  '*.accountKey',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'input.*.password',
  'input.*.passwd',
  'input.*.sasToken',
  'input.*.connectionString',
  'input.*.accountKey',
  'input.*.secretAccessKey',
]

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'delta-extractor' } }, destination)
}

/** A logger that drops everything, for tests and embedded use. */
export const silentLogger: Logger = pino({ level: 'silent' })
